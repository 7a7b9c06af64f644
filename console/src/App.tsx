import { createContext, useCallback, useContext, useEffect, useId, useMemo, useRef, useState, type ReactNode } from "react";
import { Provider, useClient, useMutation, useQuery, useSubscription, type AnyVariables, type TypedDocumentNode } from "urql";
import { apiOrigin, createApi, type SocketState, tokenKey } from "./api";
import { completeSso, endSso, findSso, followSsoRenewals, startSso } from "./sso";
import { sentence } from "./errors";
import type { AssignmentEventType, ConsoleDiscussionsQuery, ConsoleRecordFragment } from "./gql/graphql";
import {
  AcceptMutation,
  AssignMutation,
  BulkAssignMutation,
  CloseChatMutation,
  SetUserAvailabilityMutation,
  SupervisorAgentsQuery,
  SupervisorPendingQuery,
  SupervisorTodayQuery,
  InboxQuery,
  ChatQuery,
  ChatSessionsQuery,
  SuggestionsQuery,
  DiscussMutation,
  DiscussionMessagesQuery,
  DiscussionMessagesSubscription,
  DiscussionsQuery,
  EndDiscussionMutation,
  PostMessageMutation,
  EventsSinceQuery,
  EventsSubscription,
  IncomingQuery,
  MarkReadMutation,
  MeQuery,
  NotificationSubscription,
  RejectMutation,
  SetAvailabilityMutation,
  SettingsQuery,
  TrackingQuery,
  UpdateSettingsMutation,
  UsersQuery,
  CreateWebhookEndpointMutation,
  DeleteWebhookEndpointMutation,
  RedeliverWebhooksMutation,
  UpdateWebhookEndpointMutation,
  WebhookDeliveriesQuery,
  WebhookEndpointsQuery,
  WithdrawMutation,
} from "./operations";

// ---- Session: the token is kept for this tab only, per API origin (tokenKey) ----


export function App() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(tokenKey()));
  const [ssoProblem, setSsoProblem] = useState<string | null>(null);
  const [completing, setCompleting] = useState(() => new URLSearchParams(window.location.search).has("state"));
  const signIn = (t: string) => {
    sessionStorage.setItem(tokenKey(), t);
    setToken(t);
  };
  const signOut = () => {
    sessionStorage.removeItem(tokenKey());
    setToken(null);
    void endSso();
  };
  // Back from the identity provider: its token signs in.
  useEffect(() => {
    if (!completing) return;
    completeSso()
      .then((t) => (t ? signIn(t) : undefined))
      .catch((err: unknown) => setSsoProblem(`Single sign-on did not complete: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => setCompleting(false));
  }, [completing]);
  // A provider's token renewed before it expires: the console goes on with the new one.
  useEffect(() => (token ? followSsoRenewals(signIn) : undefined), [token !== null]);
  if (completing) return <main className="signin" aria-busy="true"><p>Signing in…</p></main>;
  if (!token) return <SignIn onSignIn={signIn} problem={ssoProblem} />;
  return <Console key={token} token={token} onSignOut={signOut} />;
}

interface DemoUser {
  name: string;
  role: string;
  token: string;
}

function SignIn({ onSignIn, problem }: { onSignIn: (token: string) => void; problem: string | null }) {
  const [value, setValue] = useState("");
  const [demo, setDemo] = useState<DemoUser[]>([]);
  const [email, setEmail] = useState("");
  const [ssoError, setSsoError] = useState<string | null>(problem);
  const [busy, setBusy] = useState(false);
  // A sign-in link an admin hands out names the organization (?organization=<id>).
  const organization = new URLSearchParams(window.location.search).get("organization") ?? undefined;
  const sso = async () => {
    setBusy(true);
    setSsoError(null);
    try {
      const found = await findSso(organization ? { organization } : { email: email.trim() });
      if (typeof found === "string") setSsoError(found);
      else await startSso(found);
    } catch {
      setSsoError("Single sign-on is not available right now");
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    // Only a Baton started with its embedded demo answers this; elsewhere it is 404 and the list stays empty.
    fetch(`${apiOrigin()}/console/demo-users.json`)
      .then((r) => (r.ok ? (r.json() as Promise<DemoUser[]>) : []))
      .then(setDemo, () => setDemo([]));
  }, []);
  return (
    <main className="signin">
      <h1>Baton</h1>
      <p>Hand live WhatsApp chats to each other.</p>
      <form
        aria-label="Single sign-on"
        onSubmit={(e) => {
          e.preventDefault();
          void sso();
        }}
      >
        {!organization && (
          <label>
            Work email
            <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" />
          </label>
        )}
        <button type="submit" disabled={busy}>
          Sign in with single sign-on
        </button>
        {ssoError && <p role="alert">{ssoError}</p>}
      </form>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onSignIn(value.trim());
        }}
      >
        <label>
          Token
          <input name="token" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />
        </label>
        <button type="submit">Sign in</button>
      </form>
      {demo.length > 0 && (
        <section aria-label="Sign in as">
          <h2>Sign in as</h2>
          <ul className="demo-users">
            {demo.map((u) => (
              <li key={u.token}>
                <button type="button" onClick={() => onSignIn(u.token)}>
                  {u.name} ({u.role.toLowerCase()})
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}

// ---- The signed-in console ----

interface Session {
  me: { id: string; name: string; role: string };
  /** Server clock minus browser clock, in ms: countdowns use the server's time. */
  skewMs: number;
  /** Bumped on every event that may change what is shown: pages read again. */
  version: number;
  refresh: () => void;
  notify: (text: string, chat?: ToastChat | null) => void;
}

/** The chat a toast is about: named and linked. */
interface ToastChat {
  id: string;
  customerName: string;
}

/**
 * Alerts while the tab is in the background (issue #26): a desktop notification and a short tone
 * for each notification, once the agent turned them on (the browser asks permission then, after
 * that click, never before). Kept in localStorage.
 */
const ALERTS_KEY = "baton.alerts";
let tone: AudioContext | null = null;
function alertInBackground(text: string): void {
  if (localStorage.getItem(ALERTS_KEY) !== "on" || !document.hidden) return;
  if ("Notification" in window && Notification.permission === "granted") new Notification("Baton", { body: text });
  if (tone) {
    const osc = tone.createOscillator();
    const gain = tone.createGain();
    gain.gain.value = 0.05;
    osc.frequency.value = 880;
    osc.connect(gain).connect(tone.destination);
    osc.start();
    osc.stop(tone.currentTime + 0.15);
  }
}

function AlertsToggle() {
  const [on, setOn] = useState(() => localStorage.getItem(ALERTS_KEY) === "on");
  return (
    <button
      aria-pressed={on}
      onClick={() => {
        const next = !on;
        setOn(next);
        localStorage.setItem(ALERTS_KEY, next ? "on" : "off");
        if (next) {
          tone ??= new AudioContext();
          if ("Notification" in window && Notification.permission === "default") void Notification.requestPermission();
        }
      }}
    >
      Alerts {on ? "on" : "off"}
    </button>
  );
}

const SessionContext = createContext<Session | null>(null);
const useSession = (): Session => {
  const s = useContext(SessionContext);
  if (!s) throw new Error("no session");
  return s;
};

function Console({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const [socket, setSocket] = useState<SocketState>("connecting");
  const lastSequence = useRef<string | null>(null);
  const catchUp = useRef<() => void>(() => {});
  const api = useMemo(() => createApi(token, setSocket, () => catchUp.current()), [token]);
  useEffect(() => () => api.close(), [api]);
  return (
    <Provider value={api.client}>
      <Signed socket={socket} onSignOut={onSignOut} lastSequence={lastSequence} catchUp={catchUp} />
    </Provider>
  );
}

function Signed({
  socket,
  onSignOut,
  lastSequence,
  catchUp,
}: {
  socket: SocketState;
  onSignOut: () => void;
  lastSequence: React.MutableRefObject<string | null>;
  catchUp: React.MutableRefObject<() => void>;
}) {
  const client = useClient();
  const [{ data, error }, reexecuteMe] = useQuery({ query: MeQuery });
  const [version, setVersion] = useState(0);
  const [toasts, setToasts] = useState<Array<{ id: number; text: string; chat: ToastChat | null }>>([]);
  const route = useRoute();
  // On a phone the header folds into "Menu"; going to another page folds it again.
  const [headerOpen, setHeaderOpen] = useState(false);
  useEffect(() => setHeaderOpen(false), [route]);
  const refresh = useCallback(() => setVersion((v) => v + 1), []);
  const notify = useCallback((text: string, chat: ToastChat | null = null) => {
    const id = Date.now() + Math.random();
    // At most three at once: the newest push the oldest out.
    setToasts((t) => [...t.slice(-2), { id, text, chat }]);
    alertInBackground(text);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 8_000);
  }, []);
  const me = data?.me;
  const scope = me && me.role !== "USER" ? "ORGANIZATION" : "MINE";
  if (data?.latestEventSequence && lastSequence.current === null) lastSequence.current = data.latestEventSequence;

  // Live: every committed change in scope makes the pages read again; notifications also pop up.
  useSubscription({ query: EventsSubscription, variables: { scope }, pause: !me }, (_, event) => {
    lastSequence.current = event.assignmentEvents.sequence;
    refresh();
    return event;
  });
  useSubscription({ query: NotificationSubscription, pause: !me }, (_, n) => {
    notify(n.notificationReceived.message, n.notificationReceived.request?.chatSession ?? null);
    refresh();
    return n;
  });
  // After a dropped socket: what happened meanwhile, from the last event seen.
  catchUp.current = () => {
    void client
      .query(EventsSinceQuery, { after: lastSequence.current, scope }, { requestPolicy: "network-only" })
      .toPromise()
      .then((res) => {
        const events = res.data?.assignmentEventsSince ?? [];
        if (events.length > 0) lastSequence.current = events[events.length - 1].sequence;
        refresh();
      });
  };
  useEffect(() => {
    if (version > 0) reexecuteMe({ requestPolicy: "network-only" });
  }, [version, reexecuteMe]);

  const skewMs = useMemo(() => (data?.serverTime ? new Date(data.serverTime).getTime() - Date.now() : 0), [data?.serverTime]);
  if (error && !me) {
    return (
      <main className="signin">
        <p role="alert">{sentence(error)}</p>
        <button onClick={onSignOut}>Sign out</button>
      </main>
    );
  }
  if (!me) return <p className="loading">Loading…</p>;
  const session: Session = { me, skewMs, version, refresh, notify };
  return (
    <SessionContext.Provider value={session}>
      <header className="top">
        <strong className="brand">Baton</strong>
        <button className="menu-toggle" aria-expanded={headerOpen} aria-controls="header-menu" onClick={() => setHeaderOpen((o) => !o)}>
          Menu
          {data.unreadNotificationCount > 0 && (
            <span className="badge">
              <span aria-hidden="true">{data.unreadNotificationCount}</span>
              <span className="visually-hidden">{data.unreadNotificationCount} unread</span>
            </span>
          )}
        </button>
        <div id="header-menu" className={headerOpen ? "header-menu open" : "header-menu"}>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.page === "chats" ? "page" : undefined}>
            Chat Sessions
          </a>
          <a href="#/discussions" aria-current={route.page === "discussions" ? "page" : undefined}>
            Discussions
          </a>
          <a href="#/tracking" aria-current={route.page === "tracking" ? "page" : undefined}>
            Tracking records
          </a>
          <a href="#/inbox" aria-current={route.page === "inbox" ? "page" : undefined}>
            Notifications{" "}
            {data.unreadNotificationCount > 0 && (
              <span className="badge">
                <span aria-hidden="true">{data.unreadNotificationCount}</span>
                <span className="visually-hidden">{data.unreadNotificationCount} unread</span>
              </span>
            )}
          </a>
          {me.role !== "USER" && (
            <a href="#/supervisor" aria-current={route.page === "supervisor" ? "page" : undefined}>
              Supervisor
            </a>
          )}
          {me.role === "ADMIN" && (
            <a href="#/settings" aria-current={route.page === "settings" ? "page" : undefined}>
              Settings
            </a>
          )}
        </nav>
        <span className="who">
          {me.name} · {me.role.toLowerCase()}
        </span>
        <AvailabilitySelect value={me.availability} onChanged={refresh} />
        <AlertsToggle />
        <button onClick={onSignOut}>Sign out</button>
        </div>
      </header>
      {socket === "reconnecting" && (
        <div className="banner" role="status">
          Reconnecting… live updates resume by themselves.
        </div>
      )}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <p key={t.id} className="toast">
            {t.text}
            {t.chat && (
              <>
                {" "}
                <a href={`#/chats/${t.chat.id}`}>{t.chat.customerName}</a>
              </>
            )}
            <button className="dismiss" aria-label="Dismiss" onClick={() => setToasts((all) => all.filter((x) => x.id !== t.id))}>
              ×
            </button>
          </p>
        ))}
      </div>
      <Incoming />
      <main className="page">
        {route.page === "chats" && <ChatSessions />}
        {route.page === "chat" && <Chat id={route.id} />}
        {route.page === "discussions" && <Discussions />}
        {route.page === "tracking" && <Tracking />}
        {route.page === "inbox" && <Inbox />}
        {route.page === "settings" && <Settings />}
        {route.page === "supervisor" && <Supervisor />}
      </main>
    </SessionContext.Provider>
  );
}

/** My availability, shown to the whole organization; AWAY moves my pending requests on at once. */
function AvailabilitySelect({ value, onChanged }: { value: string; onChanged: () => void }) {
  const [state, set] = useMutation(SetAvailabilityMutation);
  return (
    <label className="inline">
      <span className="visually-hidden">My availability</span>
      <select
        aria-label="My availability"
        value={value}
        disabled={state.fetching}
        onChange={(e) => void set({ availability: e.target.value as "AVAILABLE" | "BUSY" | "AWAY" }).then(onChanged)}
      >
        <option value="AVAILABLE">Available</option>
        <option value="BUSY">Busy</option>
        <option value="AWAY">Away</option>
      </select>
    </label>
  );
}

// ---- Routing (hash-based: the console is static files) ----

type Route =
  | { page: "chats" }
  | { page: "chat"; id: string }
  | { page: "discussions" }
  | { page: "tracking" }
  | { page: "inbox" }
  | { page: "settings" }
  | { page: "supervisor" };

function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/";
  const chat = /^\/chats\/([\w-]+)$/.exec(path);
  if (chat?.[1]) return { page: "chat", id: chat[1] };
  if (path === "/tracking") return { page: "tracking" };
  if (path === "/discussions") return { page: "discussions" };
  if (path === "/inbox") return { page: "inbox" };
  if (path === "/settings") return { page: "settings" };
  if (path === "/supervisor") return { page: "supervisor" };
  return { page: "chats" };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** A query that reads again whenever something changed (the session's version). */
function useLiveQuery<D, V extends AnyVariables>(query: TypedDocumentNode<D, V>, variables: V, pause = false) {
  const { version } = useSession();
  const [result, reexecute] = useQuery<D, V>({ query, variables, pause });
  useEffect(() => {
    if (version > 0 && !pause) reexecute({ requestPolicy: "network-only" });
  }, [version, reexecute, pause]);
  return [result, reexecute] as const;
}

function ErrorLine({ error }: { error: Parameters<typeof sentence>[0] }) {
  const text = sentence(error);
  return text ? (
    <p role="alert" className="error">
      {text}
    </p>
  ) : null;
}

/** Forward Relay paging with a way back: the cursor of this page and of the pages before it. `reset` when the filters change. */
function usePager() {
  const [after, setAfter] = useState<string | null>(null);
  const [before, setBefore] = useState<Array<string | null>>([]);
  const reset = useCallback(() => {
    setAfter(null);
    setBefore([]);
  }, []);
  const previous = () => {
    setAfter(before[before.length - 1] ?? null);
    setBefore((b) => b.slice(0, -1));
  };
  const next = (endCursor: string | null | undefined) => {
    setBefore((b) => [...b, after]);
    setAfter(endCursor ?? null);
  };
  const controls = (pageInfo: { hasNextPage: boolean; endCursor?: string | null } | undefined) => (
    <div className="pager">
      <button disabled={before.length === 0} onClick={previous}>
        Previous page
      </button>
      <button disabled={!pageInfo?.hasNextPage} onClick={() => next(pageInfo?.endCursor)}>
        Next page
      </button>
    </div>
  );
  return { after, reset, controls };
}

const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : "—");

// ---- Incoming requests: "Mark has sent you a chat assignment request." ----

function Incoming() {
  const [{ data }] = useLiveQuery(IncomingQuery, {});
  const [answer, setAnswer] = useState<{ id: string } | null>(null);
  const [accepted, accept] = useMutation(AcceptMutation);
  const [rejected, reject] = useMutation(RejectMutation);
  const { refresh } = useSession();
  const settings = useQuery({ query: SettingsQuery })[0].data?.assignDiscussSettings;
  const pending = data?.assignmentRequests.edges.map((e) => e.node) ?? [];
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
                refresh();
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
            refresh();
            return res.error;
          }}
        />
      )}
    </section>
  );
}

/** Time left until `expiresAt`, by the server's clock, ticking every second. */
function Countdown({ expiresAt, onZero }: { expiresAt: string; onZero?: () => void }) {
  const { skewMs } = useSession();
  const left = () => Math.max(0, new Date(expiresAt).getTime() - (Date.now() + skewMs));
  const [ms, setMs] = useState(left);
  useEffect(() => {
    const timer = setInterval(() => {
      const now = left();
      setMs(now);
      if (now === 0) {
        clearInterval(timer);
        onZero?.();
      }
    }, 250);
    return () => clearInterval(timer);
  }, [expiresAt, skewMs]);
  const s = Math.ceil(ms / 1000);
  return (
    <span className="countdown" role="timer" aria-label="Time left">
      {ms === 0 ? "time is up" : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} left`}
    </span>
  );
}

// ---- A reason, asked in a dialog: the organization's quick picks plus free text ----

function ReasonDialog({
  title,
  action,
  presets,
  onCancel,
  onConfirm,
}: {
  title: string;
  action: string;
  presets: readonly string[];
  onCancel: () => void;
  onConfirm: (reason: string) => Promise<Parameters<typeof sentence>[0]>;
}) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<Parameters<typeof sentence>[0]>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog label={title} onClose={onCancel}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          void onConfirm(reason.trim()).then((err) => {
            setError(err ?? null);
            setBusy(false);
          });
        }}
      >
        <h2>{title}</h2>
        {presets.length > 0 && (
          <fieldset>
            <legend>Quick picks</legend>
            {presets.map((p) => (
              <label key={p} className="radio">
                <input type="radio" name="preset" checked={reason === p} onChange={() => setReason(p)} />
                {p}
              </label>
            ))}
          </fieldset>
        )}
        <label>
          Reason
          <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} required />
        </label>
        <ErrorLine error={error} />
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" disabled={busy || reason.trim() === ""}>
            {action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * A modal dialog on the native <dialog> element (focus trap, Escape, the dialog role). When it
 * closes, focus goes back to what opened it (when that is still on the page), not to <body>.
 */
function Dialog({ label, onClose, children }: { label: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
    if (d && !d.open) d.showModal();
    return () => {
      d?.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} aria-label={label} onCancel={onClose} className="dialog">
      {children}
    </dialog>
  );
}

// ---- Chat Sessions: the start page ----

function ChatSessions() {
  const { me, refresh } = useSession();
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
  const chats = data?.chatSessions.edges.map((e) => e.node) ?? [];
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
            refresh();
          }}
        />
      )}
    </section>
  );
}

/**
 * A menu button (the WAI-ARIA menu-button pattern): Enter, Space or ArrowDown opens the menu on its
 * first item, ArrowUp on its last; ArrowUp/ArrowDown move (wrapping), Home and End jump; Escape
 * closes it and gives focus back to the button; Tab or a click outside closes it. A disabled item
 * stays reachable (aria-disabled) and does nothing.
 */
function MenuButton({ label, items }: { label: string; items: Array<{ label: string; disabled?: boolean; onSelect: () => void }> }) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const id = useId();
  useEffect(() => {
    if (open) list.current?.querySelectorAll<HTMLElement>('[role="menuitem"]')[active]?.focus();
  }, [open, active]);
  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (!button.current?.parentElement?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }, [open]);
  const openAt = (i: number) => {
    setActive(i);
    setOpen(true);
  };
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const n = items.length;
  const keys: Record<string, () => void> = {
    ArrowDown: () => setActive((a) => (a + 1) % n),
    ArrowUp: () => setActive((a) => (a - 1 + n) % n),
    Home: () => setActive(0),
    End: () => setActive(n - 1),
    Escape: close,
  };
  return (
    <div className="menu-wrap">
      <button
        ref={button}
        id={`${id}-button`}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? `${id}-menu` : undefined}
        onClick={() => (open ? setOpen(false) : openAt(0))}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            openAt(e.key === "ArrowDown" ? 0 : n - 1);
          }
        }}
      >
        {label}
      </button>
      {open && (
        <ul
          ref={list}
          id={`${id}-menu`}
          role="menu"
          aria-labelledby={`${id}-button`}
          className="menu"
          onKeyDown={(e) => {
            if (e.key === "Tab") setOpen(false);
            const act = keys[e.key];
            if (!act) return;
            e.preventDefault();
            act();
          }}
        >
          {items.map((item, i) => (
            <li role="none" key={item.label}>
              <button
                role="menuitem"
                tabIndex={i === active ? 0 : -1}
                aria-disabled={item.disabled || undefined}
                onClick={() => {
                  if (item.disabled) return;
                  close();
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function UserSelect({
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

function BulkAssignDialog({
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

// ---- One chat: details, pending request, history, Assign/Discuss ----

function Chat({ id }: { id: string }) {
  const { refresh, me } = useSession();
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
          onSent={() => {
            setDialog(null);
            refresh();
          }}
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
                  refresh();
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
            refresh();
            return res.error;
          }}
        />
      )}
    </section>
  );
}

type RecordRow = ConsoleRecordFragment;

const kindLabel = (kind: string): string => (kind === "DIRECT_ASSIGN" ? "Bulk" : kind === "DISCUSS_REQUEST" ? "Discuss" : "Assign");

/** Tracking records as a table: the chat's history, and the Tracking records page (with the customer). */
function RecordsTable({ records, showCustomer = false }: { records: readonly RecordRow[]; showCustomer?: boolean }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Tracking records table">
    <table>
      <thead>
        <tr>
          <th scope="col">When</th>
          {showCustomer && <th scope="col">Customer</th>}
          <th scope="col">Kind</th>
          <th scope="col">By</th>
          <th scope="col">From</th>
          <th scope="col">To</th>
          <th scope="col">Status</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {records.map((r) => (
          <tr key={r.id}>
            <td>{when(r.requestedAt)}</td>
            {showCustomer && <td>{r.chatSession.customerName}</td>}
            <td>{kindLabel(r.kind)}</td>
            <td>{r.initiatedBy.name}</td>
            <td>{r.fromUser.name}</td>
            <td>{r.toUser.name}</td>
            <td>{describeOutcome(r.status)}</td>
            <td>{r.reason ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}

function describeOutcome(status: string): string {
  switch (status) {
    case "PENDING":
      return "pending";
    case "ACCEPTED":
      return "accepted";
    case "REJECTED":
      return "rejected";
    case "WITHDRAWN":
      return "withdrawn";
    case "TIMED_OUT":
      return "timed out";
    case "CANCELLED":
      return "cancelled";
    case "ASSIGNED":
      return "assigned";
    case "ENDED":
      return "discussion ended";
    default:
      return status.toLowerCase();
  }
}

/** WhatsApp's reply window as the chat page says it (issue #24). */
function replyWindowText(endsAt: string | null, open: boolean): string {
  if (open && !endsAt) return "No reply window on this channel";
  if (!open) return endsAt ? "Closed: templates only" : "Closed until the customer writes: templates only";
  const minutes = Math.max(0, Math.floor((Date.parse(endsAt!) - Date.now()) / 60_000));
  const left = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
  return `${left} left`;
}

/** "Suggested": who the API ranks first for this chat, with its reasons (issue #24); choosing one selects them. */
function Suggested({ chatId, kind, type, onChoose }: { chatId: string; kind: "ASSIGN" | "DISCUSS"; type: "USER" | "MANAGER"; onChoose: (id: string) => void }) {
  const [{ data }] = useQuery({ query: SuggestionsQuery, variables: { chatSessionId: chatId, kind, recipientType: type } });
  const list = data?.suggestedRecipients ?? [];
  if (list.length === 0) return null;
  return (
    <fieldset>
      <legend>Suggested</legend>
      <ul className="suggested" aria-label="Suggested">
        {list.map((s) => (
          <li key={s.user.id}>
            <button type="button" onClick={() => onChoose(s.user.id)}>
              {s.user.name}
            </button>{" "}
            <small>{s.reasons.join(" · ")}</small>
          </li>
        ))}
      </ul>
    </fieldset>
  );
}

function AssignDialog({
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

// ---- Discussions: the private panel after an accepted Discuss request ----

function Discussions({ chatSessionId }: { chatSessionId?: string }) {
  const [{ data, error }] = useLiveQuery(DiscussionsQuery, { filter: { status: "ACTIVE", chatSessionId: chatSessionId ?? null } });
  const list = data?.discussions.edges.map((e) => e.node) ?? [];
  if (chatSessionId && list.length === 0) return null;
  return (
    <section aria-label="Discussions">
      {!chatSessionId && <h1>Discussions</h1>}
      <ErrorLine error={error} />
      {list.map((d) => (
        <DiscussionPanel key={d.id} discussion={d} />
      ))}
      {!chatSessionId && list.length === 0 && <p>No discussion is going on.</p>}
    </section>
  );
}

type DiscussionNode = ConsoleDiscussionsQuery["discussions"]["edges"][number]["node"];

function DiscussionPanel({ discussion: d }: { discussion: DiscussionNode }) {
  const { me, refresh } = useSession();
  const [body, setBody] = useState("");
  const [posted, post] = useMutation(PostMessageMutation);
  const [ended, end] = useMutation(EndDiscussionMutation);
  // Messages live: each one makes the panel read again.
  useSubscription({ query: DiscussionMessagesSubscription, variables: { discussionId: d.id } }, (_, m) => {
    refresh();
    return m;
  });
  const participant = me.id === d.requester.id || me.id === d.consultant.id;
  const [{ data, error: readError }] = useLiveQuery(DiscussionMessagesQuery, { id: d.id });
  const messages = data?.discussion?.messages.edges.map((e) => e.node) ?? [];
  return (
    <article className="discussion" aria-label={`Discussion about ${d.chatSession.customerName}`}>
      <h2>
        Discussion about <a href={`#/chats/${d.chatSession.id}`}>{d.chatSession.customerName}</a>: {d.requester.name} with {d.consultant.name}
      </h2>
      <ol className="messages" aria-label="Messages">
        {messages.map((m) => (
          <li key={m.id}>
            <strong>{m.author.name}:</strong> {m.body}
          </li>
        ))}
        {messages.length === 0 && <li className="hint">No messages yet.</li>}
      </ol>
      {participant && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void post({ discussionId: d.id, body: body.trim() }).then((res) => {
              if (!res.error) setBody("");
              refresh();
            });
          }}
        >
          <label>
            Message
            <textarea value={body} onChange={(e) => setBody(e.target.value)} rows={2} maxLength={4000} />
          </label>
          <button type="submit" disabled={body.trim() === "" || posted.fetching}>
            Send
          </button>
        </form>
      )}
      <ErrorLine error={readError ?? posted.error ?? ended.error} />
      <button onClick={() => void end({ discussionId: d.id }).then(refresh)}>End discussion</button>
    </article>
  );
}

// ---- Notifications inbox ----

function Inbox() {
  const [{ data }] = useLiveQuery(InboxQuery, {});
  const [, markRead] = useMutation(MarkReadMutation);
  const { refresh } = useSession();
  const list = data?.notifications.edges.map((e) => e.node) ?? [];
  const unread = list.filter((n) => !n.readAt).map((n) => n.id);
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Notifications</h1>
      <button disabled={unread.length === 0} onClick={() => void markRead({ ids: unread }).then(refresh)}>
        Mark all read
      </button>
      <ul className="inbox">
        {list.map((n) => (
          <li key={n.id} className={n.readAt ? "read" : "unread"}>
            {n.message}{" "}
            {n.request?.chatSession && (
              <a
                href={`#/chats/${n.request.chatSession.id}`}
                onClick={() => {
                  // Opening it reads it.
                  if (!n.readAt) void markRead({ ids: [n.id] }).then(refresh);
                }}
              >
                {n.request.chatSession.customerName}
              </a>
            )}{" "}
            <time dateTime={n.createdAt}>{when(n.createdAt)}</time>
          </li>
        ))}
        {list.length === 0 && <li>Nothing yet.</li>}
      </ul>
    </section>
  );
}

// ---- Supervisor (managers and admins): pending requests, agents, today ----

/** Midnight today in `timeZone` (the organization's), as an instant. */
function startOfDayIn(timeZone: string, now = new Date()): Date {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })
      .formatToParts(now)
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const wallClock = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  const offset = wallClock - Math.floor(now.getTime() / 1000) * 1000;
  return new Date(Date.UTC(parts.year, parts.month - 1, parts.day) - offset);
}

const seconds = (s: number | null | undefined): string => (s === null || s === undefined ? "—" : s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);

function Supervisor() {
  const { me, refresh } = useSession();
  const [{ data: pendingData, error }] = useLiveQuery(SupervisorPendingQuery, {}, me.role === "USER");
  const [{ data: agentsData }] = useLiveQuery(SupervisorAgentsQuery, {}, me.role === "USER");
  const settings = useQuery({ query: SettingsQuery })[0].data?.assignDiscussSettings;
  const timeZone = settings?.timeZone ?? "UTC";
  // The organization's today, [midnight, next midnight): the period stays the same all day.
  const from = startOfDayIn(timeZone).toISOString();
  const to = new Date(new Date(from).getTime() + 86_400_000).toISOString();
  const [{ data: today }] = useLiveQuery(SupervisorTodayQuery, { from, to }, me.role === "USER" || !settings);
  const [withdrawing, setWithdrawing] = useState<string | null>(null);
  const [, withdraw] = useMutation(WithdrawMutation);
  const [setState, setAvailability] = useMutation(SetUserAvailabilityMutation);
  if (me.role === "USER") return <p role="alert">The supervisor board is for managers and admins.</p>;
  const pending = pendingData?.assignmentRequests.edges.map((e) => e.node) ?? [];
  const incomingOf = new Map<string, number>();
  for (const r of pending) incomingOf.set(r.recipient.id, (incomingOf.get(r.recipient.id) ?? 0) + 1);
  const agents = agentsData?.users ?? [];
  const day = today?.handoverStats[0];
  const outcomes = day
    ? [
        { label: "Accepted", value: day.accepted },
        { label: "Rejected", value: day.rejected },
        { label: "Timed out", value: day.timedOut },
        { label: "Withdrawn", value: day.withdrawn },
      ]
    : [];
  const reasons = (today?.rejectReasons ?? []).map((r) => ({ label: r.reason || "(no reason)", value: r.count }));
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
                <td>{r.kind === "DISCUSS" ? "Discuss" : r.hop > 1 ? `Assign (try ${r.hop})` : "Assign"}</td>
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
                    onChange={(e) => void setAvailability({ userId: u.id, availability: e.target.value as "AVAILABLE" }).then(refresh)}
                  >
                    <option value="AVAILABLE">Available</option>
                    <option value="BUSY">Busy</option>
                    <option value="AWAY">Away</option>
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
            refresh();
            return res.error;
          }}
        />
      )}
    </section>
  );
}

/** A chart drawn by the lazily loaded chart module, with its numbers as a table for whoever prefers them. */
function Chart({ title, bars, color }: { title: string; bars: Array<{ label: string; value: number }>; color?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const key = JSON.stringify(bars);
  useEffect(() => {
    let live = true;
    if (bars.length === 0) {
      ref.current?.replaceChildren();
      return;
    }
    void import("./supervisor/charts").then(({ barChart }) => {
      if (!live || !ref.current) return;
      ref.current.replaceChildren(barChart(bars, { label: title, width: Math.min(640, ref.current.clientWidth || 640), color }));
    });
    return () => {
      live = false;
    };
  }, [key]);
  const id = useId();
  return (
    <figure className="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      {bars.length === 0 ? <p className="hint">Nothing yet today.</p> : <div ref={ref} />}
      {bars.length > 0 && (
        <details>
          <summary>The numbers</summary>
          <table>
            <tbody>
              {bars.map((b) => (
                <tr key={b.label}>
                  <th scope="row">{b.label}</th>
                  <td>{b.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}

// ---- Tracking records ----

function Tracking() {
  const { me } = useSession();
  // The export is for managers and admins (the API's tracking.export): others are not offered it.
  const mayExport = me.role !== "USER";
  const [status, setStatus] = useState("");
  const [kind, setKind] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [userId, setUserId] = useState("");
  const [{ data: people }] = useQuery({ query: UsersQuery, variables: { role: null } });
  const [download, setDownload] = useState<string | null>(null);
  const filter = {
    userId: userId || null,
    status: status || null,
    kind: kind || null,
    from: from ? new Date(from).toISOString() : null,
    to: to ? new Date(to).toISOString() : null,
  } as Record<string, string | null>;
  const pager = usePager();
  // Other filters, another list: back to its first page.
  useEffect(() => pager.reset(), [status, kind, from, to, userId, pager.reset]);
  const [{ data, error }] = useLiveQuery(TrackingQuery, { filter: filter as never, first: 25, after: pager.after });
  const rows = data?.engagementTrackingRecords.edges.map((e) => e.node) ?? [];
  const pageInfo = data?.engagementTrackingRecords.pageInfo;
  const csv = async () => {
    setDownload(null);
    const params = new URLSearchParams();
    // The file holds what the page shows: every filter of the list.
    for (const name of ["from", "to", "status", "kind", "userId"]) if (filter[name]) params.set(name, filter[name]);
    const res = await fetch(`${apiOrigin()}/exports/engagement-tracking-records.csv?${params}`, {
      headers: { authorization: `Bearer ${sessionStorage.getItem(tokenKey()) ?? ""}` },
    });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { errors?: Array<{ extensions?: { code?: string } }> } | null;
      const code = body?.errors?.[0]?.extensions?.code;
      setDownload(code === "FORBIDDEN" ? "Only managers and admins may download tracking records." : "The download failed. Please try again.");
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = "engagement-tracking-records.csv";
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section aria-labelledby="tracking-title">
      <h1 id="tracking-title">Tracking records</h1>
      <div className="toolbar">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any</option>
            {["PENDING", "ACCEPTED", "REJECTED", "WITHDRAWN", "TIMED_OUT", "CANCELLED", "ASSIGNED", "ENDED"].map((s) => (
              <option key={s} value={s}>
                {describeOutcome(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">Any</option>
            <option value="ASSIGN_REQUEST">Assign</option>
            <option value="DISCUSS_REQUEST">Discuss</option>
            <option value="DIRECT_ASSIGN">Bulk</option>
          </select>
        </label>
        <label>
          User
          <select value={userId} onChange={(e) => setUserId(e.target.value)}>
            <option value="">Anyone</option>
            {(people?.users ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        {mayExport && <button onClick={() => void csv()}>Download CSV</button>}
      </div>
      {download && <p role="alert">{download}</p>}
      <ErrorLine error={error} />
      <RecordsTable records={rows} showCustomer />
      {pager.controls(pageInfo)}
    </section>
  );
}

// ---- Settings (admins) ----

function Settings() {
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

// ---- Webhooks (admins; issue #22): endpoints, the secret shown once, recent deliveries, redeliver ----

/** An API constant as words: "TIMED_OUT" -> "timed out". */
const label = (constant: string): string => constant.toLowerCase().replace(/_/g, " ");

const EVENT_TYPES: AssignmentEventType[] = ["CREATED", "ACCEPTED", "REJECTED", "WITHDRAWN", "TIMED_OUT", "CANCELLED", "ASSIGNED", "DISCUSSION_ENDED"];

function Webhooks() {
  const [{ data, error }, refetch] = useQuery({ query: WebhookEndpointsQuery, requestPolicy: "network-only" });
  const [created, create] = useMutation(CreateWebhookEndpointMutation);
  const [updated, update] = useMutation(UpdateWebhookEndpointMutation);
  const [deleted, remove] = useMutation(DeleteWebhookEndpointMutation);
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState<AssignmentEventType[]>([]);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const reload = () => refetch({ requestPolicy: "network-only" });
  return (
    <section aria-labelledby="webhooks-title" className="webhooks">
      <h2 id="webhooks-title">Webhooks</h2>
      <p className="hint">Baton posts every handover to these URLs, signed (Standard Webhooks). See the README for the message and how to verify it.</p>
      {error && <ErrorLine error={error} />}
      {data && data.webhookEndpoints.length === 0 && <p>No endpoints yet.</p>}
      {data && data.webhookEndpoints.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Webhook endpoints">
        <table aria-label="Webhook endpoints">
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.webhookEndpoints.map((e) => (
              <tr key={e.id}>
                <td className="url">{e.url}</td>
                <td>{e.eventTypes.length === 0 ? "All" : e.eventTypes.map(label).join(", ")}</td>
                <td>{e.enabled ? "Enabled" : `Disabled${e.disabledReason ? `: ${e.disabledReason}` : ""}`}</td>
                <td className="row-actions">
                  <button type="button" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                    Deliveries
                  </button>
                  <button type="button" onClick={() => void update({ id: e.id, input: { enabled: !e.enabled } }).then(reload)}>
                    {e.enabled ? "Disable" : "Enable"}
                  </button>
                  <button
                    type="button"
                    onClick={() => {
                      if (window.confirm(`Delete the endpoint ${e.url} and its deliveries?`)) void remove({ id: e.id }).then(reload);
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      <ErrorLine error={updated.error ?? deleted.error} />
      {open && data?.webhookEndpoints.some((e) => e.id === open) && <Deliveries endpointId={open} />}
      <form
        className="settings"
        aria-label="New webhook endpoint"
        onSubmit={(ev) => {
          ev.preventDefault();
          setSecret(null);
          void create({ input: { url: url.trim(), eventTypes: types } }).then((res) => {
            const made = res.data?.createWebhookEndpoint;
            if (!made) return;
            setSecret({ url: made.endpoint.url, secret: made.secret });
            setUrl("");
            setTypes([]);
            reload();
          });
        }}
      >
        <h3>New endpoint</h3>
        <label>
          URL
          <input type="url" required placeholder="https://crm.example.com/hooks/baton" value={url} onChange={(ev) => setUrl(ev.target.value)} />
        </label>
        <fieldset>
          <legend>Events (none ticked: all)</legend>
          {EVENT_TYPES.map((t) => (
            <label key={t} className="check">
              <input type="checkbox" checked={types.includes(t)} onChange={(ev) => setTypes(ev.target.checked ? [...types, t] : types.filter((x) => x !== t))} />
              {label(t)}
            </label>
          ))}
        </fieldset>
        <ErrorLine error={created.error} />
        <button type="submit" className="primary">
          Add endpoint
        </button>
      </form>
      {secret && (
        <div role="status" className="secret">
          <p>
            Endpoint added for {secret.url}. Its signing secret is shown this once: store it in the receiver now.
          </p>
          <code aria-label="Signing secret">{secret.secret}</code>
        </div>
      )}
    </section>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: WebhookDeliveriesQuery, variables: { endpointId, first: 20 }, requestPolicy: "network-only" });
  const [redelivered, redeliver] = useMutation(RedeliverWebhooksMutation);
  const [after, setAfter] = useState("");
  const [queued, setQueued] = useState<number | null>(null);
  const reload = () => refetch({ requestPolicy: "network-only" });
  const rows = data?.webhookDeliveries.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="deliveries-title" className="deliveries">
      <h3 id="deliveries-title">Recent deliveries</h3>
      <button type="button" onClick={reload} disabled={fetching}>
        Refresh
      </button>
      {error && <ErrorLine error={error} />}
      {data && rows.length === 0 && <p>Nothing sent yet.</p>}
      {rows.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Recent deliveries">
        <table aria-label="Recent deliveries">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Delivered / next attempt</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id}>
                <td>{d.eventSequence}</td>
                <td>{label(d.eventType)}</td>
                <td>{label(d.status)}</td>
                <td>{d.attempts}</td>
                <td className="url">{d.lastError ?? (d.lastResponseStatus ? `HTTP ${d.lastResponseStatus}` : "—")}</td>
                <td>{d.deliveredAt ? when(d.deliveredAt) : d.nextAttemptAt ? `next ${when(d.nextAttemptAt)}` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      <form
        className="inline"
        onSubmit={(ev) => {
          ev.preventDefault();
          setQueued(null);
          void redeliver({ endpointId, afterSequence: after.trim() }).then((res) => {
            if (res.data) {
              setQueued(res.data.redeliverWebhooks);
              reload();
            }
          });
        }}
      >
        <label>
          Send again every event after
          <input inputMode="numeric" required value={after} onChange={(ev) => setAfter(ev.target.value)} aria-describedby="redeliver-hint" />
        </label>
        <span id="redeliver-hint" className="hint">
          an event number from the list (0: all)
        </span>
        <button type="submit">Redeliver</button>
        <ErrorLine error={redelivered.error} />
        {queued !== null && <p role="status">{queued === 1 ? "1 delivery queued." : `${queued} deliveries queued.`}</p>}
      </form>
    </section>
  );
}
