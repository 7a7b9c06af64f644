import { ErrorCode, BatonError } from "../../errors";
import { NotificationType } from "../notifications/notification.entity";
import { AssignmentEventType } from "./assignment-event.entity";
import { RequestStatus } from "./assignment-request.entity";

/** The request's state machine, as data: which status each status may become. */
export const ALLOWED_TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  [RequestStatus.PENDING]: [
    RequestStatus.ACCEPTED,
    RequestStatus.REJECTED,
    RequestStatus.WITHDRAWN,
    RequestStatus.TIMED_OUT,
    RequestStatus.CANCELLED,
  ],
  [RequestStatus.ACCEPTED]: [],
  [RequestStatus.REJECTED]: [],
  [RequestStatus.WITHDRAWN]: [],
  [RequestStatus.TIMED_OUT]: [],
  [RequestStatus.CANCELLED]: [],
};

export type TerminalStatus = Exclude<RequestStatus, RequestStatus.PENDING>;

export const isTerminal = (status: RequestStatus): status is TerminalStatus => ALLOWED_TRANSITIONS[status].length === 0;

export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** Throws the error a caller gets when the request is no longer where the action needs it. */
export function assertTransition(from: RequestStatus, to: RequestStatus): void {
  if (!canTransition(from, to)) {
    throw new BatonError(ErrorCode.REQUEST_NOT_PENDING, `The request is already ${from}`, { status: from });
  }
}

/** Who is told about each outcome, and with which notification type. */
export interface Audience {
  sender: NotificationType | null;
  recipient: NotificationType | null;
}

export const OUTCOMES: Readonly<Record<TerminalStatus, { event: AssignmentEventType; tell: Audience }>> = {
  [RequestStatus.ACCEPTED]: {
    event: AssignmentEventType.ACCEPTED,
    tell: { sender: NotificationType.ASSIGNMENT_ACCEPTED, recipient: null },
  },
  [RequestStatus.REJECTED]: {
    event: AssignmentEventType.REJECTED,
    tell: { sender: NotificationType.ASSIGNMENT_REJECTED, recipient: null },
  },
  [RequestStatus.WITHDRAWN]: {
    event: AssignmentEventType.WITHDRAWN,
    tell: { sender: null, recipient: NotificationType.ASSIGNMENT_WITHDRAWN },
  },
  [RequestStatus.TIMED_OUT]: {
    event: AssignmentEventType.TIMED_OUT,
    tell: { sender: NotificationType.ASSIGNMENT_TIMED_OUT, recipient: NotificationType.ASSIGNMENT_TIMED_OUT },
  },
  [RequestStatus.CANCELLED]: {
    event: AssignmentEventType.CANCELLED,
    tell: { sender: NotificationType.ASSIGNMENT_CANCELLED, recipient: NotificationType.ASSIGNMENT_CANCELLED },
  },
};
