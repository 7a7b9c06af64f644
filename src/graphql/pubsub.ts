import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
import type { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import type { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import type { Notification } from "../modules/notifications/notification.entity";

/** Every topic and its payload. Subscribers filter per user; publishers publish after commit. */
export interface Topics {
  [key: string]: [unknown];
  ASSIGNMENT_EVENT: [AssignmentEvent];
  NOTIFICATION: [Notification];
  CHAT_SESSION_UPDATED: [ChatSession];
}

export type BatonPubSub = PubSub<Topics>;

export const createBatonPubSub = (): BatonPubSub => createPubSub<Topics>();
