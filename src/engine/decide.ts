import { badInput, BatonError, ErrorCode, notFound } from "../errors";
import { RecipientType, RequestStatus } from "../modules/assignments/assignment-request.entity";
import { ChatStatus } from "../modules/chat-sessions/chat-session.entity";
import { type ChainFacts, FORMER_USER, messageIfKnown, notificationMessage } from "../modules/notifications/messages";
import type { HopPlanRow } from "../repositories/handover.repository";
import type { NotificationType } from "../modules/notifications/notification.entity";
import { DEFAULT_TIMEOUT_SECONDS } from "../modules/settings/assign-discuss-settings.entity";
import { can, chatScope, requireAccess, type Viewer } from "../policy/access";
import { requireId } from "../validation";
import { atCapacity, type Candidate, type ChatMoves, type LoopSettings, loopError, loopProblem, receivingGuard, type ReceivingGuard, requireReceiver } from "./rules";
import { DISCUSS, type KindSpec, LIFECYCLE, type Party, type Transition } from "./lifecycle";

/**
 * Decisions as pure functions: facts, the actor and the time in; a plan or a domain error out.
 * No I/O here. A plan carries the guards it was decided on, as data, into the statement that
 * carries it out (the repository puts them in the write's WHERE): when a guard no longer holds
 * the write applies nothing, and the engine reads the facts and decides again.
 */

/** At most this many fallback recipients per request. */
export const MAX_FALLBACKS = 5;

/** What opening a request was asked, checked for form. */
export interface OpenAsk {
  chatId: string;
  recipientId: string;
  recipientType: RecipientType;
  note: string | null;
  /** ASSIGN only: who to try next, in order, if the recipient lets the request time out. */
  fallbackIds: string[];
  /** ASSIGN only: a manager hands the chat over against the loop rule (recorded on the tracking record). */
  override: boolean;
}

/** What opening a request decides on, as read (see HandoverRepository.findOpening). */
export interface OpenFacts {
  chat: { id: string; organizationId: string; ownerId: string; status: ChatStatus };
  recipient: (Candidate & { name: string }) | null;
  /** The organization refuses requests to AWAY users. */
  requireAvailableRecipient: boolean;
  /** With enforceCapacity, the organization's defaultMaxOpenChats (the recipient's open chats and limit are on `recipient`); null: not enforced. */
  capacityDefault: number | null;
  /** The chat's pending request of the kind being opened. */
  pending: { id: string; expiresAt: Date } | null;
  /** The deadline the organization gives this kind (its setting, or the default). */
  timeoutSeconds: number;
  /** The fallbacks named, as found in the organization (absent: no such user). */
  fallbacks: ReadonlyMap<string, Candidate>;
  /** The loop rule's facts of the chat and the organization's loop settings. */
  moves: ChatMoves;
  loop: LoopSettings;
}

/** The ids a new request takes (drawn by the caller, so that a decision stays a function). */
export interface NewIds {
  requestId: string;
  recordId: string;
}

/** A notification a plan sends, to one party of the request. */
export interface Told {
  party: Party;
  type: NotificationType;
  message: string;
}

/** Opening a request: what to write and what must still hold when it is written. */
export interface OpenPlan {
  kind: KindSpec;
  ids: NewIds;
  organizationId: string;
  senderId: string;
  ask: OpenAsk;
  now: Date;
  /** The deadline's length, or null: as the organization's setting stands at the write. */
  timeoutSeconds: number | null;
  guards: {
    /** The chat must be OPEN and, when set, still owned by this user. */
    chatOwnerId: string | null;
    recipient: ReceivingGuard;
    /**
     * The loop rule (a handover, not a discussion): "enforce", the write applies nothing if it
     * refuses; "override", the write goes ahead and records the rule it broke; "off".
     */
    loop: LoopGuard;
  };
  told: Told[];
}

export type LoopGuard = "enforce" | "override" | "off";

export type OpenDecision = { do: "open"; plan: OpenPlan } | { do: "expire"; pendingId: string };

/** Checks the form of an open's input (ids, note, fallbacks); throws BAD_USER_INPUT. */
export function openAsk(
  kind: KindSpec,
  input: {
    chatSessionId: string;
    recipientId: string;
    recipientType: RecipientType;
    note?: string | null;
    fallbackRecipientIds?: readonly string[] | null;
    override?: boolean | null;
  },
  note: string | null,
): OpenAsk {
  const chatId = requireId(input.chatSessionId, "chatSessionId");
  const recipientId = requireId(input.recipientId, "recipientId");
  const fallbackIds = kind === DISCUSS ? [] : requireFallbackIds(input.fallbackRecipientIds, recipientId);
  return { chatId, recipientId, recipientType: input.recipientType, note, fallbackIds, override: kind !== DISCUSS && input.override === true };
}

/** How the loop rule guards this open: off for a discussion; an override, only by whom the policy lets (else FORBIDDEN). */
function loopGuard(viewer: Viewer, kind: KindSpec, ask: OpenAsk): LoopGuard {
  if (kind.onAccept !== "moveChat") return "off";
  if (!ask.override) return "enforce";
  requireAccess(viewer, "handover.override");
  return "override";
}

/**
 * Opening decided before anything is read, for the common case: the viewer's chats as the policy
 * scopes them (chatScope), the recipient as the receiving rule guards any row, the deadline and
 * the AWAY rule as the organization's settings stand at the write. A request with fallbacks is
 * not assumed (each fallback is checked against the chat's owner): null, read first.
 */
export function assumeOpen(viewer: Viewer & { name: string }, kind: KindSpec, ask: OpenAsk, ids: NewIds, now: Date): OpenPlan | null {
  if (ask.fallbackIds.length > 0) return null;
  loopGuard(viewer, kind, ask);
  return openPlan(viewer, kind, ask, ids, now, { timeoutSeconds: null, chatOwnerId: chatScope(viewer, "chat.assign").ownerId ?? null, awayRefused: "setting" });
}

/** The plan of an open, on what was decided (read) or left to the write (null, "setting"). */
function openPlan(
  viewer: Viewer & { name: string },
  kind: KindSpec,
  ask: OpenAsk,
  ids: NewIds,
  now: Date,
  on: { timeoutSeconds: number | null; chatOwnerId: string | null; awayRefused: boolean | "setting" },
): OpenPlan {
  return {
    kind,
    ids,
    organizationId: viewer.organizationId,
    senderId: viewer.id,
    ask,
    now,
    timeoutSeconds: on.timeoutSeconds,
    guards: {
      chatOwnerId: on.chatOwnerId,
      recipient: receivingGuard(ask.recipientType, viewer.id, on.awayRefused, kind.onAccept === "moveChat"),
      loop: loopGuard(viewer, kind, ask),
    },
    // The recipient is told, in words that name only the sender.
    told: tell(LIFECYCLE.open, kind, { senderName: viewer.name, recipientName: null }, viewer, null),
  };
}

/**
 * Opening decided on the facts: the chat exists for the viewer and is open, the policy lets the
 * viewer assign it, the recipient and every fallback can receive, no request of the kind is
 * pending (one past its deadline times out first: "expire", then decide again).
 */
export function decideOpen(viewer: Viewer & { name: string }, kind: KindSpec, ask: OpenAsk, facts: OpenFacts | null, ids: NewIds, now: Date): OpenDecision {
  if (!facts) throw notFound("Chat session");
  const { chat } = facts;
  requireAssignable(viewer, chat);
  const receiving = { type: ask.recipientType, ownerId: chat.ownerId, senderId: viewer.id };
  // Capacity is weighed for a handover (a discussion hands nothing over), when the organization enforces it.
  const capacityDefault = kind.onAccept === "moveChat" ? facts.capacityDefault : null;
  requireReceiver(facts.recipient, { as: "recipient", ...receiving, awayRefused: facts.requireAvailableRecipient, capacityDefault }, "recipientId");
  // The loop rule, unless a manager overrides it (the write records what was overridden).
  if (loopGuard(viewer, kind, ask) === "enforce") {
    const loop = loopProblem(facts.moves, chat.ownerId, ask.recipientId, facts.loop, now);
    if (loop) throw loopError(loop, facts.loop, now);
  }
  // A fallback's availability is weighed when its turn comes (it may be back by then).
  for (const id of ask.fallbackIds) {
    requireReceiver(facts.fallbacks.get(id) ?? null, { as: "fallback", ...receiving, awayRefused: false }, "fallbackRecipientIds", { id });
  }
  if (facts.pending) {
    if (now < facts.pending.expiresAt) throw alreadyPending(kind, facts.pending.id);
    // Its deadline passed without a scheduler acting: it times out first (its chain may move on).
    return { do: "expire", pendingId: facts.pending.id };
  }
  return {
    do: "open",
    plan: openPlan(viewer, kind, ask, ids, now, { timeoutSeconds: facts.timeoutSeconds, chatOwnerId: chat.ownerId, awayRefused: facts.requireAvailableRecipient }),
  };
}

/**
 * A chat the viewer may hand over now: it exists for the viewer (another organization's is
 * NOT_FOUND, as one that does not exist), is open (CHAT_CLOSED), and the policy lets the viewer
 * assign it (FORBIDDEN). Opening a request and suggesting its recipient ask the same.
 */
export function requireAssignable(viewer: Viewer, chat: { organizationId: string; ownerId: string; status: ChatStatus } | null): void {
  if (!chat || chat.organizationId !== viewer.organizationId) throw notFound("Chat session");
  if (chat.status === ChatStatus.CLOSED) throw new BatonError(ErrorCode.CHAT_CLOSED, "The chat session is closed");
  requireAccess(viewer, "chat.assign", chat);
}

/**
 * Accepting a handover with capacity enforced (`capacityDefault` not null): one more chat must
 * stay within the recipient's limit, else RECIPIENT_AT_CAPACITY. The rule is rules.ts `atCapacity`.
 */
export function requireRoom(c: { openChats: number; maxOpenChats: number | null; capacityDefault: number | null }): void {
  const full = c.capacityDefault === null ? null : atCapacity(c.openChats, c.maxOpenChats, c.capacityDefault);
  if (full) {
    throw new BatonError(ErrorCode.RECIPIENT_AT_CAPACITY, `You already hold ${full.open} of ${full.limit} open chats`, { openChats: full.open, limit: full.limit });
  }
}

/** What an action on a request decides on: the request as read (null: none of the organization's). */
export interface ActFacts {
  organizationId: string;
  senderId: string;
  recipientId: string;
  status: RequestStatus;
  expiresAt: Date;
}

/** A person's action on a request: carry it out, or (past the deadline) time the request out first and fail REQUEST_EXPIRED. */
export type ActDecision = { do: "settle" } | { do: "expire" };

/**
 * Accept, reject or withdraw, decided on the request as read: it exists for the viewer (the
 * policy's request.see: else NOT_FOUND, as for another organization's), the policy lets the
 * viewer take this action (FORBIDDEN), it is still pending (REQUEST_NOT_PENDING), and it is
 * before the deadline; past it the deadline wins: "expire".
 */
export function decideAct(viewer: Viewer, transition: Transition, request: ActFacts | null, now: Date): ActDecision {
  if (!request || request.organizationId !== viewer.organizationId || !can(viewer, "request.see", request)) throw notFound("Assignment request");
  if (transition.by !== "deadline" && transition.by !== "system") requireAccess(viewer, transition.by, request);
  requirePending(request, transition);
  if (transition.window === "beforeDeadline" && now >= request.expiresAt) return { do: "expire" };
  return { do: "settle" };
}

export function requirePending(request: { status: RequestStatus }, transition: Transition): void {
  if (request.status !== transition.from) {
    throw new BatonError(ErrorCode.REQUEST_NOT_PENDING, `The request is already ${request.status}`, { status: request.status });
  }
}

export const requestExpired = (expiresAt: Date): BatonError =>
  new BatonError(ErrorCode.REQUEST_EXPIRED, "The request expired before this action", {
    status: RequestStatus.TIMED_OUT,
    expiresAt: expiresAt.toISOString(),
  });

/** The deadline a kind's request gets in an organization: its setting, else the default. */
export function timeoutFor(kind: KindSpec, settings: { assignRequestTimeoutSeconds: number; discussRequestTimeoutSeconds: number } | null): number {
  return settings?.[kind.timeoutSetting] ?? DEFAULT_TIMEOUT_SECONDS;
}

/** The notifications of a transition on one request: each party it tells, in the kind's words (the write skips the actor). */
export function tell(
  transition: Transition,
  kind: KindSpec,
  names: { senderName: string | null; recipientName: string | null },
  actor: { name: string } | null,
  reason: string | null,
): Told[] {
  const type: NotificationType = kind.notifications[transition.action];
  return transition.tell.map((party) => ({
    party,
    type,
    message: notificationMessage(type, {
      senderName: names.senderName ?? FORMER_USER,
      recipientName: names.recipientName ?? FORMER_USER,
      actorName: actor?.name ?? null,
      reason,
      reader: party,
    }),
  }));
}

/**
 * `tell` before the request is read, knowing only the viewer's part in it (`scope`, the policy's
 * filter the write applies): the parties but the viewer (nobody is told of their own act), or
 * null when a message needs a name not known yet (a manager's withdrawal tells the sender the
 * recipient's name): the action then reads first.
 */
export function tellKnowing(
  transition: Transition,
  kind: KindSpec,
  scope: { senderId?: string; recipientId?: string },
  viewer: { id: string; name: string },
  reason: string | null,
): Told[] | null {
  const type: NotificationType = kind.notifications[transition.action];
  const told: Told[] = [];
  for (const party of transition.tell) {
    if ((party === "sender" ? scope.senderId : scope.recipientId) === viewer.id) continue;
    const message = messageIfKnown(type, {
      senderName: scope.senderId === viewer.id ? viewer.name : undefined,
      recipientName: scope.recipientId === viewer.id ? viewer.name : undefined,
      actorName: viewer.name,
      reason,
      reader: party,
    });
    if (message === null) return null;
    told.push({ party, type, message });
  }
  return told;
}

export const alreadyPending = (kind: KindSpec, requestId: string | null): BatonError =>
  new BatonError(
    ErrorCode.ASSIGNMENT_ALREADY_PENDING,
    kind === DISCUSS ? "This chat already has a pending discuss request" : "This chat already has a pending assignment request",
    requestId ? { requestId } : {},
  );

/** `fallbackRecipientIds` as given: well-formed, distinct, not the recipient, at most MAX_FALLBACKS. */
export function requireFallbackIds(given: readonly string[] | null | undefined, recipientId: string): string[] {
  const field = "fallbackRecipientIds";
  if (!given || given.length === 0) return [];
  if (given.length > MAX_FALLBACKS) throw badInput(`${field} takes at most ${MAX_FALLBACKS} users`, field);
  const ids: string[] = [];
  for (const raw of given) {
    let id: string;
    try {
      id = requireId(raw, field);
    } catch {
      throw badInput(`${field} holds a malformed id`, field, { id: String(raw) });
    }
    if (id === recipientId) throw badInput(`${field} repeats the recipient`, field, { id });
    if (ids.includes(id)) throw badInput(`${field} names a user twice`, field, { id });
    ids.push(id);
  }
  return ids;
}

/** What ended a hop of a chain: its deadline, a rejection (with fallbackOnReject), or the recipient going away. */
export type HopCause = "timeout" | "reject" | "away";

/** What a settling request's chain does next: a hop to `next`, or (next null) the chain ends with nobody. */
export interface HopPlan {
  next: { id: string; name: string; rest: string[]; recipientType: RecipientType; lastResort: boolean } | null;
  timeoutSeconds: number;
  tried: ChainFacts["tried"];
}

/**
 * A chain's next step from its plan row (who may receive it was decided by the row's query, with
 * the receiving rule's guard): the first fallback who can take it, else the best manager (online
 * first), else the end. Everyone tried is named (a deleted user as FORMER_USER), each with how
 * their hop ended: the last one by `cause`.
 */
export function decideHop(row: HopPlanRow, cause: HopCause, online: ReadonlySet<string>): HopPlan {
  const tried: ChainFacts["tried"] = row.triedNames.map((name, i) => {
    const status = row.triedStatuses[i];
    const last = i === row.triedNames.length - 1;
    return { name: name ?? FORMER_USER, outcome: last ? cause : status === RequestStatus.REJECTED ? "reject" : "timeout" };
  });
  const timeoutSeconds = row.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (row.next) {
    const rest = row.fallbacks.slice(row.next.position);
    return { next: { id: row.next.id, name: row.next.name, rest, recipientType: row.recipientType, lastResort: false }, timeoutSeconds, tried };
  }
  const manager = row.managers.find((m) => online.has(m.id)) ?? row.managers[0];
  if (manager) return { next: { id: manager.id, name: manager.name, rest: [], recipientType: RecipientType.MANAGER, lastResort: true }, timeoutSeconds, tried };
  return { next: null, timeoutSeconds, tried };
}
