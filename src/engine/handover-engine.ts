import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { inTransaction, type Tx } from "../db/transaction";
import { BatonError, ErrorCode, notFound } from "../errors";
import { type BatonPubSub, publishAssignmentEvent, publishChatSessionUpdated, publishNotification } from "../events/pubsub";
import { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import { AssignmentRequest, RecipientType, RequestStatus } from "../modules/assignments/assignment-request.entity";
import { ChatSession, ChatStatus } from "../modules/chat-sessions/chat-session.entity";
import { notificationMessage } from "../modules/notifications/messages";
import { Notification, type NotificationType } from "../modules/notifications/notification.entity";
import { DEFAULT_TIMEOUT_SECONDS } from "../modules/settings/assign-discuss-settings.entity";
import { EngagementTrackingRecord, TrackingStatus } from "../modules/tracking/engagement-tracking-record.entity";
import { type User, UserRole } from "../modules/users/user.entity";
import { can, requestScope, type RequestScope, requireAccess } from "../policy/access";
import {
  HandoverRepository,
  type JobTable,
  type OpeningState,
  type PartyNotification,
  type RequestState,
  type SettleTarget,
} from "../repositories/handover.repository";
import { isUniqueViolation, poolSql, type Sql, txSql } from "../db/sql";
import { optionalText, requireId, requireReason } from "../validation";
import { type Action, ASSIGN, LIFECYCLE, type Party, type RequestKind, type Transition } from "./lifecycle";

export interface OpenRequestInput {
  chatSessionId: string;
  recipientType: RecipientType;
  recipientId: string;
  note?: string | null;
}

/**
 * Where timeout jobs live. With Agenda's Postgres backend they are rows of Baton's database: the
 * engine writes and removes them in the transition's own statement (`table`). Otherwise the
 * scheduler is told after commit.
 */
export interface DeadlineJobs {
  table: JobTable | null;
  opened(request: AssignmentRequest): void | Promise<void>;
  settled(requestIds: string[]): void | Promise<void>;
}

const noJobs: DeadlineJobs = { table: null, opened: () => {}, settled: () => {} };

/** A write that lost a race (the row changed between read and write) reads again, this many times. */
const ATTEMPTS = 5;

/**
 * The handover engine: every change to a request goes through here, for every transport and
 * trigger (GraphQL mutations, the deadline scheduler, a chat closed or moved, a user
 * deactivated). The life itself is data (lifecycle.ts), who may act is the policy
 * (policy/access.ts), the SQL is the repository's (handover.repository.ts).
 *
 * How a person's action runs: read the request (one statement, no lock), decide (status,
 * policy, deadline), then write the transition with all its effects as one statement that
 * re-checks, on the row as it is then, what the decision relied on. That statement is its own
 * transaction. If another transaction changed the row in between, the write applies nothing and
 * the action decides again on a fresh read. Two round trips per action; nothing is published
 * before its commit.
 */
export class HandoverEngine {
  jobs: DeadlineJobs = noJobs;
  private readonly repo = new HandoverRepository();
  /** Statements on the pool: each one its own transaction. */
  private readonly db: Sql;

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    private readonly clock: () => Date = () => new Date(),
    /** An after-commit effect failed: told to someone (services log it, sockets catch up). */
    private readonly onEffectError: (err: unknown) => void = () => {},
  ) {
    this.db = poolSql(dataSource);
  }

  // ---- The GraphQL operations, by name ----

  assignChat(viewer: User, input: OpenRequestInput): Promise<AssignmentRequest> {
    return this.open(viewer, ASSIGN, input);
  }
  acceptAssignment(viewer: User, requestId: string): Promise<AssignmentRequest> {
    return this.act(viewer, "accept", requestId, null);
  }
  rejectAssignment(viewer: User, requestId: string, reason: string): Promise<AssignmentRequest> {
    return this.act(viewer, "reject", requestId, reason);
  }
  withdrawAssignment(viewer: User, requestId: string, reason: string): Promise<AssignmentRequest> {
    return this.act(viewer, "withdraw", requestId, reason);
  }

  /** A request exists for the viewer only if the policy lets them see it; otherwise NOT_FOUND. */
  async findVisible(viewer: User, requestId: string): Promise<AssignmentRequest> {
    const state = await this.repo.find(this.db, viewer.organizationId, requireId(requestId, "requestId"));
    if (!state || !can(viewer, "request.see", state.request)) throw notFound("Assignment request");
    return state.request;
  }

  // ---- Transitions ----

  /** `open`: a new PENDING request of `kind` for a chat. */
  async open(viewer: User, kind: RequestKind, input: OpenRequestInput): Promise<AssignmentRequest> {
    const chatId = requireId(input.chatSessionId, "chatSessionId");
    const recipientId = requireId(input.recipientId, "recipientId");
    const note = optionalText(input.note, "note", 1000);
    const transition = LIFECYCLE.open;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const state = await this.repo.findOpening(this.db, viewer.organizationId, chatId, recipientId);
      if (!state) throw notFound("Chat session");
      const { chat } = state;
      if (chat.status === ChatStatus.CLOSED) throw new BatonError(ErrorCode.CHAT_CLOSED, "The chat session is closed");
      requireAccess(viewer, "chat.assign", chat);
      const recipient = checkRecipient(state, input.recipientType, viewer);
      const now = this.clock();
      if (state.pending) {
        if (now < state.pending.expiresAt) {
          throw new BatonError(ErrorCode.ASSIGNMENT_ALREADY_PENDING, "This chat already has a pending assignment request", {
            requestId: state.pending.id,
          });
        }
        // The old request's deadline passed without a scheduler acting: it times out first.
        const stale = await this.repo.find(this.db, viewer.organizationId, state.pending.id);
        if (stale) await this.settleStates(this.db, [stale], LIFECYCLE.timeOut, null, null, now);
        continue;
      }

      const timeoutSeconds = state.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
      const request = Object.assign(new AssignmentRequest(), {
        id: randomUUID(),
        organizationId: viewer.organizationId,
        chatSessionId: chat.id,
        senderId: viewer.id,
        recipientId: recipient.id,
        recipientType: input.recipientType,
        status: RequestStatus.PENDING,
        note,
        reason: null,
        timeoutSeconds,
        createdAt: now,
        expiresAt: new Date(now.getTime() + timeoutSeconds * 1000),
        respondedAt: null,
        respondedById: null,
      } satisfies AssignmentRequest);
      const record = Object.assign(new EngagementTrackingRecord(), {
        id: randomUUID(),
        organizationId: viewer.organizationId,
        kind: kind.trackingKind,
        status: TrackingStatus.PENDING,
        chatSessionId: chat.id,
        requestId: request.id,
        bulkOperationId: null,
        initiatedById: viewer.id,
        fromUserId: chat.ownerId,
        toUserId: recipient.id,
        respondedById: null,
        recipientType: input.recipientType,
        note,
        reason: null,
        requestedAt: now,
        respondedAt: null,
        expiresAt: request.expiresAt,
        timeoutSeconds,
        responseSeconds: null,
        createdAt: now,
        updatedAt: now,
      } satisfies EngagementTrackingRecord);
      const told = this.tell(transition, kind, request.id, { senderName: viewer.name, recipientName: recipient.name }, viewer, null);

      let opened: { sequence: string; notifications: Notification[] } | null;
      try {
        opened = await this.repo.open(this.db, {
          request,
          recordId: record.id,
          trackingKind: kind.trackingKind,
          ownerId: chat.ownerId,
          notifications: told,
          eventType: transition.event,
          jobs: this.jobs.table,
        });
      } catch (err) {
        // Another request for this chat committed first (the partial unique index on pending ones).
        if (isUniqueViolation(err)) {
          throw new BatonError(ErrorCode.ASSIGNMENT_ALREADY_PENDING, "This chat already has a pending assignment request");
        }
        throw err;
      }
      if (opened === null) continue; // the chat changed hands or closed since it was read: decide again
      const { sequence, notifications } = opened;
      await this.afterCommit(() => {
        for (const n of notifications) publishNotification(this.pubsub, n);
        this.publishEvent(transition, sequence, request, record, chat, viewer.id, now);
        return this.jobs.opened(request);
      });
      return request;
    }
    throw new Error("the chat kept changing while a request was being opened");
  }

  /**
   * A person's action on a request: accept, reject or withdraw.
   *
   * First the one-statement path: when the policy lets the viewer act on every request where
   * they hold a given part (the recipient answers, a sender withdraws), the write itself checks
   * that part, the status and the deadline, and does everything in one round trip. If it applies
   * nothing (not theirs, not pending, past the deadline, no such request), the action reads the
   * request and decides, which gives the precise error, or commits the time-out first.
   */
  async act(viewer: User, action: "accept" | "reject" | "withdraw", requestId: string, reason: string | null): Promise<AssignmentRequest> {
    const transition = LIFECYCLE[action];
    const id = requireId(requestId, "requestId");
    const given = transition.reasonRequired ? requireReason(reason ?? "") : null;
    const scope = transition.by === "deadline" || transition.by === "system" ? null : requestScope(viewer, transition.by);
    const told = scope ? this.tellWithout(transition, ASSIGN, id, scope, viewer, given) : null;
    if (scope && told) {
      const target = { requestIds: [id], organizationId: viewer.organizationId, ...scope };
      const [settled] = await this.write(this.db, target, transition, ASSIGN, viewer, given, this.clock(), told);
      if (settled) return settled;
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const state = await this.repo.find(this.db, viewer.organizationId, id);
      if (!state) throw notFound("Assignment request");
      requireAccess(viewer, "request.see", state.request);
      if (transition.by !== "deadline" && transition.by !== "system") requireAccess(viewer, transition.by, state.request);
      requirePending(state.request, transition);
      const now = this.clock();
      if (now >= state.request.expiresAt) {
        // The deadline wins: the time-out is committed, and the action fails with REQUEST_EXPIRED.
        const [expired] = await this.settleStates(this.db, [state], LIFECYCLE.timeOut, null, null, now);
        if (!expired) continue; // someone settled it meanwhile: decide again
        throw new BatonError(ErrorCode.REQUEST_EXPIRED, "The request expired before this action", {
          status: RequestStatus.TIMED_OUT,
          expiresAt: state.request.expiresAt.toISOString(),
        });
      }
      const [settled] = await this.settleStates(this.db, [state], transition, viewer, given, now);
      if (settled) return settled;
    }
    throw new Error("the request kept changing while it was being answered");
  }

  /**
   * The deadline: times out, in one transaction, up to `limit` pending requests past their
   * deadline (oldest first) and returns their ids. Requests another transaction holds (an accept
   * in flight, another instance's batch) are skipped, not waited for: whoever holds one settles
   * it, or the next batch or the sweeper finds it still due.
   */
  async timeOutDue(dataSource: DataSource = this.dataSource, limit = 500): Promise<string[]> {
    return inTransaction(
      dataSource,
      async (tx) => {
        const now = this.clock();
        const sql = txSql(tx.manager);
        const due = await this.repo.lockDue(sql, now, limit);
        const settled = await this.settleStates(sql, due, LIFECYCLE.timeOut, null, null, now, tx.afterCommit);
        lockedOrFail(due, settled);
        return settled.map((r) => r.id);
      },
      this.onEffectError,
    );
  }

  /** `cancel`, in the caller's transaction: the pending requests of these chats (closed, or moved by a bulk assignment). */
  async cancelPendingForChats(tx: Tx, chatIds: string[], actor: User | null, reason: string, now: Date): Promise<number> {
    const sql = txSql(tx.manager);
    const pending = await this.repo.lockPendingForChats(sql, chatIds);
    lockedOrFail(pending, await this.settleStates(sql, pending, LIFECYCLE.cancel, actor, reason, now, tx.afterCommit));
    return pending.length;
  }

  /** `cancel`, in the caller's transaction: the pending requests a deactivated user sent or received. */
  async cancelPendingForUser(tx: Tx, userId: string, actor: User | null, reason: string, now: Date): Promise<number> {
    const sql = txSql(tx.manager);
    const pending = await this.repo.lockPendingForUser(sql, userId);
    lockedOrFail(pending, await this.settleStates(sql, pending, LIFECYCLE.cancel, actor, reason, now, tx.afterCommit));
    return pending.length;
  }

  // ---- The one write path of every settling transition ----

  /** `write` for requests already read (and, in a transaction, locked): their names word the notifications. */
  private settleStates(
    sql: Sql,
    states: RequestState[],
    transition: Transition,
    actor: User | null,
    reason: string | null,
    now: Date,
    later?: (effect: () => void | Promise<void>) => void,
  ): Promise<AssignmentRequest[]> {
    const kind = ASSIGN;
    const told = states.flatMap((s) => this.tell(transition, kind, s.request.id, { senderName: s.senderName, recipientName: s.recipientName }, actor, reason));
    const target = { requestIds: states.map((s) => s.request.id), organizationId: null };
    return this.write(sql, target, transition, kind, actor, reason, now, told, later);
  }

  /**
   * Writes `transition` for the requests of `target` with all its effects, in one statement, and
   * publishes what was committed: at once when `sql` is the pool (the statement committed on its
   * own), through `later` when it is a caller's transaction. Returns the requests it settled:
   * fewer than targeted when others changed first or a row is outside the target.
   */
  private async write(
    sql: Sql,
    target: SettleTarget,
    transition: Transition,
    kind: RequestKind,
    actor: User | null,
    reason: string | null,
    now: Date,
    told: PartyNotification[],
    later?: (effect: () => void | Promise<void>) => void,
  ): Promise<AssignmentRequest[]> {
    if (target.requestIds.length === 0) return [];
    const moveChat = transition.action === "accept" && kind.onAccept === "moveChat";
    if (moveChat && target.requestIds.length !== 1) throw new Error("accept settles one request at a time");
    const settled = await this.repo.settle(sql, {
      target,
      to: transition.to,
      reason,
      now,
      actorId: actor?.id ?? null,
      window: transition.window,
      moveChat,
      notifications: told,
      eventType: transition.event,
      jobs: this.jobs.table,
    });
    const effect = () => {
      for (const s of settled) {
        for (const n of s.notifications) publishNotification(this.pubsub, n);
        if (moveChat) publishChatSessionUpdated(this.pubsub, { chat: s.chat, previousOwnerId: s.previousOwnerId });
        this.publishEvent(transition, s.sequence, s.request, s.record, s.chat, actor?.id ?? null, now);
      }
      if (settled.length > 0) return this.jobs.settled(settled.map((s) => s.request.id));
    };
    if (later) later(effect);
    else await this.afterCommit(effect);
    return settled.map((s) => s.request);
  }

  /** The notifications of a transition on one request: each party it tells, in the kind's words (the write skips the actor). */
  private tell(
    transition: Transition,
    kind: RequestKind,
    requestId: string,
    names: { senderName: string | null; recipientName: string | null },
    actor: User | null,
    reason: string | null,
  ): PartyNotification[] {
    const type: NotificationType = kind.notifications[transition.action];
    return transition.tell.map((party) => ({
      requestId,
      party,
      type,
      message: notificationMessage(type, {
        senderName: names.senderName ?? "A former user",
        recipientName: names.recipientName ?? "A former user",
        actorName: actor?.name ?? null,
        reason,
        reader: party,
      }),
    }));
  }

  /**
   * `tell` before the request is read, knowing only the viewer's own part in it (`scope`): null
   * when a message would need a name not known yet (a manager's withdrawal tells the sender the
   * recipient's name), and the action then takes the read-first path.
   */
  private tellWithout(
    transition: Transition,
    kind: RequestKind,
    requestId: string,
    scope: RequestScope,
    viewer: User,
    reason: string | null,
  ): PartyNotification[] | null {
    const unknown = "\u0000";
    const told = this.tell(
      transition,
      kind,
      requestId,
      { senderName: scope.senderId === viewer.id ? viewer.name : unknown, recipientName: scope.recipientId === viewer.id ? viewer.name : unknown },
      viewer,
      reason,
    );
    // The viewer is not told of their own act: their message may be unknowable, it is never sent.
    const mine = (party: Party) => (party === "sender" ? scope.senderId : scope.recipientId) === viewer.id;
    const sent = told.filter((n) => !mine(n.party));
    return sent.some((n) => n.message.includes(unknown)) ? null : sent;
  }

  private publishEvent(
    transition: Transition,
    sequence: string,
    request: AssignmentRequest,
    trackingRecord: EngagementTrackingRecord,
    chat: ChatSession,
    actorId: string | null,
    now: Date,
  ): void {
    const event = Object.assign(new AssignmentEvent(), {
      sequence,
      organizationId: request.organizationId,
      type: transition.event,
      requestId: request.id,
      trackingRecordId: trackingRecord.id,
      chatSessionId: request.chatSessionId,
      actorId,
      fromUserId: request.senderId,
      toUserId: request.recipientId,
      occurredAt: now,
    } satisfies AssignmentEvent);
    publishAssignmentEvent(this.pubsub, { event, request, trackingRecord, chat });
  }

  /** Runs an effect of a committed change; its failure is reported, never thrown at the caller. */
  private async afterCommit(effect: () => void | Promise<void>): Promise<void> {
    try {
      await effect();
    } catch (err) {
      this.onEffectError(err);
    }
  }
}

function requirePending(request: AssignmentRequest, transition: Transition): void {
  if (request.status !== transition.from) {
    throw new BatonError(ErrorCode.REQUEST_NOT_PENDING, `The request is already ${request.status}`, { status: request.status });
  }
}

/** Under row locks every locked request settles; anything else is a missing lock, never a silent skip. */
function lockedOrFail(locked: RequestState[], settled: AssignmentRequest[]): void {
  if (settled.length !== locked.length) throw new BatonError(ErrorCode.REQUEST_NOT_PENDING, "The request is no longer pending");
}

/** The recipient an `open` names must be able to take the request. */
function checkRecipient(state: OpeningState, type: RecipientType, viewer: User): { id: string; name: string } {
  const r = state.recipient;
  const problem = !r
    ? "No such recipient"
    : !r.active
      ? "The recipient is not active"
      : r.id === state.chat.ownerId
        ? "The recipient already owns this chat"
        : r.id === viewer.id
          ? "You cannot send a request to yourself"
          : type === RecipientType.MANAGER && r.role === UserRole.USER
            ? "The recipient is not a manager"
            : type === RecipientType.USER && r.role !== UserRole.USER
              ? "The recipient is not a user"
              : null;
  if (problem || !r) throw new BatonError(ErrorCode.INVALID_RECIPIENT, problem ?? "No such recipient", { field: "recipientId" });
  return r;
}

export type { Action };
