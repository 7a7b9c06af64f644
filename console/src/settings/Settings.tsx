import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { useSession } from "../session/session";
import { Webhooks } from "./Webhooks";
import { SettingsQuery, UpdateSettingsMutation } from "./operations";
import { ErrorLine } from "../ui/ErrorLine";

export function Settings() {
  const { me } = useSession();
  const [{ data, error }] = useQuery({ query: SettingsQuery });
  const [saved, save] = useMutation(UpdateSettingsMutation);
  const [timeout, setTimeoutValue] = useState<string | null>(null);
  const [reject, setReject] = useState<string | null>(null);
  const [withdraw, setWithdraw] = useState<string | null>(null);
  const [perDay, setPerDay] = useState<string | null>(null);
  const [pingPong, setPingPong] = useState<string | null>(null);
  const [openChats, setOpenChats] = useState<string | null>(null);
  const [enforce, setEnforce] = useState<boolean | null>(null);
  const [discussTimeout, setDiscussTimeout] = useState<string | null>(null);
  const [windowHours, setWindowHours] = useState<string | null>(null);
  const [zone, setZone] = useState<string | null>(null);
  /** The switches as changed on the page (absent: as saved). */
  const [flags, setFlags] = useState<Partial<Record<"fallbackOnReject" | "fallbackToManagers" | "requireAvailableRecipient" | "capDeadlineAtReplyWindow", boolean>>>({});
  const [done, setDone] = useState(false);
  const s = data?.assignDiscussSettings;
  if (error) return <ErrorLine error={error} />;
  if (!s) return <p className="loading">Loading…</p>;
  const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter(Boolean);
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Assign/Discuss Settings</h1>
      <form
        className="settings"
        onSubmit={(e) => {
          e.preventDefault();
          setDone(false);
          const seconds = Number(timeout ?? s.assignRequestTimeoutSeconds);
          // A whole number as typed; anything else is sent as -1, for the API to refuse with its field.
          const whole = (typed: string | null, current: number) => {
            const n = Number(typed ?? current);
            return typed?.trim() !== "" && Number.isInteger(n) ? n : -1;
          };
          void save({
            input: {
              assignRequestTimeoutSeconds: Number.isInteger(seconds) ? seconds : -1,
              discussRequestTimeoutSeconds: whole(discussTimeout, s.discussRequestTimeoutSeconds),
              replyWindowHours: whole(windowHours, s.replyWindowHours),
              timeZone: zone ?? s.timeZone,
              fallbackOnReject: flags.fallbackOnReject ?? s.fallbackOnReject,
              fallbackToManagers: flags.fallbackToManagers ?? s.fallbackToManagers,
              requireAvailableRecipient: flags.requireAvailableRecipient ?? s.requireAvailableRecipient,
              capDeadlineAtReplyWindow: flags.capDeadlineAtReplyWindow ?? s.capDeadlineAtReplyWindow,
              maxHandoversPerChatPerDay: whole(perDay, s.maxHandoversPerChatPerDay),
              pingPongMinutes: whole(pingPong, s.pingPongMinutes),
              defaultMaxOpenChats: whole(openChats, s.defaultMaxOpenChats),
              enforceCapacity: enforce ?? s.enforceCapacity,
              rejectReasonPresets: lines(reject ?? s.rejectReasonPresets.join("\n")),
              withdrawReasonPresets: lines(withdraw ?? s.withdrawReasonPresets.join("\n")),
            },
          }).then((res) => setDone(!res.error));
        }}
      >
        <label>
          Assign Request Timeout Duration
          <input type="number" inputMode="numeric" value={timeout ?? String(s.assignRequestTimeoutSeconds)} onChange={(e) => setTimeoutValue(e.target.value)} />
          <span className="hint">seconds, 5 to 86,400</span>
        </label>
        <label>
          Discuss Request Timeout Duration
          <input type="number" inputMode="numeric" value={discussTimeout ?? String(s.discussRequestTimeoutSeconds)} onChange={(e) => setDiscussTimeout(e.target.value)} />
          <span className="hint">seconds, 5 to 86,400</span>
        </label>
        <label className="check">
          <input type="checkbox" checked={flags.fallbackOnReject ?? s.fallbackOnReject} onChange={(e) => setFlags({ ...flags, fallbackOnReject: e.target.checked })} />
          A rejection moves a fallback chain on
        </label>
        <label className="check">
          <input type="checkbox" checked={flags.fallbackToManagers ?? s.fallbackToManagers} onChange={(e) => setFlags({ ...flags, fallbackToManagers: e.target.checked })} />
          When nobody in a chain takes it, a manager gets it
        </label>
        <label className="check">
          <input type="checkbox" checked={flags.requireAvailableRecipient ?? s.requireAvailableRecipient} onChange={(e) => setFlags({ ...flags, requireAvailableRecipient: e.target.checked })} />
          Send requests to available people only
        </label>
        <label>
          Reply window
          <input type="number" inputMode="numeric" value={windowHours ?? String(s.replyWindowHours)} onChange={(e) => setWindowHours(e.target.value)} />
          <span className="hint">hours after the customer's last message in which free text may be sent; 0: the channel has none</span>
        </label>
        <label className="check">
          <input type="checkbox" checked={flags.capDeadlineAtReplyWindow ?? s.capDeadlineAtReplyWindow} onChange={(e) => setFlags({ ...flags, capDeadlineAtReplyWindow: e.target.checked })} />
          A request's deadline ends when the reply window closes
        </label>
        <label>
          Time zone
          <input type="text" value={zone ?? s.timeZone} onChange={(e) => setZone(e.target.value)} />
          <span className="hint">for reports' local dates, e.g. Europe/Berlin</span>
        </label>
        <label>
          Handovers per chat per day
          <input type="number" inputMode="numeric" value={perDay ?? String(s.maxHandoversPerChatPerDay)} onChange={(e) => setPerDay(e.target.value)} />
          <span className="hint">a chat moved this often in 24 hours goes no further without a manager; 0: no limit</span>
        </label>
        <label>
          Hand-back window
          <input type="number" inputMode="numeric" value={pingPong ?? String(s.pingPongMinutes)} onChange={(e) => setPingPong(e.target.value)} />
          <span className="hint">minutes in which a chat may not go straight back to who handed it over; 0: off</span>
        </label>
        <label>
          Open chats per person
          <input type="number" inputMode="numeric" value={openChats ?? String(s.defaultMaxOpenChats)} onChange={(e) => setOpenChats(e.target.value)} />
          <span className="hint">unless set for the person; 0: no limit</span>
        </label>
        <label className="check">
          <input type="checkbox" checked={enforce ?? s.enforceCapacity} onChange={(e) => setEnforce(e.target.checked)} />
          Refuse handovers to people at their limit
        </label>
        <label>
          Reject reasons (one per line)
          <textarea rows={4} value={reject ?? s.rejectReasonPresets.join("\n")} onChange={(e) => setReject(e.target.value)} />
        </label>
        <label>
          Withdraw reasons (one per line)
          <textarea rows={4} value={withdraw ?? s.withdrawReasonPresets.join("\n")} onChange={(e) => setWithdraw(e.target.value)} />
        </label>
        <ErrorLine error={saved.error} />
        {done && <p role="status">Settings saved.</p>}
        <button type="submit" className="primary">
          Save
        </button>
      </form>
      {me.role === "ADMIN" && <Webhooks />}
    </section>
  );
}
