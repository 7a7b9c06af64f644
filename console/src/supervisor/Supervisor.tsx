import { AVAILABILITY, requestKindLabel } from "../ui/labels";
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { WithdrawMutation } from "../requests/operations";
import { useSession } from "../session/session";
import { useLiveQuery } from "../session/useLiveQuery";
import { SettingsQuery } from "../settings/operations";
import { Chart } from "./Chart";
import { SetUserAvailabilityMutation, SupervisorBoardQuery, SupervisorPendingQuery } from "./operations";
import { startOfDayIn } from "./time";
import { Countdown } from "../ui/Countdown";
import { ErrorLine } from "../ui/ErrorLine";
import { ReasonDialog } from "../ui/ReasonDialog";
import { seconds } from "../ui/format";

export function Supervisor() {
  const { me } = useSession();
  const [{ data: pendingData, error }] = useLiveQuery(SupervisorPendingQuery, {}, me.role === "USER");
  const settings = useQuery({ query: SettingsQuery })[0].data?.assignDiscussSettings;
  const timeZone = settings?.timeZone ?? "UTC";
  // The organization's today, [midnight, next midnight): the period stays the same all day.
  const from = startOfDayIn(timeZone).toISOString();
  const to = new Date(new Date(from).getTime() + 86_400_000).toISOString();
  const [{ data: board }] = useLiveQuery(SupervisorBoardQuery, { from, to }, me.role === "USER" || !settings);
  const [withdrawing, setWithdrawing] = useState<string | null>(null);
  const [, withdraw] = useMutation(WithdrawMutation);
  const [setState, setAvailability] = useMutation(SetUserAvailabilityMutation);
  if (me.role === "USER") return <p role="alert">The supervisor board is for managers and admins.</p>;
  // Answered, withdrawn or timed out: gone at once (the event updated the request in the cache).
  const pending = pendingData?.assignmentRequests.edges.map((e) => e.node).filter((r) => r.status === "PENDING") ?? [];
  const incomingOf = new Map<string, number>();
  for (const r of pending) incomingOf.set(r.recipient.id, (incomingOf.get(r.recipient.id) ?? 0) + 1);
  const agents = board?.users ?? [];
  const day = board?.handoverStats[0];
  const outcomes = day
    ? [
        { label: "Accepted", value: day.accepted },
        { label: "Rejected", value: day.rejected },
        { label: "Timed out", value: day.timedOut },
        { label: "Withdrawn", value: day.withdrawn },
      ]
    : [];
  const reasons = (board?.rejectReasons ?? []).map((r) => ({ label: r.reason || "(no reason)", value: r.count }));
  return (
    <section aria-labelledby="supervisor-title">
      <h1 id="supervisor-title">Supervisor</h1>
      <ErrorLine error={error ?? setState.error} />
      <h2 id="pending-title">Pending requests</h2>
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Pending requests table">
        <table aria-labelledby="pending-title">
          <thead>
            <tr>
              <th scope="col">Customer</th>
              <th scope="col">Kind</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Time left</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {pending.map((r) => (
              <tr key={r.id}>
                <td>
                  <a href={`#/chats/${r.chatSession.id}`}>{r.chatSession.customerName}</a>
                </td>
                <td>{requestKindLabel(r.kind)}{r.hop > 1 ? ` (try ${r.hop})` : ""}</td>
                <td>{r.sender.name}</td>
                <td>{r.recipient.name}</td>
                <td>
                  <Countdown expiresAt={r.expiresAt} />
                </td>
                <td>
                  <button onClick={() => setWithdrawing(r.id)} aria-label={`Withdraw the request for ${r.chatSession.customerName}`}>
                    Withdraw
                  </button>
                </td>
              </tr>
            ))}
            {pending.length === 0 && (
              <tr>
                <td colSpan={6}>Nothing pending.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <h2 id="agents-title">Agents</h2>
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Agents table">
        <table aria-labelledby="agents-title">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Presence</th>
              <th scope="col">Availability</th>
              <th scope="col">Open chats</th>
              <th scope="col">Pending for them</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((u) => (
              <tr key={u.id} data-testid={`agent-${u.name}`}>
                <th scope="row">{u.name}</th>
                <td>{u.online ? "Online" : "Offline"}</td>
                <td>
                  <select
                    aria-label={`Availability of ${u.name}`}
                    value={u.availability}
                    onChange={(e) => void setAvailability({ userId: u.id, availability: e.target.value as "AVAILABLE" })}
                  >
                    {AVAILABILITY.map((a) => (
                      <option key={a.value} value={a.value}>
                        {a.label}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  {u.openChatCount}
                  {u.maxOpenChats ? ` of ${u.maxOpenChats}` : ""}
                </td>
                <td>{incomingOf.get(u.id) ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Today</h2>
      <dl className="stats">
        <div>
          <dt>Handovers</dt>
          <dd data-testid="today-handovers">{day?.handovers ?? 0}</dd>
        </div>
        <div>
          <dt>Acceptance rate</dt>
          <dd>{day?.acceptanceRate === null || day?.acceptanceRate === undefined ? "—" : `${Math.round(day.acceptanceRate * 100)} %`}</dd>
        </div>
        <div>
          <dt>Median time to accept</dt>
          <dd>{seconds(day?.medianSecondsToAccept)}</dd>
        </div>
        <div>
          <dt>90th percentile</dt>
          <dd>{seconds(day?.p90SecondsToAccept)}</dd>
        </div>
        <div>
          <dt>Timed out</dt>
          <dd>{day?.timedOut ?? 0}</dd>
        </div>
      </dl>
      <Chart title="Outcomes today" bars={outcomes} />
      <Chart title="Reject reasons today" bars={reasons} color="#a4281b" />
      {withdrawing && (
        <ReasonDialog
          title="Withdraw the request"
          action="Withdraw"
          presets={settings?.withdrawReasonPresets ?? []}
          onCancel={() => setWithdrawing(null)}
          onConfirm={async (reason) => {
            const res = await withdraw({ requestId: withdrawing, reason });
            if (!res.error) setWithdrawing(null);
            return res.error;
          }}
        />
      )}
    </section>
  );
}
