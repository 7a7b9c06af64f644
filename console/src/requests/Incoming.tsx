import { useEffect, useState } from "react";
import { useMutation, useQuery } from "urql";
import { AcceptMutation, IncomingQuery, RejectMutation } from "./operations";
import { useLiveQuery } from "../session/useLiveQuery";
import { SettingsQuery } from "../settings/operations";
import { Countdown } from "../ui/Countdown";
import { ErrorLine } from "../ui/ErrorLine";
import { ReasonDialog } from "../ui/ReasonDialog";

export function Incoming() {
  const [{ data }] = useLiveQuery(IncomingQuery, {});
  const [answer, setAnswer] = useState<{ id: string } | null>(null);
  const [accepted, accept] = useMutation(AcceptMutation);
  const [rejected, reject] = useMutation(RejectMutation);
  const settings = useQuery({ query: SettingsQuery })[0].data?.assignDiscussSettings;
  // Answered, withdrawn or timed out: gone at once (the event or the answer updated the request).
  const pending = data?.assignmentRequests.edges.map((e) => e.node).filter((r) => r.status === "PENDING") ?? [];
  // The tab's title counts the requests waiting for me, so a background tab shows them.
  useEffect(() => {
    document.title = pending.length > 0 ? `(${pending.length}) Baton` : "Baton";
  }, [pending.length]);
  if (pending.length === 0 && !accepted.error && !rejected.error) return null;
  return (
    <section className="incoming" aria-label="Incoming requests">
      {pending.map((r) => (
        <div key={r.id} className="request-card" role="group" aria-label={`Request from ${r.sender.name}`}>
          <p>
            {r.kind === "DISCUSS" ? `${r.sender.name} has requested to discuss with you.` : `${r.sender.name} has sent you a chat assignment request.`}{" "}
            <a href={`#/chats/${r.chatSession.id}`}>{r.chatSession.customerName}</a> · <Countdown expiresAt={r.expiresAt} />
            {r.hop > 1 && <span className="hint"> · passed on (try {r.hop})</span>}
            {r.replyWindowEndsAt && <span className="hint"> · reply window until {new Date(r.replyWindowEndsAt).toLocaleTimeString()}</span>}
            {r.note && (
              <>
                <br />
                <q className="note">{r.note}</q>
              </>
            )}
          </p>
          <button
            className="primary"
            onClick={() =>
              void accept({ requestId: r.id }).then((res) => {
                // Accepted: the chat opens, to answer the customer.
                if (!res.error) window.location.hash = `#/chats/${r.chatSession.id}`;
              })
            }
          >
            Accept
          </button>
          <button onClick={() => setAnswer({ id: r.id })}>Reject</button>
        </div>
      ))}
      <ErrorLine error={accepted.error ?? rejected.error} />
      {answer && (
        <ReasonDialog
          title="Reject the request"
          action="Reject"
          presets={settings?.rejectReasonPresets ?? []}
          onCancel={() => setAnswer(null)}
          onConfirm={async (reason) => {
            const res = await reject({ requestId: answer.id, reason });
            if (!res.error) setAnswer(null);
            return res.error;
          }}
        />
      )}
    </section>
  );
}
