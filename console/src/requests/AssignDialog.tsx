import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { Suggested } from "./Suggested";
import { UserSelect } from "./UserSelect";
import { AssignMutation, DiscussMutation, UsersQuery } from "./operations";
import { SettingsQuery } from "../settings/operations";
import { Dialog } from "../ui/Dialog";
import { ErrorLine } from "../ui/ErrorLine";

export function AssignDialog({
  chatId,
  exclude,
  only,
  onClose,
  onSent,
}: {
  chatId: string;
  exclude: string[];
  /** Discuss only: an Assign is pending already. */
  only?: "Discuss";
  onClose: () => void;
  onSent: () => void;
}) {
  const [option, setOption] = useState<"Assign" | "Discuss">(only ?? "Assign");
  const settings = useQuery({ query: SettingsQuery })[0].data?.assignDiscussSettings;
  const [type, setType] = useState<"USER" | "MANAGER">("USER");
  const [recipient, setRecipient] = useState("");
  const [note, setNote] = useState("");
  const [fallbacks, setFallbacks] = useState<string[]>([]);
  const [candidate, setCandidate] = useState("");
  const [{ data: people }] = useQuery({ query: UsersQuery, variables: { role: null } });
  const nameOf = (id: string) => people?.users.find((u) => u.id === id)?.name ?? id;
  const [assigned, assign] = useMutation(AssignMutation);
  const [discussed, discuss] = useMutation(DiscussMutation);
  const error = option === "Assign" ? assigned.error : discussed.error;
  return (
    <Dialog label="Assign/Discuss" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const input = { chatSessionId: chatId, recipientType: type, recipientId: recipient, note: note.trim() || null };
          const sent = option === "Assign" ? assign({ input: { ...input, fallbackRecipientIds: fallbacks } }) : discuss({ input });
          void sent.then((res) => {
            if (!res.error) onSent();
          });
        }}
      >
        <h2>Assign/Discuss</h2>
        <fieldset>
          <legend>Option</legend>
          {(only ? ([only] as const) : (["Assign", "Discuss"] as const)).map((o) => (
            <label key={o} className="radio">
              <input type="radio" name="option" checked={option === o} onChange={() => setOption(o)} />
              {o}
            </label>
          ))}
        </fieldset>
        <label>
          Assign To
          <select value={type} onChange={(e) => (setType(e.target.value as "USER" | "MANAGER"), setRecipient(""))}>
            <option value="USER">User</option>
            <option value="MANAGER">Manager</option>
          </select>
        </label>
        <Suggested chatId={chatId} kind={option === "Assign" ? "ASSIGN" : "DISCUSS"} type={type} onChoose={setRecipient} />
        <UserSelect role={type} value={recipient} onChange={setRecipient} exclude={exclude} />
        {people?.users.find((u) => u.id === recipient)?.availability === "AWAY" && (
          <p className="warning" role="status">
            {nameOf(recipient)} is away: the request may wait until it times out
            {settings?.requireAvailableRecipient ? ", and your organization refuses requests to people who are away" : ""}.
          </p>
        )}
        {option === "Assign" && (
          <fieldset>
            <legend>If nobody answers, then try (in order, up to 5)</legend>
            <ol className="fallbacks" aria-label="Fallback chain">
              {fallbacks.map((id) => (
                <li key={id}>
                  {nameOf(id)}{" "}
                  <button type="button" onClick={() => setFallbacks((f) => f.filter((x) => x !== id))}>
                    Remove {nameOf(id)}
                  </button>
                </li>
              ))}
            </ol>
            {fallbacks.length < 5 && (
              <div className="inline-row">
                <UserSelect role={type} label="Then try" value={candidate} onChange={setCandidate} exclude={[...exclude, recipient, ...fallbacks]} required={false} />
                <button
                  type="button"
                  disabled={!candidate}
                  onClick={() => {
                    setFallbacks((f) => [...f, candidate]);
                    setCandidate("");
                  }}
                >
                  Add
                </button>
              </div>
            )}
          </fieldset>
        )}
        <label>
          Note
          <textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={1000} rows={3} />
        </label>
        <ErrorLine error={error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={!recipient || assigned.fetching || discussed.fetching}>
            {option}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
