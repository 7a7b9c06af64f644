import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { inTransaction, type Tx } from "../db/transaction";
import { afterCommit } from "../db/unit-of-work";
import { isKeyTaken, outcomeOfCutWrite } from "../db/faults";
import { BatonError, ErrorCode, notFound } from "../errors";
import { type BatonPubSub, publishAssignmentEvent, publishChatSessionUpdated, publishNotification } from "../events/pubsub";
import { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import { AssignmentRequest, RecipientType, RequestStatus } from "../modules/assignments/assignment-request.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { type ChainFacts, FORMER_USER, notificationMessage } from "../modules/notifications/messages";
import { NotificationType } from "../modules/notifications/notification.entity";
import { DEFAULT_TIMEOUT_SECONDS } from "../modules/settings/assign-discuss-settings.entity";
import type { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import type { User } from "../modules/users/user.entity";
import { audienceOf, can, requestScope, requireAccess } from "../policy/access";
import {
  HandoverRepository,
  type IdempotencyRecord,
  type JobTable,
  type PartyNotification,
  type RequestState,
  type Written,
  type SettleTarget,
} from "../repositories/handover.repository";
import { isUniqueViolation, poolSql, type Sql } from "../db/sql";
import { DiscussionRepository } from "../repositories/discussion.repository";
import type { AuditLink } from "../repositories/events.repository";
import { type Discussion, DiscussionStatus } from "../modules/discussions/discussion.entity";
import { AssignmentEventType } from "../modules/assignments/assignment-event.entity";
import { optionalText, requireId, requireReason } from "../validation";
import { type Action, ASSIGN, DISCUSS, DISCUSSION_END, KINDS, type KindSpec, LIFECYCLE, type Transition } from "./lifecycle";
import { type Answer, owedBy } from "./answer";
import { HOP_GUARD } from "./rules";
import { alreadyPending, assumeOpen, decideAct, requireRoom, decideHop, decideOpen, type HopCause, type HopPlan, openAsk, type OpenPlan, requestExpired, tell, tellKnowing, timeoutFor } from "./decide";

export interface OpenRequestInput {
  chatSessionId: string;
  recipientType: RecipientType;
  recipientId: string;
  note?: string | null;
  /** ASSIGN only: who to try next, in order, if the recipient lets the request time out (0..5). */
  fallbackRecipientIds?: readonly string[] | null;
  /** ASSIGN only, managers and admins: hand over against the loop rule (recorded on the tracking record). */
  override?: boolean | null;
}

/** Who has an open socket now (the last resort prefers them). */
export type OnlineLookup = (userIds: readonly string[]) => Promise<Set<string>>;

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
 * How an action runs: every transition is written with its own effects (request, record, event,
 * notifications, job) as one statement that re-checks, on the row as it is then, what the
 * decision relied on; on the pool that statement is its own transaction. What follows from it
 * (a moved chat's other requests and discussions, a chain's next hop) takes further statements
 * in one transaction. Opening reads first (one statement, no lock) and decides: two round
 * trips. An answer writes first, within what the policy lets the viewer act on: one round trip;
 * if that applies nothing, it reads and decides in a transaction (the precise error, the expired
 * time-out, the kind's accept effects). A write that lost a race decides again on a fresh read.
 * Nothing is published before its commit. Discussions, the stage after an accepted DISCUSS
 * request, end through here too.
 */
export interface EngineOptions {
  /** Where timeout jobs live (the scheduler); without one, nothing is scheduled (tools, tests). */
  jobs?: DeadlineJobs;
  /** Presence, for the last resort's "online first"; without it (or when it fails) nobody counts as online. */
  online?: OnlineLookup;
  clock?: () => Date;
  /** An after-commit effect failed: told to someone (services log it, sockets catch up). */
  onEffectError?: (err: unknown) => void;
}

export class HandoverEngine {
  private readonly jobs: DeadlineJobs;
  private readonly online: OnlineLookup;
  private readonly clock: () => Date;
  private readonly onEffectError: (err: unknown) => void;
  private readonly repo = new HandoverRepository();
  private readonly discussions: DiscussionRepository;
  /** Statements on the pool: each one its own transaction. */
  private readonly db: Sql;

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    options: EngineOptions = {},
  ) {
    this.jobs = options.jobs ?? noJobs;
    this.online = options.online ?? (async () => new Set());
    this.clock = options.clock ?? (() => new Date());
    this.onEffectError = options.onEffectError ?? (() => {});
    this.db = poolSql(dataSource);
    this.discussions = new DiscussionRepository(this.db);
  }

  // ---- The GraphQL operations, by name ----

  assignChat(viewer: User, input: OpenRequestInput, answer?: Answer): Promise<AssignmentRequest> {
    return this.open(viewer, ASSIGN, input, answer);
  }
  discussChat(viewer: User, input: OpenRequestInput, answer?: Answer): Promise<AssignmentRequest> {
    return this.open(viewer, DISCUSS, input, answer);
  }
  acceptAssignment(viewer: User, requestId: string, answer?: Answer): Promise<AssignmentRequest> {
    return this.act(viewer, "accept", requestId, null, answer);
  }
  rejectAssignment(viewer: User, requestId: string, reason: string, answer?: Answer): Promise<AssignmentRequest> {
    return this.act(viewer, "reject", requestId, reason, answer);
  }
  withdrawAssignment(viewer: User, requestId: string, reason: string, answer?: Answer): Promise<AssignmentRequest> {
    return this.act(viewer, "withdraw", requestId, reason, answer);
  }

  /** A request exists for the viewer only if the policy lets them see it; otherwise NOT_FOUND. */
  async findVisible(viewer: User, requestId: string): Promise<AssignmentRequest> {
    const state = await this.repo.find(this.db, viewer.organizationId, requireId(requestId, "requestId"));
    if (!state || !can(viewer, "request.see", state.request)) throw notFound("Assignment request");
    return state.request;
  }

  // ---- Transitions ----

  /**
   * `open`: a new PENDING request of `kind` for a chat. First written as decided before reading
   * (assumeOpen: the viewer's chats, the receiving rule and the settings as guards of the write):
   * one round trip. When a guard fails (or another request is pending), it reads the facts and
   * decides (decideOpen): the precise error, the expired request timed out first, or the write.
   */
  async open(viewer: User, kind: KindSpec, input: OpenRequestInput, answer?: Answer): Promise<AssignmentRequest> {
    const ask = openAsk(kind, input, optionalText(input.note, "note", 1000));
    const assumed = assumeOpen(viewer, kind, ask, { requestId: randomUUID(), recordId: randomUUID() }, this.clock());
    if (assumed) {
      const opened = await this.carryOutOpen(assumed, viewer, answer).catch((err: unknown) => {
        if (isUniqueViolation(err) && !isKeyTaken(err)) return null; // a request is pending: read, and say which
        throw err;
      });
      if (opened) return opened;
    }
    const fallbacks = await this.repo.usersByIds(this.db, viewer.organizationId, ask.fallbackIds);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = this.clock();
      const state = await this.repo.findOpening(this.db, viewer.organizationId, ask.chatId, ask.recipientId, kind.name, now);
      const facts = state && { ...state, timeoutSeconds: timeoutFor(kind, state.timeouts), fallbacks };
      const decision = decideOpen(viewer, kind, ask, facts, { requestId: randomUUID(), recordId: randomUUID() }, now);
      if (decision.do === "expire") {
        // Its chain may move on, and then this call finds the next hop pending.
        await this.expire(viewer.organizationId, ask.chatId, decision.pendingId);
        continue;
      }
      let opened: AssignmentRequest | null;
      try {
        opened = await this.carryOutOpen(decision.plan, viewer, answer);
      } catch (err) {
        // Another request for this chat committed first (the partial unique index on pending ones).
        if (isUniqueViolation(err) && !isKeyTaken(err)) throw alreadyPending(kind, null);
        throw err;
      }
      if (opened) return opened; // else a guard failed: the facts changed since they were read, decide again
    }
    throw new Error("the chat kept changing while a request was being opened");
  }

  /**
   * Writes an open plan (with the record an idempotent mutation owes); null when one of its guards
   * no longer held. Publishes after commit and answers from the write.
   */
  private async carryOutOpen(plan: OpenPlan, viewer: User, answer?: Answer): Promise<AssignmentRequest | null> {
    const record = owedBy(answer);
    const opened = await this.repo
      .open(this.db, {
      record,
      requestId: plan.ids.requestId,
      recordId: plan.ids.recordId,
      organizationId: plan.organizationId,
      kind: plan.kind.name,
      chatId: plan.ask.chatId,
      senderId: plan.senderId,
      recipientId: plan.ask.recipientId,
      recipientType: plan.ask.recipientType,
      note: plan.ask.note,
      fallbackIds: plan.ask.fallbackIds,
      now: plan.now,
      timeoutSeconds: plan.timeoutSeconds,
      trackingKind: plan.kind.trackingKind,
      guards: plan.guards,
      notifications: plan.told,
      eventType: LIFECYCLE.open.event,
      jobs: this.jobs.table,
    })
      // On the pool the statement commits by itself: cut off once sent, it may have.
      .catch((err: unknown) => {
        throw outcomeOfCutWrite(err);
      });
    if (!opened) return null;
    if (record) record.recorded = true; // committed with the request: on the pool, this statement is its own transaction
    const { request, record: trackingRecord, chat, sequence, audit, notifications } = opened;
    await this.afterCommit(() => {
      for (const n of notifications) publishNotification(this.pubsub, n);
      this.publishEvent(LIFECYCLE.open.event, { sequence, audit }, request, trackingRecord, chat, viewer.id, plan.now);
      return this.jobs.opened(request);
    });
    // The answer from the write: the request, its record, the chat and the recipient as the statement wrote and locked them.
    answer?.({ requests: [request], records: [trackingRecord], chats: [chat], users: [viewer, opened.recipient] });
    return request;
  }

  /**
   * A person's action on a request: accept, reject or withdraw.
   *
   * First the one-statement path, for ASSIGN requests: when the policy lets the viewer act on
   * every request where they hold a given part (the recipient answers, a sender withdraws), the
   * write itself checks that part, the status, the deadline and, for an accept, that nothing
   * else is going on about the chat; it does everything in one round trip. If it applies nothing
   * (not theirs, not pending, past the deadline, another kind, a busy chat, no such request), the
   * action runs in a transaction that reads the request and decides: the precise error, the
   * time-out committed first, or the transition with its kind's accept effects.
   */
  async act(viewer: User, action: "accept" | "reject" | "withdraw", requestId: string, reason: string | null, answer?: Answer): Promise<AssignmentRequest> {
    const transition = LIFECYCLE[action];
    const id = requireId(requestId, "requestId");
    const given = transition.reasonRequired ? requireReason(reason ?? "") : null;
    const scope = transition.by === "deadline" || transition.by === "system" ? null : requestScope(viewer, transition.by);
    const words = scope ? tellKnowing(transition, ASSIGN, scope, viewer, given) : null;
    const told = words && words.map((n) => ({ requestId: id, ...n }));
    if (scope && told) {
      const target = {
        requestIds: [id],
        organizationId: viewer.organizationId,
        ...scope,
        kinds: [ASSIGN.name],
        quietChat: action === "accept",
        capacityUnenforced: action === "accept",
        // A rejection inside a fallback chain may move it on: that takes the transaction below.
        unchained: action === "reject",
      };
      const record = owedBy(answer);
      const [settled] = await this.write(this.db, target, transition, action === "accept", viewer, given, this.clock(), told, undefined, record).catch(
        // The statement commits by itself: cut off once sent, it may have.
        (err: unknown) => {
          throw outcomeOfCutWrite(err);
        },
      );
      if (settled) {
        if (record) record.recorded = true; // committed with the answer (one statement on the pool)
        // The answer from the write: the request, its record and its chat as the statement returned them.
        answer?.({ requests: [settled.request], records: [settled.record], chats: [settled.chat], users: [viewer] });
        return settled.request;
      }
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // The time-out of an expired request must commit, and the call still fail: the transaction
      // returns the error instead of throwing it, which would roll the time-out back.
      const outcome = await inTransaction<AssignmentRequest | BatonError | null>(
        this.dataSource,
        async (tx) => {
          const found = await this.repo.find(tx.sql, viewer.organizationId, id);
          const now = this.clock();
          const decision = decideAct(viewer, transition, found?.request ?? null, now);
          if (!found) return null; // decideAct has refused a request that is not there
          // A time-out or a rejection may make the chain's next hop: its chat is locked first (the lock order of every writer).
          const hops = decision.do === "expire" || action !== "accept";
          // Accepting a handover: the chat, then the recipient's row, so that their chats are counted
          // with nothing else handing them one meanwhile (capacity, when the organization enforces it).
          const handover = decision.do === "settle" && action === "accept" && KINDS[found.request.kind].onAccept === "moveChat";
          const state: RequestState | null = (found.chainable && hops) || handover ? await this.relockChat(tx, found) : found;
          if (!state) return null; // the chat changed hands or the request settled: decide again
          if (handover) requireRoom(await this.repo.lockCapacity(tx.sql, state.request.recipientId));
          if (decision.do === "expire") {
            const [expired] = await this.settleAndHop(tx, [state], LIFECYCLE.timeOut, null, null, now, "timeout");
            if (!expired) return null; // someone settled it meanwhile: decide again
            return requestExpired(state.request.expiresAt);
          }
          const [settled] =
            action === "reject"
              ? await this.settleAndHop(tx, [state], transition, viewer, given, now, "reject")
              : await this.settleStates(tx.sql, [state], transition, viewer, given, now, tx.afterCommit);
          if (!settled) return null;
          if (action === "accept") await this.accepted(tx, KINDS[settled.kind], settled, viewer, now);
          // An idempotent mutation's record commits with the answer.
          const record = owedBy(answer);
          if (record) {
            await this.repo.record(tx.sql, record, settled.id);
            tx.afterCommit(() => void (record.recorded = true));
          }
          return settled;
        },
        this.onEffectError,
      );
      if (outcome instanceof BatonError) throw outcome;
      if (outcome) return outcome;
    }
    throw new Error("the request kept changing while it was being answered");
  }

  /** The accept effects of a kind that one statement does not cover, in the accept's transaction. */
  private async accepted(tx: Tx, kind: KindSpec, request: AssignmentRequest, actor: User, now: Date): Promise<void> {
    if (kind.onAccept === "moveChat") {
      // The chat changed hands: what else was going on about it ends with its old owner.
      await this.chatChanged(tx, [request.chatSessionId], actor, `${actor.name} took the chat over`, now);
    } else {
      await this.discussions.start(tx.sql, request, randomUUID(), now);
    }
  }

  /**
   * A chat closed or changed hands (accept, bulk assignment): in the caller's transaction, its
   * pending requests are cancelled and its active discussions end.
   */
  async chatChanged(tx: Tx, chatIds: string[], actor: User | null, reason: string, now: Date): Promise<void> {
    await this.cancelPendingForChats(tx, chatIds, actor, reason, now);
    const active = await this.discussions.lockActiveForChats(tx.sql, chatIds);
    await this.endDiscussions(tx.sql, active, null, reason, now, tx.afterCommit);
  }

  // ---- The stage after an accepted DISCUSS request ----

  /** A participant, a manager or an admin ends a discussion. */
  async endDiscussion(viewer: User, discussionId: string, reason: string | null): Promise<Discussion> {
    const id = requireId(discussionId, "discussionId");
    const why = optionalText(reason, "reason", 500);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const discussion = await this.discussions.findById(viewer.organizationId, id);
      if (!discussion) throw notFound("Discussion");
      requireAccess(viewer, "discussion.see", discussion);
      requireAccess(viewer, DISCUSSION_END.by, discussion);
      if (discussion.status !== DiscussionStatus.ACTIVE) throw discussionEnded();
      const [ended] = await this.endDiscussions(this.db, [id], viewer, why, this.clock());
      if (ended) return ended;
    }
    throw discussionEnded();
  }

  /** Ends these discussions (if still active) with every effect, in one statement; publishes after commit. */
  private async endDiscussions(
    sql: Sql,
    ids: string[],
    endedBy: User | null,
    reason: string | null,
    now: Date,
    later?: (effect: () => void | Promise<void>) => void,
  ): Promise<Discussion[]> {
    if (ids.length === 0) return [];
    const ended = await this.discussions.end(sql, {
      ids,
      now,
      endedById: endedBy?.id ?? null,
      reason,
      notificationType: DISCUSSION_END.notification,
      message: notificationMessage(DISCUSSION_END.notification, {
        senderName: "",
        recipientName: "",
        actorName: endedBy?.name ?? null,
        reason,
        reader: "sender",
      }),
      eventType: DISCUSSION_END.event,
    });
    const effect = () => {
      for (const e of ended) {
        for (const n of e.notifications) publishNotification(this.pubsub, n);
        this.publishEvent(DISCUSSION_END.event, e, e.request, e.record, e.chat, endedBy?.id ?? null, now);
      }
    };
    if (later) later(effect);
    else await this.afterCommit(effect);
    return ended.map((e) => e.discussion);
  }

  /**
   * The deadline: times out, in one transaction, up to `limit` pending requests past their
   * deadline (oldest first) and returns their ids. Requests another transaction holds (an accept
   * in flight, another instance's batch) are skipped, not waited for: whoever holds one settles
   * it, or the next batch or the sweeper finds it still due.
   */
  async timeOutDue(dataSource: DataSource = this.dataSource, limit = 500): Promise<string[]> {
    return (await this.timeOutDueBatch(dataSource, limit)).timedOut;
  }

  /**
   * `timeOutDue`, telling also how many due requests it left for later: those in a fallback chain
   * whose chat another transaction holds (their hop needs the chat; the lock is tried, never
   * waited for, since the batch already holds requests). The scheduler drains again soon for them.
   */
  async timeOutDueBatch(dataSource: DataSource = this.dataSource, limit = 500): Promise<{ timedOut: string[]; deferred: number; found: number }> {
    return inTransaction(
      dataSource,
      async (tx) => {
        const now = this.clock();
        const due = await this.repo.lockDue(tx.sql, now, limit);
        const chained = due.filter((s) => s.chainable);
        const locked = await this.repo.lockChatsNoWait(tx.sql, [...new Set(chained.map((s) => s.chat.id))]);
        const ready = due.filter((s) => !s.chainable || locked.has(s.chat.id));
        const settled = await this.settleAndHop(tx, ready, LIFECYCLE.timeOut, null, null, now, "timeout");
        lockedOrFail(ready, settled);
        return { timedOut: settled.map((r) => r.id), deferred: due.length - ready.length, found: due.length };
      },
      this.onEffectError,
    );
  }

  /** Times out one request past its deadline (found by an `open` on its chat), its chat locked first; its chain may move on. */
  private async expire(organizationId: string, chatId: string, requestId: string): Promise<void> {
    await inTransaction(
      this.dataSource,
      async (tx) => {
        await this.repo.lockChats(tx.sql, [chatId]);
        const state = await this.repo.find(tx.sql, organizationId, requestId);
        if (!state || state.request.status !== RequestStatus.PENDING) return;
        await this.settleAndHop(tx, [state], LIFECYCLE.timeOut, null, null, this.clock(), "timeout");
      },
      this.onEffectError,
    );
  }

  /** Locks a request's chat, then reads the request again (it may have changed while the lock was awaited); null when it did. */
  private async relockChat(tx: Tx, state: RequestState): Promise<RequestState | null> {
    await this.repo.lockChats(tx.sql, [state.chat.id]);
    const again = await this.repo.find(tx.sql, state.request.organizationId, state.request.id);
    return again && again.request.status === RequestStatus.PENDING ? again : null;
  }

  /** `cancel`, in the caller's transaction: the pending requests of these chats (closed, or moved by a bulk assignment). */
  async cancelPendingForChats(tx: Tx, chatIds: string[], actor: User | null, reason: string, now: Date): Promise<number> {
    const pending = await this.repo.lockPendingForChats(tx.sql, chatIds);
    lockedOrFail(pending, await this.settleStates(tx.sql, pending, LIFECYCLE.cancel, actor, reason, now, tx.afterCommit));
    return pending.length;
  }

  /**
   * A user went AWAY: in the caller's transaction, the requests waiting for them are treated at
   * once as if they timed out (TIMED_OUT, "Recipient went away", both parties told).
   */
  async recipientWentAway(tx: Tx, userId: string, now: Date): Promise<number> {
    // Their chains move on, which needs the chats: locked first, in the lock order of every writer.
    await this.repo.lockChats(tx.sql, await this.repo.chatsPendingForRecipient(tx.sql, userId));
    const pending = await this.repo.lockPendingForRecipient(tx.sql, userId);
    const atOnce: Transition = { ...LIFECYCLE.timeOut, window: "any" };
    lockedOrFail(pending, await this.settleAndHop(tx, pending, atOnce, null, "Recipient went away", now, "away"));
    return pending.length;
  }

  /** `cancel`, in the caller's transaction: the pending requests a deactivated user sent or received. */
  async cancelPendingForUser(tx: Tx, userId: string, actor: User | null, reason: string, now: Date): Promise<number> {
    const pending = await this.repo.lockPendingForUser(tx.sql, userId);
    lockedOrFail(pending, await this.settleStates(tx.sql, pending, LIFECYCLE.cancel, actor, reason, now, tx.afterCommit));
    return pending.length;
  }

  // ---- The one write path of every settling transition ----

  /**
   * A time-out or rejection that may move fallback chains on, in the caller's transaction (which
   * holds the requests' chats): plans each chain's next step, settles the requests (the sender
   * told of the hop, or of the chain's end, instead of the plain outcome), then opens the hops.
   * Events commit in that order: the time-out or rejection, then the next hop's CREATED.
   */
  private async settleAndHop(
    tx: Tx,
    states: RequestState[],
    transition: Transition,
    actor: User | null,
    reason: string | null,
    now: Date,
    cause: HopCause,
  ): Promise<AssignmentRequest[]> {
    const chained = states.filter((s) => s.chainable).map((s) => s.request.id);
    const plans = await this.planHops(tx.sql, chained, cause, now);
    const settled = await this.settleStates(tx.sql, states, transition, actor, reason, now, tx.afterCommit, plans);
    const names = new Map(states.map((s) => [s.request.id, s.senderName]));
    const hops = settled.flatMap((r) => {
      const next = plans.get(r.id)?.next;
      return next ? [{ previous: r, next, timeoutSeconds: plans.get(r.id)?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS }] : [];
    });
    if (hops.length === 0) return settled;
    const writes = hops.map(({ previous, next, timeoutSeconds }) => ({
      id: randomUUID(),
      previousId: previous.id,
      recordId: randomUUID(),
      recipientId: next.id,
      recipientType: next.recipientType,
      rest: next.rest,
      lastResort: next.lastResort,
      timeoutSeconds,
      type: ASSIGN.notifications.open,
      message: notificationMessage(ASSIGN.notifications.open, {
        senderName: names.get(previous.id) ?? FORMER_USER,
        recipientName: next.name,
        actorName: null,
        reason: null,
        reader: "recipient",
      }),
    }));
    const opened = await this.repo.openHops(tx.sql, writes, now, LIFECYCLE.open.event, this.jobs.table);
    if (opened.length !== writes.length) throw new Error("a fallback hop could not be opened");
    tx.afterCommit(async () => {
      for (const o of opened) {
        for (const n of o.notifications) publishNotification(this.pubsub, n);
        this.publishEvent(LIFECYCLE.open.event, o, o.request, o.record, o.chat, null, now);
      }
      for (const o of opened) await this.jobs.opened(o.request);
    });
    return settled;
  }

  /** What each chain does next, by request id (see HandoverRepository.planHops): the hop's recipient, or the end. */
  private async planHops(sql: Sql, requestIds: string[], cause: HopCause, now: Date): Promise<Map<string, HopPlan>> {
    const plans = new Map<string, HopPlan>();
    let open = requestIds;
    // The chosen recipients are share-locked until commit, so a change of theirs (going AWAY,
    // deactivation) either commits first and is seen here (the chain is planned again without
    // them), or waits for this transaction and then finds the hop among their pending requests.
    for (let round = 0; open.length > 0 && round < 3; round++) {
      const rows = await this.repo.planHops(sql, open, cause === "reject" ? "reject" : "timeout", HOP_GUARD, now);
      const managers = [...new Set(rows.flatMap((r) => (r.next ? [] : r.managers.map((m) => m.id))))];
      const online = managers.length > 0 ? await this.online(managers).catch(() => new Set<string>()) : new Set<string>();
      const planned = rows.map((row) => [row.requestId, decideHop(row, cause, online)] as const);
      const chosen = [...new Set(planned.flatMap(([, p]) => (p.next ? [p.next.id] : [])))];
      const stillAble = await this.repo.lockRecipients(sql, chosen, HOP_GUARD);
      open = [];
      for (const [id, plan] of planned) {
        // After the last round, one who became unable yet again ends the chain rather than receive it.
        if (plan.next && !stillAble.has(plan.next.id)) {
          if (round < 2) open.push(id);
          else plans.set(id, { ...plan, next: null });
        } else plans.set(id, plan);
      }
    }
    return plans;
  }

  /** `write` for requests already read (and, in a transaction, locked): their names word the notifications. */
  private async settleStates(
    sql: Sql,
    states: RequestState[],
    transition: Transition,
    actor: User | null,
    reason: string | null,
    now: Date,
    later?: (effect: () => void | Promise<void>) => void,
    /** Requests whose chain moves on or ends: their sender hears of that instead. */
    plans?: Map<string, HopPlan>,
  ): Promise<AssignmentRequest[]> {
    const told = states.flatMap((s) => {
      const names = { senderName: s.senderName, recipientName: s.recipientName };
      const plain = this.tell(transition, KINDS[s.request.kind], s.request.id, names, actor, reason);
      const plan = plans?.get(s.request.id);
      if (!plan) return plain;
      const type = plan.next ? NotificationType.ASSIGNMENT_FORWARDED : NotificationType.ASSIGNMENT_UNCLAIMED;
      const chain: ChainFacts = { cause: plan.tried[plan.tried.length - 1]?.outcome ?? "timeout", nextName: plan.next?.name ?? null, tried: plan.tried };
      const notice = {
        requestId: s.request.id,
        party: "sender" as const,
        type,
        message: notificationMessage(type, {
          senderName: s.senderName ?? FORMER_USER,
          recipientName: s.recipientName ?? FORMER_USER,
          actorName: actor?.name ?? null,
          reason,
          reader: "sender",
          chain,
        }),
      };
      return [...plain.filter((n) => n.party !== "sender"), notice];
    });
    const target = { requestIds: states.map((s) => s.request.id), organizationId: null };
    const moveChat = transition.action === "accept" && states.length === 1 && KINDS[states[0].request.kind].onAccept === "moveChat";
    return (await this.write(sql, target, transition, moveChat, actor, reason, now, told, later)).map((s) => s.request);
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
    /** Accepting an ASSIGN request: the chat moves to the recipient in the same statement. */
    moveChat: boolean,
    actor: User | null,
    reason: string | null,
    now: Date,
    told: PartyNotification[],
    later?: (effect: () => void | Promise<void>) => void,
    /** An idempotent mutation's record, written with the first targeted request. */
    record?: IdempotencyRecord | null,
  ): Promise<Written[]> {
    if (target.requestIds.length === 0) return [];
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
      record,
    });
    const effect = () => {
      for (const s of settled) {
        for (const n of s.notifications) publishNotification(this.pubsub, n);
        if (moveChat) publishChatSessionUpdated(this.pubsub, { chat: s.chat, previousOwnerId: s.previousOwnerId }, audienceOf.chat(s.chat.organizationId, s));
        this.publishEvent(transition.event, s, s.request, s.record, s.chat, actor?.id ?? null, now);
      }
      if (settled.length > 0) return this.jobs.settled(settled.map((s) => s.request.id));
    };
    if (later) later(effect);
    else await this.afterCommit(effect);
    return settled;
  }

  /** The notifications of a transition on one request, in the kind's words (decide.ts `tell`), addressed to the request. */
  private tell(
    transition: Transition,
    kind: KindSpec,
    requestId: string,
    names: { senderName: string | null; recipientName: string | null },
    actor: User | null,
    reason: string | null,
  ): PartyNotification[] {
    return tell(transition, kind, names, actor, reason).map((n) => ({ requestId, ...n }));
  }

  private publishEvent(
    type: AssignmentEventType,
    appended: { sequence: string; audit: AuditLink },
    request: AssignmentRequest,
    trackingRecord: EngagementTrackingRecord,
    chat: ChatSession,
    actorId: string | null,
    now: Date,
  ): void {
    const event = Object.assign(new AssignmentEvent(), {
      sequence: appended.sequence,
      organizationId: request.organizationId,
      type,
      requestId: request.id,
      trackingRecordId: trackingRecord.id,
      chatSessionId: request.chatSessionId,
      actorId,
      fromUserId: request.senderId,
      toUserId: request.recipientId,
      occurredAt: now,
      ...appended.audit,
    } satisfies AssignmentEvent);
    publishAssignmentEvent(this.pubsub, { event, request, trackingRecord, chat }, audienceOf.event(event.organizationId, event));
  }

  /** Runs an effect of a committed change (at the unit's commit inside one); its failure is reported, never thrown at the caller. */
  private afterCommit(effect: () => void | Promise<void>): Promise<void> {
    return afterCommit(effect, this.onEffectError);
  }
}

export const discussionEnded = (): BatonError => new BatonError(ErrorCode.DISCUSSION_ENDED, "The discussion has ended");

/** Under row locks every locked request settles; anything else is a missing lock, never a silent skip. */
function lockedOrFail(locked: RequestState[], settled: AssignmentRequest[]): void {
  if (settled.length !== locked.length) throw new BatonError(ErrorCode.REQUEST_NOT_PENDING, "The request is no longer pending");
}

export type { Action };
