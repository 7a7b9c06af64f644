import { useEffect, useState } from "react";
import { BulkAssignDialog } from "./BulkAssignDialog";
import { ChatSessionsQuery } from "./operations";
import { useSession } from "../session/session";
import { useLiveQuery } from "../session/useLiveQuery";
import { ErrorLine } from "../ui/ErrorLine";
import { MenuButton } from "../ui/MenuButton";
import { when } from "../ui/format";
import { usePager } from "../ui/usePager";

export function ChatSessions() {
  const { me } = useSession();
  const manager = me.role !== "USER";
  const [show, setShow] = useState<"mine" | "all">(manager ? "all" : "mine");
  const [status, setStatus] = useState<"OPEN" | "CLOSED">("OPEN");
  const pager = usePager();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulk, setBulk] = useState(false);
  const [summary, setSummary] = useState<string | null>(null);
  const [typed, setTyped] = useState("");
  const [search, setSearch] = useState("");
  const [order, setOrder] = useState<"NEWEST" | "LATEST_CUSTOMER_MESSAGE">("NEWEST");
  // The list is asked again once typing pauses, not at every key.
  useEffect(() => {
    const timer = setTimeout(() => setSearch(typed.trim()), 300);
    return () => clearTimeout(timer);
  }, [typed]);
  useEffect(() => pager.reset(), [search, order, pager.reset]);
  const filter = { status, ownerId: show === "mine" ? me.id : null, search: search || null };
  const [{ data, error, fetching }] = useLiveQuery(ChatSessionsQuery, { filter, orderBy: order, first: 25, after: pager.after });
  // A chat that left this list (another owner, closed) goes at once; one that joined it is asked for by the cache.
  const chats = data?.chatSessions.edges.map((e) => e.node).filter((c) => c.status === status && (!filter.ownerId || c.owner.id === filter.ownerId)) ?? [];
  const allSelected = chats.length > 0 && chats.every((c) => selected.has(c.id));
  const selectAll = () =>
    setSelected((s) => {
      const next = new Set(s);
      for (const c of chats) {
        if (allSelected) next.delete(c.id);
        else next.add(c.id);
      }
      return next;
    });
  const names = new Map(chats.map((c) => [c.id, c.customerName]));
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <section aria-labelledby="chats-title">
      <h1 id="chats-title">Chat Sessions</h1>
      <div className="toolbar">
        <label>
          Show
          <select value={show} onChange={(e) => (setShow(e.target.value as "mine" | "all"), pager.reset())}>
            <option value="mine">Mine</option>
            {manager && <option value="all">All</option>}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus(e.target.value as "OPEN" | "CLOSED"), pager.reset())}>
            <option value="OPEN">Open</option>
            <option value="CLOSED">Closed</option>
          </select>
        </label>
        <label>
          Search
          <input type="search" value={typed} placeholder="Customer or phone" maxLength={100} onChange={(e) => setTyped(e.target.value)} />
        </label>
        <label>
          Sort
          <select value={order} onChange={(e) => setOrder(e.target.value as "NEWEST" | "LATEST_CUSTOMER_MESSAGE")}>
            <option value="NEWEST">Newest chats</option>
            <option value="LATEST_CUSTOMER_MESSAGE">Latest customer message</option>
          </select>
        </label>
        <MenuButton
          label="More actions"
          items={[
            {
              label: "Assign Chat Sessions",
              disabled: selected.size === 0,
              onSelect: () => {
                setSummary(null);
                setBulk(true);
              },
            },
          ]}
        />
        <span className="hint">{selected.size} selected</span>
      </div>
      {summary && (
        <p role="status" className="summary">
          {summary}
        </p>
      )}
      <ErrorLine error={error} />
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Chat sessions table">
      <table>
        <thead>
          <tr>
            <th scope="col">
              <input type="checkbox" aria-label="Select all on this page" checked={allSelected} disabled={chats.length === 0} onChange={selectAll} />
            </th>
            <th scope="col">Customer</th>
            <th scope="col">Phone</th>
            <th scope="col">Owner</th>
            <th scope="col">Pending request</th>
            <th scope="col">Last customer message</th>
          </tr>
        </thead>
        <tbody>
          {chats.map((c) => (
            <tr key={c.id}>
              <td>
                <input type="checkbox" aria-label={c.customerName} checked={selected.has(c.id)} onChange={() => toggle(c.id)} />
              </td>
              <td>
                <a href={`#/chats/${c.id}`}>{c.customerName}</a>
              </td>
              <td>{c.customerPhone}</td>
              <td data-testid="owner">{c.owner.name}</td>
              <td>{c.pendingRequest ? `to ${c.pendingRequest.recipient.name}` : "—"}</td>
              <td>{when(c.lastCustomerMessageAt)}</td>
            </tr>
          ))}
          {chats.length === 0 && !fetching && (
            <tr>
              <td colSpan={6}>No chats here.</td>
            </tr>
          )}
        </tbody>
      </table>
      </div>
      {pager.controls(data?.chatSessions.pageInfo)}
      {bulk && (
        <BulkAssignDialog
          chatIds={[...selected]}
          onClose={() => setBulk(false)}
          onDone={(result) => {
            setBulk(false);
            setSelected(new Set());
            const why: Record<string, string> = {
              ALREADY_OWNER: "already theirs",
              CHAT_CLOSED: "closed",
              FORBIDDEN: "not yours to move",
              NOT_FOUND: "no longer exists",
            };
            const skipped = result.results.filter((r) => r.outcome !== "ASSIGNED").map((r) => `${names.get(r.chatSessionId) ?? r.chatSessionId} (${why[r.outcome] ?? r.outcome})`);
            setSummary(`${result.assignedCount} ${result.assignedCount === 1 ? "chat" : "chats"} moved.${skipped.length ? ` Not moved: ${skipped.join(", ")}.` : ""}`);
          }}
        />
      )}
    </section>
  );
}
