import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { Redis } from "ioredis";
import type { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import type { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import type { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import type { Notification } from "../modules/notifications/notification.entity";
import type { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";

/** An event with the rows it is about, as they were at commit: subscribers resolve it without queries. */
export interface AssignmentEventMessage {
  event: AssignmentEvent;
  request: AssignmentRequest | null;
  trackingRecord: EngagementTrackingRecord;
  chat: ChatSession;
}

export interface ChatSessionMessage {
  chat: ChatSession;
  /** Who owned it before this change, so the one who lost it hears of it too. */
  previousOwnerId: string | null;
}

/**
 * Every topic, keyed by audience (`audience.user(id)` or `audience.organization(id)`), and its
 * payload. A message goes only to the audiences that may see it, so a publish reaches the few
 * subscriptions concerned instead of being filtered by every open one (with Redis, each key is
 * a channel). Payloads are JSON-safe: with Redis they cross instances as JSON.
 */
export type Topics = {
  ASSIGNMENT_EVENT: [audience: string, message: AssignmentEventMessage];
  NOTIFICATION: [audience: string, message: Notification];
  CHAT_SESSION_UPDATED: [audience: string, message: ChatSessionMessage];
  /** A user's account changed (an admin's upsert): their open sockets react (see websocket.ts). */
  USER_CHANGED: [audience: string, message: UserChangedMessage];
};

export interface UserChangedMessage {
  userId: string;
  active: boolean;
}

export type BatonPubSub = PubSub<Topics>;

export const audience = {
  /** One user's own events, notifications and chats. */
  user: (userId: string): string => `user:${userId}`,
  /** Everything in an organization: what managers and admins follow. */
  organization: (organizationId: string): string => `org:${organizationId}`,
};

const usersAndOrganization = (organizationId: string, ...userIds: Array<string | null>): Set<string> =>
  new Set([audience.organization(organizationId), ...userIds.filter((id): id is string => !!id).map(audience.user)]);

/** To the organization (managers following it) and to the two people it is about. */
export function publishAssignmentEvent(pubsub: BatonPubSub, message: AssignmentEventMessage): void {
  const { organizationId, fromUserId, toUserId } = message.event;
  for (const key of usersAndOrganization(organizationId, fromUserId, toUserId)) pubsub.publish("ASSIGNMENT_EVENT", key, message);
}

/** To the organization's managers and to the chat's owner and previous owner. */
export function publishChatSessionUpdated(pubsub: BatonPubSub, message: ChatSessionMessage): void {
  for (const key of usersAndOrganization(message.chat.organizationId, message.chat.ownerId, message.previousOwnerId)) {
    pubsub.publish("CHAT_SESSION_UPDATED", key, message);
  }
}

export function publishUserChanged(pubsub: BatonPubSub, message: UserChangedMessage): void {
  pubsub.publish("USER_CHANGED", audience.user(message.userId), message);
}

export function publishNotification(pubsub: BatonPubSub, notification: Notification): void {
  pubsub.publish("NOTIFICATION", audience.user(notification.userId), notification);
}

/** In-process, or through Redis pub/sub so that every instance hears every change. */
export function createBatonPubSub(redis?: { publish: Redis; subscribe: Redis }): BatonPubSub {
  if (!redis) return createPubSub<Topics>();
  return createPubSub<Topics>({
    eventTarget: createRedisEventTarget({ publishClient: redis.publish, subscribeClient: redis.subscribe }),
  });
}
