import { useMemo, useState } from "react";
import { useMutation } from "urql";
import { BulkAssignMutation } from "./operations";
import { UserSelect } from "../requests/UserSelect";
import { Dialog } from "../ui/Dialog";
import { ErrorLine } from "../ui/ErrorLine";

export function BulkAssignDialog({
  chatIds,
  onClose,
  onDone,
}: {
  chatIds: string[];
  onClose: () => void;
  onDone: (r: { assignedCount: number; results: Array<{ chatSessionId: string; outcome: string }> }) => void;
}) {
  const [to, setTo] = useState("");
  const [state, run] = useMutation(BulkAssignMutation);
  // One key per dialog: a retried click replays the first result instead of moving twice.
  const key = useMemo(() => `console-${crypto.randomUUID()}`, []);
  return (
    <Dialog label="Assign Chat Sessions" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run({ input: { chatSessionIds: chatIds, toUserId: to, idempotencyKey: key } }).then((res) => {
            if (res.data) onDone(res.data.bulkAssignChats);
          });
        }}
      >
        <h2>Assign Chat Sessions</h2>
        <p>
          {chatIds.length} {chatIds.length === 1 ? "chat" : "chats"} selected.
        </p>
        <UserSelect role="ANY" value={to} onChange={setTo} />
        <ErrorLine error={state.error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={!to || state.fetching}>
            Assign
          </button>
        </div>
      </form>
    </Dialog>
  );
}
