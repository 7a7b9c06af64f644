import { revive } from "../db/hydrate";
import { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { Notification } from "../modules/notifications/notification.entity";
import { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import type { User } from "../modules/users/user.entity";
import { can } from "../policy/access";
import type { Context } from "./context";
import type { AssignmentEventMessage, ChatSessionMessage } from "../events/pubsub";

/**
 * Turns a message (possibly JSON from Redis) back into entities and primes the subscriber's
 * loaders, fresh for this event, with the rows as committed: nested fields resolve without
 * queries, never from a stale cache, and a long-lived subscription does not accumulate rows.
 */
export function receiveAssignmentEvent(ctx: Context, message: AssignmentEventMessage): AssignmentEvent {
  const event = revive(AssignmentEvent, message.event);
  const record = revive(EngagementTrackingRecord, message.trackingRecord);
  const chat = revive(ChatSession, message.chat);
  const loaders = ctx.renewLoaders();
  loaders.trackingRecord.prime(record.id, record);
  loaders.chatSession.prime(chat.id, chat);
  if (message.request) {
    const request = revive(AssignmentRequest, message.request);
    loaders.request.prime(request.id, request);
    loaders.trackingRecordByRequest.prime(request.id, record);
  }
  return event;
}

export function receiveChatSession(ctx: Context, message: ChatSessionMessage): ChatSession {
  const chat = revive(ChatSession, message.chat);
  ctx.renewLoaders().chatSession.prime(chat.id, chat);
  return chat;
}

export function receiveNotification(ctx: Context, message: Notification): Notification {
  ctx.renewLoaders();
  return revive(Notification, message);
}

export function chatVisible(viewer: User, message: ChatSessionMessage): boolean {
  const { chat, previousOwnerId } = message;
  if (chat.organizationId !== viewer.organizationId) return false;
  return can(viewer, "chat.follow", { chat, previousOwnerId });
}
