import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { UsersQuery } from "./operations";

export function UserSelect({
  role,
  value,
  onChange,
  exclude = [],
  label = "Select User",
  required = true,
}: {
  /** USER: users; MANAGER: managers and admins; ANY: every active member (a bulk move may go to anyone). */
  role: "USER" | "MANAGER" | "ANY";
  value: string;
  onChange: (id: string) => void;
  exclude?: string[];
  label?: string;
  required?: boolean;
}) {
  const [{ data }] = useQuery({ query: UsersQuery, variables: { role: role === "USER" ? "USER" : null } });
  const [find, setFind] = useState("");
  const users = (data?.users ?? []).filter(
    (u) => (role === "ANY" || (role === "USER" ? u.role === "USER" : u.role !== "USER")) && !exclude.includes(u.id),
  );
  // Searchable: the list keeps the people whose name holds what was typed (and whoever is chosen).
  const needle = find.trim().toLowerCase();
  const shown = needle ? users.filter((u) => u.id === value || u.name.toLowerCase().includes(needle)) : users;
  const load = (n: number) => (n === 1 ? "1 open chat" : `${n} open chats`);
  // One person left by what was typed: chosen at once, so typing a name is enough (also once the list arrives).
  const only = needle && shown.filter((u) => u.name.toLowerCase().includes(needle)).length === 1 ? shown.find((u) => u.name.toLowerCase().includes(needle))?.id : undefined;
  useEffect(() => {
    if (only && only !== value) onChange(only);
  }, [only]);
  return (
    <div className="picker">
      <label>
        {label}
        <select value={value} onChange={(e) => onChange(e.target.value)} required={required}>
          <option value="">Choose…</option>
          {shown.map((u) => (
            <option key={u.id} value={u.id}>
              {u.name} — {u.online ? "online" : "offline"}, {u.availability.toLowerCase()}, {load(u.openChatCount)}
            </option>
          ))}
        </select>
      </label>
      <input
        type="search"
        aria-label={label === "Then try" ? "Find the next by name" : "Find a person by name"}
        placeholder="Find by name"
        value={find}
        onChange={(e) => setFind(e.target.value)}
      />
    </div>
  );
}
