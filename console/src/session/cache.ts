import { cacheExchange, type Cache, type KeyingConfig } from "@urql/exchange-graphcache";
import {
  ConsoleDiscussionLogDocument,
  ConsoleInboxDocument,
  ConsoleMeDocument,
  ConsoleReadAtFragmentDoc,
  type ConsoleDiscussionMessageAddedSubscription,
  type ConsoleEventsSubscription,
  type ConsoleNotificationsSubscription,
  type ConsolePostMessageMutation,
} from "../gql/graphql";

/**
 * The console's normalized cache (urql Graphcache): every object with an `id` is kept once under
 * its type and id, so an event or a mutation's answer that carries a chat, a request or a tracking
 * record updates every page that shows it, without asking the API again. A page asks again only
 * for what an event cannot carry: a list that may gain a member (a new request, a chat that became
 * mine, a new tracking record) or an aggregate (today's numbers, someone's open chats).
 *
 * Lists lose members on the page itself: each page shows only the members that still match its
 * filter as the cache knows them (a request no longer PENDING, a chat no longer mine or open).
 */

/** The API's types without an id: kept inside whatever holds them (connections, edges, results). */
export const EMBEDDED_TYPES = [
  "AssignmentRequestConnection",
  "AssignmentRequestEdge",
  "AuditCheckpoint",
  "AuditCheckpointConnection",
  "AuditCheckpointEdge",
  "AuditPublicKey",
  "BulkAssignItem",
  "BulkAssignResult",
  "ChatSessionConnection",
  "ChatSessionEdge",
  "DiscussionConnection",
  "DiscussionEdge",
  "DiscussionMessageConnection",
  "DiscussionMessageEdge",
  "EngagementTrackingRecordConnection",
  "EngagementTrackingRecordEdge",
  "HandoverStatsRow",
  "IdentityProvider",
  "NotificationConnection",
  "NotificationEdge",
  "PageInfo",
  "ReasonCount",
  "RecipientSuggestion",
  "WebhookDeliveryConnection",
  "WebhookDeliveryEdge",
  "WebhookEndpointWithSecret",
] as const;

const keys: KeyingConfig = Object.fromEntries(EMBEDDED_TYPES.map((t) => [t, () => null]));

/** Who is signed in (set once `me` is known): a new incoming request is mine only if I am its recipient. */
export interface Viewer {
  id: string | null;
}

type Event = ConsoleEventsSubscription["assignmentEvents"];

interface FilterArgs {
  filter?: { direction?: string; ownerId?: string | null; chatSessionId?: string | null; status?: string | null } | null;
}

/** Invalidates the cached `Query.<field>` lists (every argument set) that `matches` picks: the pages showing them ask once. */
function invalidateLists(cache: Cache, field: string, matches: (args: FilterArgs) => boolean = () => true): void {
  for (const f of cache.inspectFields("Query")) {
    if (f.fieldName === field && matches((f.arguments ?? {}))) cache.invalidate("Query", f.fieldName, f.arguments);
  }
}

/** What one committed event changes beyond the entities it carries. */
function applyEvent(cache: Cache, event: Event, viewer: Viewer): void {
  const chatId = event.chatSession.id;
  const request = event.request;
  const record = event.trackingRecord;
  // A new request joins the pending lists it belongs to: mine when I receive or send it, the organization's always.
  if (event.type === "CREATED" && request) {
    invalidateLists(cache, "assignmentRequests", ({ filter }) => {
      if (filter?.direction === "INCOMING") return request.recipient.id === viewer.id;
      if (filter?.direction === "OUTGOING") return request.sender.id === viewer.id;
      return true;
    });
  }
  // A new tracking record (a request, or a bulk move) joins the lists of its chat and the unfiltered ones.
  if (event.type === "CREATED" || event.type === "ASSIGNED") {
    invalidateLists(cache, "engagementTrackingRecords", ({ filter }) => !filter?.chatSessionId || filter.chatSessionId === chatId);
  }
  // The chat changed hands: it joins its new owner's lists (it leaves the old owner's on the page), and both owners' load changes.
  const movedByRequest = event.type === "ACCEPTED" && request?.kind === "ASSIGN";
  if (movedByRequest || event.type === "ASSIGNED") {
    const owner = event.chatSession.owner.id;
    invalidateLists(cache, "chatSessions", ({ filter }) => filter?.ownerId === owner);
    for (const user of new Set([record.fromUser.id, record.toUser.id])) cache.invalidate({ __typename: "User", id: user }, "openChatCount");
  }
  // A Discuss accepted starts a discussion: the discussion lists gain it (its end arrives on the discussion itself).
  if (event.type === "ACCEPTED" && request?.kind === "DISCUSS") invalidateLists(cache, "discussions");
  // Today's numbers are aggregates: asked again.
  invalidateLists(cache, "handoverStats");
  invalidateLists(cache, "rejectReasons");
}

type Notice = ConsoleNotificationsSubscription["notificationReceived"];

/** A notification: the unread count goes up and the inbox gains it at the top, from the message itself. */
function applyNotification(cache: Cache, notice: Notice): void {
  cache.updateQuery({ query: ConsoleMeDocument }, (data) => (data ? { ...data, unreadNotificationCount: data.unreadNotificationCount + 1 } : data));
  cache.updateQuery({ query: ConsoleInboxDocument }, (data) => {
    if (!data || data.notifications.edges.some((e) => e.node.id === notice.id)) return data;
    const edge = { __typename: "NotificationEdge" as const, node: notice };
    return { ...data, notifications: { ...data.notifications, edges: [edge, ...data.notifications.edges].slice(0, 20) } };
  });
}

/** Notifications marked read: each one's readAt, and the unread count, without asking again. */
function applyRead(cache: Cache, ids: readonly string[], readAt: string): void {
  let newlyRead = 0;
  for (const id of ids) {
    if (cache.resolve({ __typename: "Notification", id }, "readAt") !== null) continue;
    newlyRead += 1;
    cache.writeFragment(ConsoleReadAtFragmentDoc, { id, readAt });
  }
  if (newlyRead > 0) {
    cache.updateQuery({ query: ConsoleMeDocument }, (data) => (data ? { ...data, unreadNotificationCount: Math.max(0, data.unreadNotificationCount - newlyRead) } : data));
  }
}

type Message = ConsoleDiscussionMessageAddedSubscription["discussionMessageAdded"];

/** A discussion's new message joins its log (once: its author has it from the answer and from the socket). */
function applyMessage(cache: Cache, discussionId: string, message: Message): void {
  cache.updateQuery({ query: ConsoleDiscussionLogDocument, variables: { id: discussionId } }, (data) => {
    const log = data?.discussion?.messages;
    if (!data?.discussion || !log || log.edges.some((e) => e.node.id === message.id)) return data;
    const edge = { __typename: "DiscussionMessageEdge" as const, node: message };
    return { ...data, discussion: { ...data.discussion, messages: { ...log, edges: [...log.edges, edge] } } };
  });
}

export function createCacheExchange(viewer: Viewer) {
  return cacheExchange({
    keys,
    updates: {
      Subscription: {
        assignmentEvents: (result, _args, cache) => applyEvent(cache, (result as ConsoleEventsSubscription).assignmentEvents, viewer),
        notificationReceived: (result, _args, cache) => applyNotification(cache, (result as ConsoleNotificationsSubscription).notificationReceived),
        discussionMessageAdded: (result, args, cache) =>
          applyMessage(cache, args.discussionId as string, (result as ConsoleDiscussionMessageAddedSubscription).discussionMessageAdded),
      },
      Mutation: {
        markNotificationsRead: (_result, args, cache) => applyRead(cache, args.ids as string[], new Date().toISOString()),
        postDiscussionMessage: (result, args, cache) =>
          applyMessage(cache, args.discussionId as string, (result as ConsolePostMessageMutation).postDiscussionMessage),
      },
    },
  });
}
