import type { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import type { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import type { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import type { User } from "../modules/users/user.entity";

/**
 * The rows a write returned, complete and as committed: the operation that made the write may
 * answer from them instead of reading them again (its loaders are primed with them).
 */
export interface WrittenRows {
  requests?: readonly AssignmentRequest[];
  records?: readonly EngagementTrackingRecord[];
  chats?: readonly ChatSession[];
  users?: readonly User[];
}

/** Hears the rows a write returned, once it committed. */
export type Answer = (rows: WrittenRows) => void;
