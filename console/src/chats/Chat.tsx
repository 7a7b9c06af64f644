import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { ChatQuery, CloseChatMutation } from "./operations";
import { Discussions } from "../discussions/Discussions";
import { AssignDialog } from "../requests/AssignDialog";
import { WithdrawMutation } from "../requests/operations";
import { useSession } from "../session/session";
import { useLiveQuery } from "../session/useLiveQuery";
import { SettingsQuery } from "../settings/operations";
import { RecordsTable } from "../tracking/RecordsTable";
import { Countdown } from "../ui/Countdown";
import { Dialog } from "../ui/Dialog";
import { ErrorLine } from "../ui/ErrorLine";
import { ReasonDialog } from "../ui/ReasonDialog";
import { replyWindowText, when } from "../ui/format";
import { describeOutcome } from "../ui/labels";

export function Chat({ id }: { id: string }) {
  const { me } = useSession();
  const [{ data, error }, reexecute] = useLiveQuery(ChatQuery, { id });
  const [dialog, setDialog] = useState<"any" | "Discuss" | null>(null);
  const [withdrawing, setWithdrawing] = useState(false);
  const [closing, setClosing] = useState(false);
  const [closed, close] = useMutation(CloseChatMutation);
  const [, withdraw] = useMutation(WithdrawMutation);
  const settings = useQuery({ query: SettingsQuery })[0].data?.assignDiscussSettings;
  const chat = data?.chatSession;
  if (error) return <ErrorLine error={error} />;
  if (!data) return <p className="loading">Loading…</p>;
  if (!chat) return <p role="alert">That chat no longer exists, or you cannot see it.</p>;
  const pending = chat.pendingRequest;
  const history = data.engagementTrackingRecords.edges.map((e) => e.node);
  const lastOutcome = history[0];
  return (
    <section aria-labelledby="chat-title">
      <p>
        <a href="#/">← Chat Sessions</a>
      </p>
      <h1 id="chat-title">{chat.customerName}</h1>
      <dl className="details">
        <dt>Phone</dt>
        <dd>{chat.customerPhone}</dd>
        <dt>Owner</dt>
        <dd data-testid="chat-owner">{chat.owner.name}</dd>
        <dt>Status</dt>
        <dd>{chat.status === "OPEN" ? "Open" : "Closed"}</dd>
        <dt>Last customer message</dt>
        <dd>{when(chat.lastCustomerMessageAt)}</dd>
        <dt>Reply window</dt>
        <dd data-testid="reply-window">{replyWindowText(chat.replyWindowEndsAt, chat.replyWindowOpen)}</dd>
      </dl>
      <div className="actions start">
        {chat.status === "OPEN" && !pending && (
          <button className="primary" onClick={() => setDialog("any")}>
            Assign/Discuss
          </button>
        )}
        {/* A Discuss may go out beside a pending Assign (one pending request of each kind). */}
        {chat.status === "OPEN" && pending?.kind === "ASSIGN" && <button onClick={() => setDialog("Discuss")}>Discuss</button>}
        {chat.status === "OPEN" && (chat.owner.id === me.id || me.role !== "USER") && <button onClick={() => setClosing(true)}>Close chat</button>}
      </div>
      {pending && (
        <div className="pending" role="group" aria-label="Pending request">
          <p>
            {pending.kind === "DISCUSS" ? "Discuss request" : "Assignment request"} to <strong>{pending.recipient.name}</strong>, sent by {pending.sender.name}:{" "}
            <Countdown expiresAt={pending.expiresAt} onZero={() => setTimeout(() => reexecute({ requestPolicy: "network-only" }), 1_200)} />
          </p>
          {(pending.sender.id === me.id || me.role !== "USER") && <button onClick={() => setWithdrawing(true)}>Withdraw</button>}
        </div>
      )}
      {!pending && lastOutcome && lastOutcome.status !== "PENDING" && (
        <p className="outcome" role="status">
          Last request: {describeOutcome(lastOutcome.status)}
          {lastOutcome.reason ? ` (${lastOutcome.reason})` : ""}.
        </p>
      )}
      <Discussions chatSessionId={chat.id} />
      <h2>Handover history</h2>
      <RecordsTable records={history} />
      {dialog && (
        <AssignDialog
          chatId={chat.id}
          exclude={[chat.owner.id, me.id]}
          only={dialog === "Discuss" ? "Discuss" : undefined}
          onClose={() => setDialog(null)}
          onSent={() => setDialog(null)}
        />
      )}
      {closing && (
        <Dialog label="Close the chat" onClose={() => setClosing(false)}>
          <h2>Close the chat</h2>
          <p>
            Close the chat with {chat.customerName}? {pending ? "Its pending request is cancelled." : ""}
          </p>
          <ErrorLine error={closed.error} />
          <div className="actions">
            <button onClick={() => setClosing(false)}>Cancel</button>
            <button
              className="primary"
              disabled={closed.fetching}
              onClick={() =>
                void close({ id: chat.id }).then((res) => {
                  if (res.error) return;
                  setClosing(false);
                })
              }
            >
              Close chat
            </button>
          </div>
        </Dialog>
      )}
      {withdrawing && pending && (
        <ReasonDialog
          title="Withdraw the request"
          action="Withdraw"
          presets={settings?.withdrawReasonPresets ?? []}
          onCancel={() => setWithdrawing(false)}
          onConfirm={async (reason) => {
            const res = await withdraw({ requestId: pending.id, reason });
            if (!res.error) setWithdrawing(false);
            return res.error;
          }}
        />
      )}
    </section>
  );
}
