import { AssignmentEventType } from "../modules/assignments/assignment-event.entity";
import { RequestStatus } from "../modules/assignments/assignment-request.entity";
import { NotificationType } from "../modules/notifications/notification.entity";
import { TrackingKind } from "../modules/tracking/engagement-tracking-record.entity";
import type { Permission } from "../policy/access";
import type { DeadlineWindow } from "../repositories/handover.repository";

/**
 * The life of a handover request, read top to bottom. Every change to a request is one of these
 * transitions, run by the engine (handover-engine.ts), which checks `from` and `by`, then writes
 * the request, its tracking record (same status), the event, the notifications and the timeout
 * job in one statement, and publishes after commit.
 *
 *                      accept (recipient)      -> ACCEPTED   (the kind's accept effect: ASSIGN moves the chat)
 *                      reject (recipient)      -> REJECTED
 *   open -> PENDING -- withdraw (sender/manager)-> WITHDRAWN
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
 * A kind of request: what differs between kinds with the same life. A new kind (DISCUSS) is one
 * more entry here, with its notifications and its accept effect; the engine's core stays as it is.
 */
export interface RequestKind {
  name: string;
  trackingKind: TrackingKind;
  /** The notification each action sends. */
  notifications: Readonly<Record<Action, NotificationType>>;
  /** What accepting does beyond settling the request. */
  onAccept: "moveChat";
}

export const ASSIGN: RequestKind = {
  name: "ASSIGN",
  trackingKind: TrackingKind.ASSIGN_REQUEST,
  notifications: {
    open: NotificationType.ASSIGNMENT_REQUESTED,
    accept: NotificationType.ASSIGNMENT_ACCEPTED,
    reject: NotificationType.ASSIGNMENT_REJECTED,
    withdraw: NotificationType.ASSIGNMENT_WITHDRAWN,
    timeOut: NotificationType.ASSIGNMENT_TIMED_OUT,
    cancel: NotificationType.ASSIGNMENT_CANCELLED,
  },
  onAccept: "moveChat",
};

/** Which status each status may become: the table the transitions above imply. */
export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return Object.values(LIFECYCLE).some((t) => t.from === from && t.to === to);
}

export const isTerminal = (status: RequestStatus): boolean => !Object.values(LIFECYCLE).some((t) => t.from === status);
