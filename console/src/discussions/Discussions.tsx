import { useState } from "react";
import { useMutation, useSubscription } from "urql";
import type { ConsoleDiscussionsQuery } from "../gql/graphql";
import { DiscussionMessagesQuery, DiscussionMessagesSubscription, DiscussionsQuery, EndDiscussionMutation, PostMessageMutation } from "./operations";
import { useSession } from "../session/session";
import { useLiveQuery } from "../session/useLiveQuery";
import { ErrorLine } from "../ui/ErrorLine";

export function Discussions({ chatSessionId }: { chatSessionId?: string }) {
  const [{ data, error }] = useLiveQuery(DiscussionsQuery, { filter: { status: "ACTIVE", chatSessionId: chatSessionId ?? null } });
  // An ended discussion goes at once (its end reached the cache); a new one is asked for by the cache.
  const list = data?.discussions.edges.map((e) => e.node).filter((d) => d.status === "ACTIVE") ?? [];
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

export type DiscussionNode = ConsoleDiscussionsQuery["discussions"]["edges"][number]["node"];

export function DiscussionPanel({ discussion: d }: { discussion: DiscussionNode }) {
  const { me } = useSession();
  const [body, setBody] = useState("");
  const [posted, post] = useMutation(PostMessageMutation);
  const [ended, end] = useMutation(EndDiscussionMutation);
  // Messages live: each one joins the log in the cache (session/cache.ts), nothing is asked again.
  useSubscription({ query: DiscussionMessagesSubscription, variables: { discussionId: d.id } });
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
      <button onClick={() => void end({ discussionId: d.id })}>End discussion</button>
    </article>
  );
}
