import type { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import type { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import type { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import type { User } from "../modules/users/user.entity";
import type { PendingRecord } from "../db/unit-of-work";

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

/**
 * Hears the rows a write returned, once it committed; and carries the record an idempotent
 * mutation owes (`owes`), which the write that commits its effects writes too (issue #23).
 */
export type Answer = ((rows: WrittenRows) => void) & { readonly owes?: PendingRecord | null };

/** The record an answer owes, while it is still owed. */
export const owedBy = (answer: Answer | undefined): PendingRecord | null => (answer?.owes && !answer.owes.recorded ? answer.owes : null);
