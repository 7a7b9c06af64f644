import { createHash, randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { poolSql, type Sql } from "../../db/sql";
import { inTransaction, type Tx } from "../../db/transaction";
import { badInput } from "../../errors";
import { type BatonPubSub, publishAssignmentEvent, publishChatSessionUpdated, publishNotification } from "../../events/pubsub";
import { isUuid, optionalText, requireId } from "../../validation";
import { type ChatSession, ChatStatus } from "../chat-sessions/chat-session.entity";
import { Notification, NotificationType } from "../notifications/notification.entity";
import { directAssignRecord } from "../../repositories/tracking.repository";
import { Availability, type User } from "../users/user.entity";
import { SettingsRepository } from "../../repositories/settings.repository";
import { audienceOf, can, requireAccess } from "../../policy/access";
import { AssignmentEvent, AssignmentEventType } from "./assignment-event.entity";
import type { HandoverEngine } from "../../engine/handover-engine";
import { atCapacity, loopCode, loopProblem, type LoopSettings, requireReceiver } from "../../engine/rules";
import { HandoverRepository } from "../../repositories/handover.repository";
import { MovesRepository } from "../../repositories/moves.repository";
import { DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY, DEFAULT_PING_PONG_MINUTES } from "../settings/assign-discuss-settings.entity";
import { BulkRepository } from "../../repositories/bulk.repository";
import { ChatRepository } from "../../repositories/chat.repository";
import { type AuditLink, EventRepository } from "../../repositories/events.repository";
import { NotificationRepository } from "../../repositories/notification.repository";
import { TrackingRepository } from "../../repositories/tracking.repository";
import { UserRepository } from "../../repositories/user.repository";

export const MAX_BULK = 10_000;

export enum BulkOutcome {
  ASSIGNED = "ASSIGNED",
  ALREADY_OWNER = "ALREADY_OWNER",
  NOT_FOUND = "NOT_FOUND",
  CHAT_CLOSED = "CHAT_CLOSED",
  FORBIDDEN = "FORBIDDEN",
  /** The loop rule (issue #24): the chat would go straight back to who handed it to its owner. */
  HANDOVER_LOOP = "HANDOVER_LOOP",
  /** The loop rule: the chat was moved the organization's limit of times in the last 24 h. */
  HANDOVER_LIMIT_REACHED = "HANDOVER_LIMIT_REACHED",
  /** Capacity enforced: the target holds their limit of open chats (the chats before it in the list were moved). */
  RECIPIENT_AT_CAPACITY = "RECIPIENT_AT_CAPACITY",
}

export interface BulkItem {
  chatSessionId: string;
  outcome: BulkOutcome;
  trackingRecordId: string | null;
}

export interface BulkResult {
  operationId: string;
  assignedCount: number;
  skippedCount: number;
  results: BulkItem[];
  /** True when this is the stored result of an earlier call with the same idempotency key. */
  replayed: boolean;
}

export interface BulkAssignData {
  chatSessionIds: readonly string[];
  toUserId: string;
  idempotencyKey?: string | null;
  /** Managers and admins: move even where the loop rule refuses; each record keeps the rule overridden. */
  override?: boolean | null;
}

/**
 * "OOB Assign": moves many chats to one user directly, in one transaction of set-based
 * statements (a handful, whatever the batch size). One tracking record and one event per moved
 * chat; pending requests on them are cancelled; one notification for the new owner, one for each
 * previous owner.
 */
export class BulkAssignService {
  private readonly db: Sql;
  private readonly bulk = new BulkRepository();
  private readonly chats: ChatRepository;
  private readonly users: UserRepository;
  private readonly tracking: TrackingRepository;
  private readonly events: EventRepository;
  private readonly notifications: NotificationRepository;
  private readonly settings: SettingsRepository;
  private readonly moves: MovesRepository;
  private readonly handovers = new HandoverRepository();

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    private readonly assignments: HandoverEngine,
    private readonly onEffectError: (err: unknown) => void = () => {},
  ) {
    this.db = poolSql(dataSource);
    this.chats = new ChatRepository(this.db);
    this.users = new UserRepository(this.db);
    this.tracking = new TrackingRepository(this.db);
    this.events = new EventRepository(this.db);
    this.notifications = new NotificationRepository(this.db);
    this.settings = new SettingsRepository(this.db);
    this.moves = new MovesRepository(this.db);
  }

  async bulkAssign(viewer: User, input: BulkAssignData): Promise<BulkResult> {
    if (input.chatSessionIds.length < 1 || input.chatSessionIds.length > MAX_BULK) {
      throw badInput(`chatSessionIds takes 1 to ${MAX_BULK} ids`, "chatSessionIds");
    }
    const toUserId = requireId(input.toUserId, "toUserId");
    const key = optionalText(input.idempotencyKey, "idempotencyKey", 200);
    // Duplicates count once; a malformed id is simply not found (it sinks nothing else).
    const ids = [...new Set(input.chatSessionIds.map((id) => id.toLowerCase()))];
    const wellFormed = ids.filter(isUuid);
    const override = input.override === true;
    if (override) requireAccess(viewer, "handover.override");
    // The override is part of what was asked: the same key with and without it is a different call.
    const fingerprint = createHash("sha256")
      .update(JSON.stringify(override ? [toUserId, [...ids].sort(), "override"] : [toUserId, [...ids].sort()]))
      .digest("hex");

    return inTransaction(
      this.dataSource,
      async (tx) => {
        const operationId = randomUUID();
        const op = { id: operationId, organizationId: viewer.organizationId, initiatedById: viewer.id, toUserId, fingerprint };
        // Claims the key; a concurrent call with the same key waits here for us, then replays.
        if (key && !(await this.bulk.claim(tx.sql, { ...op, key }))) return this.replay(tx, viewer, key, fingerprint);

        const found = await this.users.findById(toUserId, tx.sql);
        const candidate = found?.organizationId === viewer.organizationId ? found : null;
        const settings = await this.settings.find(viewer.organizationId, tx.sql);
        // The receiving rule for a bulk target: anyone active (oneself too); whether they own a chat is decided per chat below.
        const awayRefused = candidate?.availability === Availability.AWAY && !!settings?.requireAvailableRecipient;
        const target = requireReceiver(candidate, { as: "bulk target", type: null, ownerId: null, senderId: null, awayRefused }, "toUserId");
        const now = new Date();
        const byId = new Map((await this.chats.lockMany(tx.sql, viewer.organizationId, wellFormed)).map((c) => [c.id, c]));
        const outcomeOf = (id: string): BulkOutcome => {
          const chat = byId.get(id);
          if (!chat) return BulkOutcome.NOT_FOUND;
          if (!can(viewer, "chat.assign", chat)) return BulkOutcome.FORBIDDEN;
          if (chat.status === ChatStatus.CLOSED) return BulkOutcome.CHAT_CLOSED;
          if (chat.ownerId === target.id) return BulkOutcome.ALREADY_OWNER;
          return BulkOutcome.ASSIGNED;
        };
        const outcomes = ids.map((id) => ({ id, outcome: outcomeOf(id), overridden: null as string | null }));

        // The loop rule per chat, on each chat's moves as they stand under its lock.
        const loop: LoopSettings = {
          pingPongMinutes: settings?.pingPongMinutes ?? DEFAULT_PING_PONG_MINUTES,
          maxHandoversPerChatPerDay: settings?.maxHandoversPerChatPerDay ?? DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY,
        };
        if (loop.pingPongMinutes > 0 || loop.maxHandoversPerChatPerDay > 0) {
          const candidates = outcomes.filter((o) => o.outcome === BulkOutcome.ASSIGNED).map((o) => o.id);
          const moves = await this.moves.ofChats(candidates, now, loop.maxHandoversPerChatPerDay, tx.sql);
          for (const o of outcomes) {
            const chatMoves = o.outcome === BulkOutcome.ASSIGNED ? moves.get(o.id) : undefined;
            const problem = chatMoves && loopProblem(chatMoves, (byId.get(o.id) as ChatSession).ownerId, target.id, loop, now);
            if (!problem) continue;
            if (override) o.overridden = loopCode(problem);
            else o.outcome = problem.code === "LOOP" ? BulkOutcome.HANDOVER_LOOP : BulkOutcome.HANDOVER_LIMIT_REACHED;
          }
        }
        // Capacity, when enforced: the target's open chats counted under their row's lock (a
        // concurrent accept or bulk move to them waits), then the chats fill the room in the order given.
        if (settings?.enforceCapacity) {
          const room = await this.handovers.lockCapacity(tx.sql, target.id);
          let open = room.openChats;
          for (const o of outcomes) {
            if (o.outcome !== BulkOutcome.ASSIGNED) continue;
            if (atCapacity(open, room.maxOpenChats, room.capacityDefault ?? 0)) o.outcome = BulkOutcome.RECIPIENT_AT_CAPACITY;
            else open++;
          }
        }
        const moving = outcomes.filter((o) => o.outcome === BulkOutcome.ASSIGNED).map((o) => byId.get(o.id) as ChatSession);
        const overridden = new Map(outcomes.map((o) => [o.id, o.overridden]));

        await this.assignments.chatChanged(
          tx,
          moving.map((c) => c.id),
          viewer,
          `The chat was assigned to ${target.name}`,
          now,
        );
        const recordIds = await this.move(tx, viewer, target, moving, operationId, now, overridden);

        const results: BulkItem[] = outcomes.map((o) => ({
          chatSessionId: o.id,
          outcome: o.outcome,
          trackingRecordId: recordIds.get(o.id) ?? null,
        }));
        const result: BulkResult = {
          operationId,
          assignedCount: moving.length,
          skippedCount: ids.length - moving.length,
          results,
          replayed: false,
        };
        await this.bulk.save(tx.sql, { ...op, assignedCount: result.assignedCount, skippedCount: result.skippedCount, results });
        return result;
      },
      this.onEffectError,
    );
  }

  private async replay(tx: Tx, viewer: User, key: string, fingerprint: string): Promise<BulkResult> {
    const op = await this.bulk.find(tx.sql, viewer.organizationId, viewer.id, key);
    if (!op) throw new Error("idempotency key conflict without a stored operation");
    if (op.requestFingerprint !== fingerprint) {
      throw badInput("idempotencyKey was already used for a different bulk assignment", "idempotencyKey");
    }
    return { operationId: op.id, assignedCount: op.assignedCount, skippedCount: op.skippedCount, results: op.results as BulkItem[], replayed: true };
  }

  /**
   * The writes, each one statement for the whole batch: chats, records, notifications, then the
   * events (last of the move, holding the organization's event lock only into the commit). Returns
   * chat id -> tracking record id.
   */
  private async move(
    tx: Tx,
    actor: User,
    target: User,
    chats: ChatSession[],
    operationId: string,
    now: Date,
    overridden: ReadonlyMap<string, string | null>,
  ): Promise<Map<string, string>> {
    if (chats.length === 0) return new Map();
    const org = actor.organizationId;
    const chatIds = chats.map((c) => c.id);
    const fromIds = chats.map((c) => c.ownerId);
    const recordIds = chats.map(() => randomUUID());

    const updated = await this.chats.moveMany(tx.sql, chatIds, target.id, now);
    const rules = chatIds.map((id) => overridden.get(id) ?? null);
    await this.tracking.insertDirect(tx.sql, { ids: recordIds, chatIds, fromIds, organizationId: org, operationId, actorId: actor.id, toUserId: target.id, now, overridden: rules });

    // One notification for the new owner, one per previous owner (nobody about their own act).
    const perOwner = new Map<string, number>();
    for (const from of fromIds) perOwner.set(from, (perOwner.get(from) ?? 0) + 1);
    const chatsWord = (n: number) => (n === 1 ? "1 chat" : `${n} chats`);
    const notes: Notification[] = [];
    const note = (userId: string, message: string) =>
      notes.push(
        Object.assign(new Notification(), {
          id: randomUUID(),
          organizationId: org,
          userId,
          type: NotificationType.CHATS_ASSIGNED,
          message,
          requestId: null,
          createdAt: now,
          readAt: null,
        }),
      );
    if (target.id !== actor.id) note(target.id, `${actor.name} assigned you ${chatsWord(chats.length)}.`);
    for (const [ownerId, count] of perOwner) {
      if (ownerId !== actor.id) note(ownerId, `${actor.name} moved ${chatsWord(count)} of yours to ${target.name}.`);
    }
    await this.notifications.insertMany(tx.sql, notes);

    const seqByRecord = await this.events.appendDirect(tx.sql, { recordIds, chatIds, fromIds, organizationId: org, actorId: actor.id, toUserId: target.id, now });

    const recordByChat = new Map(chatIds.map((id, i) => [id, recordIds[i] as string]));
    const fromByChat = new Map(chatIds.map((id, i) => [id, fromIds[i]]));
    // Thousands of messages: published after the response is on its way, not before it, 500 chats
    // per turn of the event loop so other requests are served in between.
    tx.afterCommit(() => {
      for (const n of notes) publishNotification(this.pubsub, n);
      // In sequence order, as every other event is published.
      const sequenceOf = (chat: ChatSession) => BigInt(seqByRecord.get(recordByChat.get(chat.id) ?? "")?.sequence ?? "0");
      updated.sort((a, b) => (sequenceOf(a) < sequenceOf(b) ? -1 : 1));
      const publishFrom = (start: number): void => {
        const slice = updated.slice(start, start + 500);
        if (slice.length === 0) return;
        this.publishMoves(slice, org, actor, target, operationId, now, recordByChat, fromByChat, seqByRecord, overridden);
        setImmediate(publishFrom, start + 500);
      };
      setImmediate(publishFrom, 0);
    });
    return recordByChat;
  }

  private publishMoves(
    updated: ChatSession[],
    org: string,
    actor: User,
    target: User,
    operationId: string,
    now: Date,
    recordByChat: Map<string, string>,
    fromByChat: Map<string, string>,
    seqByRecord: Map<string, { sequence: string; audit: AuditLink }>,
    overridden: ReadonlyMap<string, string | null>,
  ): void {
    for (const chat of updated) {
      const recordId = recordByChat.get(chat.id) as string;
      const fromUserId = fromByChat.get(chat.id) as string;
      // The record as the set-based INSERT wrote it (src/repositories/tracking.repository.ts): not
      // read back, 10,000 rows would cost more than the statement that wrote them.
      const trackingRecord = directAssignRecord({
        id: recordId,
        org,
        chatId: chat.id,
        operationId,
        actorId: actor.id,
        fromUserId,
        toUserId: target.id,
        now,
        overriddenRule: overridden.get(chat.id) ?? null,
      });
      const appended = seqByRecord.get(recordId) as { sequence: string; audit: AuditLink };
      const event = Object.assign(new AssignmentEvent(), {
        sequence: appended.sequence,
        organizationId: org,
        type: AssignmentEventType.ASSIGNED,
        requestId: null,
        trackingRecordId: recordId,
        chatSessionId: chat.id,
        actorId: actor.id,
        fromUserId,
        toUserId: target.id,
        occurredAt: now,
        ...appended.audit,
      } satisfies AssignmentEvent);
      publishAssignmentEvent(this.pubsub, { event, request: null, trackingRecord, chat }, audienceOf.event(org, event));
      publishChatSessionUpdated(this.pubsub, { chat, previousOwnerId: fromUserId }, audienceOf.chat(org, { chat, previousOwnerId: fromUserId }));
    }
  }
}
