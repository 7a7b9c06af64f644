import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Provider, useClient, useQuery, useSubscription } from "urql";
import { createApi } from "./api";
import type { Viewer } from "./cache";
import type { SocketState } from "./api";
import { sentence } from "../ui/errors";
import { Chat } from "../chats/Chat";
import { ChatSessions } from "../chats/ChatSessions";
import { Discussions } from "../discussions/Discussions";
import { Inbox } from "../notifications/Inbox";
import { Incoming } from "../requests/Incoming";
import { AvailabilitySelect } from "./AvailabilitySelect";
import { AlertsToggle, alertInBackground } from "./alerts";
import { EventsSinceQuery, EventsSubscription, MeQuery, NotificationSubscription } from "./operations";
import { useRoute } from "./route";
import { Session, SessionContext, ToastChat } from "./session";
import { Settings } from "../settings/Settings";
import { Supervisor } from "../supervisor/Supervisor";
import { Tracking } from "../tracking/Tracking";

export function Console({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const [socket, setSocket] = useState<SocketState>("connecting");
  const lastSequence = useRef<string | null>(null);
  const catchUp = useRef<() => void>(() => {});
  const api = useMemo(() => createApi(token, setSocket, () => catchUp.current()), [token]);
  useEffect(() => () => api.close(), [api]);
  return (
    <Provider value={api.client}>
      <Signed viewer={api.viewer} socket={socket} onSignOut={onSignOut} lastSequence={lastSequence} catchUp={catchUp} />
    </Provider>
  );
}

export function Signed({
  viewer,
  socket,
  onSignOut,
  lastSequence,
  catchUp,
}: {
  viewer: Viewer;
  socket: SocketState;
  onSignOut: () => void;
  lastSequence: React.MutableRefObject<string | null>;
  catchUp: React.MutableRefObject<() => void>;
}) {
  const client = useClient();
  const [{ data, error }, reexecuteMe] = useQuery({ query: MeQuery });
  const [resyncs, setResyncs] = useState(0);
  const [toasts, setToasts] = useState<Array<{ id: number; text: string; chat: ToastChat | null }>>([]);
  const route = useRoute();
  // On a phone the header folds into "Menu"; going to another page folds it again.
  const [headerOpen, setHeaderOpen] = useState(false);
  useEffect(() => setHeaderOpen(false), [route]);
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

  if (me) viewer.id = me.id;

  // Live: every committed change in scope reaches the cache (session/cache.ts), which updates the
  // pages that show it; notifications also pop up.
  useSubscription({ query: EventsSubscription, variables: { scope }, pause: !me }, (_, event) => {
    lastSequence.current = event.assignmentEvents.sequence;
    return event;
  });
  useSubscription({ query: NotificationSubscription, pause: !me }, (_, n) => {
    notify(n.notificationReceived.message, n.notificationReceived.request?.chatSession ?? null);
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
        // The events meanwhile reached no cache: every page reads again, once.
        setResyncs((n) => n + 1);
      });
  };
  useEffect(() => {
    if (resyncs > 0) reexecuteMe({ requestPolicy: "network-only" });
  }, [resyncs, reexecuteMe]);

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
  const session: Session = { me, skewMs, resyncs, notify };
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
        <AvailabilitySelect value={me.availability} />
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
