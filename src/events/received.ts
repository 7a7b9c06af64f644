import { revive } from "../db/hydrate";
import { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { DiscussionMessage } from "../modules/discussions/discussion.entity";
import { Notification } from "../modules/notifications/notification.entity";
import { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import { User } from "../modules/users/user.entity";
import type { AssignmentEventMessage, ChatSessionMessage } from "./pubsub";

/**
 * A published message as its subscriber gets it back: entities again. In process it is the very
 * object published; over Redis it crossed as JSON, its timestamps as strings.
 */
export const received = {
  assignmentEvent: (m: AssignmentEventMessage): AssignmentEventMessage => ({
    event: revive(AssignmentEvent, m.event),
    request: m.request ? revive(AssignmentRequest, m.request) : null,
    trackingRecord: revive(EngagementTrackingRecord, m.trackingRecord),
    chat: revive(ChatSession, m.chat),
  }),
  chatSession: (m: ChatSessionMessage): ChatSessionMessage => ({ ...m, chat: revive(ChatSession, m.chat) }),
  notification: (m: Notification): Notification => revive(Notification, m),
  user: (m: User): User => revive(User, m),
  discussionMessage: (m: DiscussionMessage): DiscussionMessage => revive(DiscussionMessage, m),
};
