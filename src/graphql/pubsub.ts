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

/** Every topic and its payload. Payloads are JSON-safe: with Redis they cross instances as JSON. */
export type Topics = {
  ASSIGNMENT_EVENT: [AssignmentEventMessage];
  NOTIFICATION: [Notification];
  CHAT_SESSION_UPDATED: [ChatSessionMessage];
};

export type BatonPubSub = PubSub<Topics>;

/** In-process, or through Redis pub/sub so that every instance hears every change. */
export function createBatonPubSub(redis?: { publish: Redis; subscribe: Redis }): BatonPubSub {
  if (!redis) return createPubSub<Topics>();
  return createPubSub<Topics>({
    eventTarget: createRedisEventTarget({ publishClient: redis.publish, subscribeClient: redis.subscribe }),
  });
}
