import { received } from "../events/received";
import { BatonError, ErrorCode } from "../errors";
import { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { Notification } from "../modules/notifications/notification.entity";
import type { User } from "../modules/users/user.entity";
import { can } from "../policy/access";
import type { Context } from "./context";
import type { Loaders } from "./loaders";
import type { AssignmentEventMessage, ChatSessionMessage } from "../events/pubsub";
import type { Stored } from "../events/catch-up-feed";

/**
 * Turns a message (possibly JSON from Redis) back into entities and primes the subscriber's
 * loaders, fresh for this event, with the rows as committed: nested fields resolve without
 * queries, never from a stale cache, and a long-lived subscription does not accumulate rows.
 */
/** An event's people, loaded for the first class that resolved it (see receiveAssignmentEvent). */
const peopleOf = new WeakMap<object, Loaders["user"]>();

export function receiveAssignmentEvent(ctx: Context, message: AssignmentEventMessage | Stored<AssignmentEvent>): AssignmentEvent {
  if ("stored" in message) {
    // Read back from the event table (the reader had fallen behind): its rows load as they are now.
    ctx.renewLoaders();
    return message.event;
  }
  const { event, trackingRecord: record, chat, request } = received.assignmentEvent(message);
  const loaders = ctx.renewLoaders();
  // The people an event names are read once per instance, after its commit, for every class
  // that resolves it (in process, every class gets the very message published).
  const people = peopleOf.get(message);
  if (people) loaders.user = people;
  else peopleOf.set(message, loaders.user);
  loaders.trackingRecord.prime(record.id, record);
  loaders.chatSession.prime(chat.id, chat);
  if (request) {
    loaders.request.prime(request.id, request);
    loaders.trackingRecordByRequest.prime(request.id, record);
  }
  return event;
}

export function receiveChatSession(ctx: Context, message: ChatSessionMessage): ChatSession {
  const { chat } = received.chatSession(message);
  ctx.renewLoaders().chatSession.prime(chat.id, chat);
  return chat;
}

export function receiveNotification(ctx: Context, message: Notification): Notification {
  ctx.renewLoaders();
  return received.notification(message);
}

export function chatVisible(viewer: User, message: ChatSessionMessage): boolean {
  const { chat, previousOwnerId } = message;
  if (chat.organizationId !== viewer.organizationId) return false;
  return can(viewer, "chat.follow", { chat, previousOwnerId });
}

/** The error a subscription ends with when its viewer's new role no longer allows it. */
export const roleChanged = (): BatonError => new BatonError(ErrorCode.FORBIDDEN, "Your role changed: you may no longer follow this subscription");

/**
 * A subscription's feed that ends, at once and with FORBIDDEN, when its viewer's role changes so
 * that `allowed` no longer holds (a demoted manager's organization-wide feed). Each message is
 * also checked against the viewer as they are now before it is delivered. graphql-ws turns the
 * thrown error into the operation's `error` message: the client's subscription ends with it.
 */
export function revocable<T>(ctx: Context, source: AsyncIterator<T>, allowed: (viewer: User) => boolean): AsyncIterableIterator<T> {
  (ctx.revocations ??= []).push(allowed);
  const watch = ctx.viewerWatch;
  let revoked: BatonError | null = null;
  let wake: ((error: BatonError) => void) | null = null;
  const revoke = (): BatonError => {
    revoked ??= roleChanged();
    void source.return?.();
    return revoked;
  };
  const stop = watch?.onChange((viewer) => {
    if (revoked || allowed(viewer)) return;
    wake?.(revoke());
  }) ?? (() => {});
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      if (revoked) {
        stop();
        throw revoked;
      }
      const result = await new Promise<IteratorResult<T>>((resolve, reject) => {
        wake = reject;
        source.next().then(resolve, reject);
      }).finally(() => (wake = null));
      if (!result.done && watch && !allowed(watch.current())) {
        stop();
        throw revoke();
      }
      if (result.done) stop();
      return result;
    },
    async return() {
      stop();
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
