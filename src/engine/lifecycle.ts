import { AssignmentEventType } from "../modules/assignments/assignment-event.entity";
import { RequestKind, RequestStatus } from "../modules/assignments/assignment-request.entity";
import { NotificationType } from "../modules/notifications/notification.entity";
import { TrackingKind, TrackingStatus } from "../modules/tracking/engagement-tracking-record.entity";
import type { Permission } from "../policy/access";
import type { DeadlineWindow } from "../repositories/handover.repository";

/**
 * The life of a handover request, read top to bottom. Every change to a request is one of these
 * transitions, run by the engine (handover-engine.ts), which checks `from` and `by`, then writes
 * the request, its tracking record (same status), the event, the notifications and the timeout
 * job in one statement, and publishes after commit. Some take more statements in the same
 * transaction: an accept that moves a chat also cancels that chat's other requests and ends its
 * discussions, a time-out or rejection inside a fallback chain opens the next hop, and an answer
 * the first write could not apply is read and decided again.
 *
 *                      accept (recipient)      -> ACCEPTED   (the kind's accept effect: ASSIGN moves the chat)
 *                      reject (recipient)      -> REJECTED
 *   open -> PENDING -- withdraw (sender/manager)-> WITHDRAWN                 (DISCUSS: a discussion opens, ACTIVE -> ENDED)
 *                      timeOut (the deadline)  -> TIMED_OUT
 *                      cancel (the system: chat closed or moved, user deactivated) -> CANCELLED
 *
 * Rules every transition keeps:
 * - Only a PENDING request moves; any other status answers REQUEST_NOT_PENDING.
 * - A person's action on a request past its deadline commits the time-out first and then fails
 *   with REQUEST_EXPIRED: the deadline wins even when no scheduler got there yet.
 * - Nobody is told of what they did themselves (the actor is skipped in `tell`).
 */
export type Action = "open" | "accept" | "reject" | "withdraw" | "timeOut" | "cancel";
export type Party = "sender" | "recipient";

export interface Transition {
  action: Action;
  /** null: the request does not exist yet. */
  from: RequestStatus | null;
  to: RequestStatus;
  /** Who may take it: a permission of the policy (src/policy/access.ts), or the system. */
  by: Permission | "deadline" | "system";
  /** Whether the actor must give a reason (1..500 characters). */
  reasonRequired: boolean;
  event: AssignmentEventType;
  /** Who hears of it (each with the kind's notification for this action). */
  tell: readonly Party[];
  /** When it may apply: a person acts before the deadline, the deadline after it. */
  window: DeadlineWindow;
}

export const LIFECYCLE: Readonly<Record<Action, Transition>> = {
  open: {
    action: "open",
    from: null,
    to: RequestStatus.PENDING,
    by: "chat.assign",
    reasonRequired: false,
    event: AssignmentEventType.CREATED,
    tell: ["recipient"],
    window: "any",
  },
  accept: {
    action: "accept",
    from: RequestStatus.PENDING,
    to: RequestStatus.ACCEPTED,
    by: "request.answer",
    reasonRequired: false,
    event: AssignmentEventType.ACCEPTED,
    tell: ["sender"],
    window: "beforeDeadline",
  },
  reject: {
    action: "reject",
    from: RequestStatus.PENDING,
    to: RequestStatus.REJECTED,
    by: "request.answer",
    reasonRequired: true,
    event: AssignmentEventType.REJECTED,
    tell: ["sender"],
    window: "beforeDeadline",
  },
  withdraw: {
    action: "withdraw",
    from: RequestStatus.PENDING,
    to: RequestStatus.WITHDRAWN,
    by: "request.withdraw",
    reasonRequired: true,
    event: AssignmentEventType.WITHDRAWN,
    // The sender hears of it only when a manager withdrew their request (nobody hears of their own act).
    tell: ["recipient", "sender"],
    window: "beforeDeadline",
  },
  timeOut: {
    action: "timeOut",
    from: RequestStatus.PENDING,
    to: RequestStatus.TIMED_OUT,
    by: "deadline",
    reasonRequired: false,
    event: AssignmentEventType.TIMED_OUT,
    tell: ["sender", "recipient"],
    window: "pastDeadline",
  },
  cancel: {
    action: "cancel",
    from: RequestStatus.PENDING,
    to: RequestStatus.CANCELLED,
    by: "system",
    reasonRequired: false,
    event: AssignmentEventType.CANCELLED,
    tell: ["sender", "recipient"],
    window: "any",
  },
};

/**
 * A kind of request: what differs between kinds with the same life. A kind is one entry of
 * KINDS, with its tracking kind, its notifications, its deadline setting and what its accept
 * does; the engine's core stays as it is.
 */
export interface KindSpec {
  name: RequestKind;
  trackingKind: TrackingKind;
  /** The notification each action sends. */
  notifications: Readonly<Record<Action, NotificationType>>;
  /** Which organization setting gives the deadline of a new request. */
  timeoutSetting: "assignRequestTimeoutSeconds" | "discussRequestTimeoutSeconds";
  /**
   * What accepting does beyond settling the request: ASSIGN gives the chat to the recipient (and
   * so ends whatever else was going on about the chat: its other pending request is cancelled,
   * its discussions end); DISCUSS opens a discussion between sender and recipient.
   */
  onAccept: "moveChat" | "startDiscussion";
}

export const ASSIGN: KindSpec = {
  name: RequestKind.ASSIGN,
  trackingKind: TrackingKind.ASSIGN_REQUEST,
  notifications: {
    open: NotificationType.ASSIGNMENT_REQUESTED,
    accept: NotificationType.ASSIGNMENT_ACCEPTED,
    reject: NotificationType.ASSIGNMENT_REJECTED,
    withdraw: NotificationType.ASSIGNMENT_WITHDRAWN,
    timeOut: NotificationType.ASSIGNMENT_TIMED_OUT,
    cancel: NotificationType.ASSIGNMENT_CANCELLED,
  },
  timeoutSetting: "assignRequestTimeoutSeconds",
  onAccept: "moveChat",
};

export const DISCUSS: KindSpec = {
  name: RequestKind.DISCUSS,
  trackingKind: TrackingKind.DISCUSS_REQUEST,
  notifications: {
    open: NotificationType.DISCUSSION_REQUESTED,
    accept: NotificationType.DISCUSSION_ACCEPTED,
    reject: NotificationType.DISCUSSION_REJECTED,
    withdraw: NotificationType.DISCUSSION_WITHDRAWN,
    timeOut: NotificationType.DISCUSSION_TIMED_OUT,
    cancel: NotificationType.DISCUSSION_CANCELLED,
  },
  timeoutSetting: "discussRequestTimeoutSeconds",
  onAccept: "startDiscussion",
};

export const KINDS: Readonly<Record<RequestKind, KindSpec>> = { ASSIGN, DISCUSS };

/**
 * The stage after an accepted DISCUSS request: the discussion is ACTIVE until a participant or a
 * manager ends it, or the chat closes or changes hands. Its end sets the tracking record to
 * ENDED, appends a DISCUSSION_ENDED event and tells the participants (not the one who ended it).
 */
export const DISCUSSION_END = {
  recordStatus: TrackingStatus.ENDED,
  event: AssignmentEventType.DISCUSSION_ENDED,
  notification: NotificationType.DISCUSSION_ENDED,
  by: "discussion.end" as Permission,
} as const;

/** Which status each status may become: the table the transitions above imply. */
export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return Object.values(LIFECYCLE).some((t) => t.from === from && t.to === to);
}

export const isTerminal = (status: RequestStatus): boolean => !Object.values(LIFECYCLE).some((t) => t.from === status);
