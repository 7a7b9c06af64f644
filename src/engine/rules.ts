import { BatonError, ErrorCode } from "../errors";
import { RecipientType } from "../modules/assignments/assignment-request.entity";
import { Availability, UserRole } from "../modules/users/user.entity";

/** What the receiving rule looks at of a person. */
export interface Candidate {
  id: string;
  role: UserRole;
  active: boolean;
  availability: Availability;
  /** Capacity (issue #24), where it is weighed: the chats they own that are OPEN, and their own limit (null: the organization's). */
  openChats?: number;
  maxOpenChats?: number | null;
}

/** The part a person would take: each words its refusals its own way, and checks what applies to it. */
export type ReceivingPart = "recipient" | "fallback" | "bulk target";

export interface Receiving {
  as: ReceivingPart;
  /** The kind of person a request is addressed to (null for a bulk move, which takes anyone). */
  type: RecipientType | null;
  /** The chat's owner, who cannot be sent their own chat (null where it is decided per chat: bulk). */
  ownerId: string | null;
  /** Who sends: a request to oneself makes no sense (a bulk move to oneself does). */
  senderId: string | null;
  /** The organization sends requests to available users only (requireAvailableRecipient). */
  awayRefused: boolean;
  /** With enforceCapacity: the organization's defaultMaxOpenChats, and someone at their limit is refused; absent or null: capacity is not weighed. */
  capacityDefault?: number | null;
}

export type ReceiveProblemCode = "NO_SUCH_USER" | "INACTIVE" | "OWNER" | "SELF" | "NOT_MANAGER" | "NOT_USER" | "AWAY" | "FULL";

export interface ReceiveProblem {
  code: ReceiveProblemCode;
  message: string;
}

/** The roles a request addressed to each kind of person may reach. */
export const RECEIVING_ROLES: Readonly<Record<RecipientType, readonly UserRole[]>> = {
  [RecipientType.USER]: [UserRole.USER],
  [RecipientType.MANAGER]: [UserRole.MANAGER, UserRole.ADMIN],
};

/**
 * The receiving rule as the guard a write carries into its statement's WHERE, for a recipient
 * whose row the decision has not read (or read before the write): the same checks as
 * `receiveProblem`, as data. The chat's owner is always excluded (the statement knows it from the
 * chat row it locks); `awayRefused` "setting" leaves it to the organization's setting as it
 * stands at the write.
 */
export interface ReceivingGuard {
  roles: readonly UserRole[];
  /** Who may not receive besides the chat's owner (the sender). */
  notIds: readonly string[];
  awayRefused: boolean | "setting";
  /** Capacity is weighed (the request would hand the chat over), as the organization's enforceCapacity stands at the write. */
  capacity: boolean;
}

export function receivingGuard(type: RecipientType, senderId: string, awayRefused: boolean | "setting", capacity: boolean): ReceivingGuard {
  return { roles: RECEIVING_ROLES[type], notIds: [senderId], awayRefused, capacity };
}

/**
 * The receiving rule for a fallback chain's hops, as the guard its plan query and the lock of the
 * chosen recipients carry: the roles each kind of person may reach (RECEIVING_ROLES), and never
 * someone AWAY, whatever the organization's setting (a hop goes to someone who can answer now).
 * The chat's owner and the chain's sender are always excluded (the query knows them per request).
 */
export interface HopGuard {
  rolesFor: Readonly<Record<RecipientType, readonly UserRole[]>>;
  awayRefused: boolean;
}

export const HOP_GUARD: HopGuard = { rolesFor: RECEIVING_ROLES, awayRefused: true };

const WHO: Record<ReceivingPart, { who: string; none: string }> = {
  recipient: { who: "The recipient", none: "No such recipient" },
  fallback: { who: "The fallback", none: "No such user" },
  "bulk target": { who: "The target user", none: "No such target user" },
};

/**
 * Who can receive a chat: the one rule for a request's recipient, a fallback named in a chain
 * and a bulk move's target (null: they can). A person of another organization is passed as null,
 * exactly like one who does not exist.
 */
export function receiveProblem(candidate: Candidate | null, r: Receiving): ReceiveProblem | null {
  const { who, none } = WHO[r.as];
  if (!candidate) return { code: "NO_SUCH_USER", message: none };
  if (!candidate.active) return { code: "INACTIVE", message: `${who} is not active` };
  if (r.ownerId !== null && candidate.id === r.ownerId) return { code: "OWNER", message: `${who} already owns this chat` };
  if (r.senderId !== null && candidate.id === r.senderId) return { code: "SELF", message: "You cannot send a request to yourself" };
  if (r.type !== null && !RECEIVING_ROLES[r.type].includes(candidate.role)) {
    return r.type === RecipientType.MANAGER ? { code: "NOT_MANAGER", message: `${who} is not a manager` } : { code: "NOT_USER", message: `${who} is not a user` };
  }
  if (r.awayRefused && candidate.availability === Availability.AWAY) {
    return { code: "AWAY", message: `${who} is away, and this organization sends requests to available users only` };
  }
  if (r.capacityDefault != null && candidate.openChats !== undefined) {
    const full = atCapacity(candidate.openChats, candidate.maxOpenChats ?? null, r.capacityDefault);
    if (full) return { code: "FULL", message: `${who} already holds ${full.open} of ${full.limit} open chats` };
  }
  return null;
}

/**
 * Capacity (issue #24): one more chat would put someone over their limit (their own, else the
 * organization's default; 0: no limit). The guards that carry it into SQL: `capacityWhere`
 * (handover.repository.ts); an accept checks it under the recipient's row lock.
 */
export function atCapacity(open: number, own: number | null, organizationDefault: number): { open: number; limit: number } | null {
  const limit = own ?? organizationDefault;
  return limit > 0 && open >= limit ? { open, limit } : null;
}

/** The candidate, if they can receive; else the domain error `receiveError` makes of the problem, on `field`. */
export function requireReceiver<T extends Candidate>(candidate: T | null, r: Receiving, field: string, details: Record<string, unknown> = {}): T {
  const problem = receiveProblem(candidate, r);
  if (problem || !candidate) throw receiveError(problem!, field, details);
  return candidate;
}

/** A problem as the domain error its caller answers with: AWAY is RECIPIENT_UNAVAILABLE, the rest INVALID_RECIPIENT. */
export function receiveError(problem: ReceiveProblem, field: string, details: Record<string, unknown> = {}): BatonError {
  const code = problem.code === "AWAY" ? ErrorCode.RECIPIENT_UNAVAILABLE : problem.code === "FULL" ? ErrorCode.RECIPIENT_AT_CAPACITY : ErrorCode.INVALID_RECIPIENT;
  return new BatonError(code, problem.message, { field, ...details });
}

/**
 * The loop rule's facts of a chat (issue #24): its last move (an accepted handover or a direct
 * move: which record, who handed it to whom, when) and how many moves it made in the 24 h before
 * now (counted up to the limit). Read by src/repositories/moves.repository.ts.
 */
export interface ChatMoves {
  last: { recordId: string; requestId: string | null; fromUserId: string; toUserId: string; at: Date } | null;
  inDay: number;
}

/** The organization's loop settings: 0 turns each off. */
export interface LoopSettings {
  pingPongMinutes: number;
  maxHandoversPerChatPerDay: number;
}

export type LoopProblem =
  | { code: "LIMIT"; moves: number; limit: number }
  | { code: "LOOP"; userId: string; recordId: string; requestId: string | null; at: Date };

/** The chat moved `maxHandoversPerChatPerDay` times in the last 24 h: it may not move again today, to anyone. */
export function limitReached(moves: ChatMoves, s: LoopSettings): Extract<LoopProblem, { code: "LIMIT" }> | null {
  const limit = s.maxHandoversPerChatPerDay;
  return limit > 0 && moves.inDay >= limit ? { code: "LIMIT", moves: moves.inDay, limit } : null;
}

/**
 * Who a chat may not go back to now: the person who handed it to its current owner, when that
 * was less than `pingPongMinutes` ago (a bounce A -> B -> A). Null: nobody.
 */
export function pingPongTo(moves: ChatMoves, ownerId: string, s: LoopSettings, now: Date): Extract<LoopProblem, { code: "LOOP" }> | null {
  const last = moves.last;
  if (s.pingPongMinutes <= 0 || !last || last.toUserId !== ownerId) return null;
  if (now.getTime() - last.at.getTime() >= s.pingPongMinutes * 60_000) return null;
  return { code: "LOOP", userId: last.fromUserId, recordId: last.recordId, requestId: last.requestId, at: last.at };
}

/**
 * The loop rule: a chat moved `maxHandoversPerChatPerDay` times in the last 24 h may not move
 * again (LIMIT, whoever would take it); one may not send it straight back to who handed it to its
 * owner (LOOP). Null: the handover may go to `recipientId`. Its SQL forms (the guards of the
 * writes): moves.repository.ts `loopRuleSql`, `pingPongSql`.
 */
export function loopProblem(moves: ChatMoves, ownerId: string, recipientId: string, s: LoopSettings, now: Date): LoopProblem | null {
  const limit = limitReached(moves, s);
  if (limit) return limit;
  const back = pingPongTo(moves, ownerId, s, now);
  return back && back.userId === recipientId ? back : null;
}

/** The code a loop problem is refused (or, overridden, recorded) with. */
export const loopCode = (p: LoopProblem): ErrorCode.HANDOVER_LOOP | ErrorCode.HANDOVER_LIMIT_REACHED =>
  p.code === "LOOP" ? ErrorCode.HANDOVER_LOOP : ErrorCode.HANDOVER_LIMIT_REACHED;

/** A loop problem as the domain error: the handover it would undo (LOOP), or the count and limit (LIMIT). */
export function loopError(p: LoopProblem, s: LoopSettings, now: Date): BatonError {
  if (p.code === "LIMIT") {
    return new BatonError(ErrorCode.HANDOVER_LIMIT_REACHED, `This chat was handed over ${p.moves} times in the last 24 hours, the organization's limit`, {
      handovers: p.moves,
      limit: p.limit,
    });
  }
  const minutes = Math.floor((now.getTime() - p.at.getTime()) / 60_000);
  return new BatonError(
    ErrorCode.HANDOVER_LOOP,
    `The recipient handed this chat to its owner ${minutes < 1 ? "moments" : `${minutes} min`} ago: sending it straight back within ${s.pingPongMinutes} min is a loop`,
    { field: "recipientId", trackingRecordId: p.recordId, requestId: p.requestId, handedOverAt: p.at.toISOString() },
  );
}
