import { useMutation } from "urql";
import { InboxQuery, MarkReadMutation } from "./operations";
import { useLiveQuery } from "../session/useLiveQuery";
import { when } from "../ui/format";

export function Inbox() {
  const [{ data }] = useLiveQuery(InboxQuery, {});
  const [, markRead] = useMutation(MarkReadMutation);
  const list = data?.notifications.edges.map((e) => e.node) ?? [];
  const unread = list.filter((n) => !n.readAt).map((n) => n.id);
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Notifications</h1>
      <button disabled={unread.length === 0} onClick={() => void markRead({ ids: unread })}>
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
                  if (!n.readAt) void markRead({ ids: [n.id] });
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
