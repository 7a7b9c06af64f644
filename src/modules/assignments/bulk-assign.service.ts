import { createHash, randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { fromRow } from "../../db/hydrate";
import { inTransaction, type Tx } from "../../db/transaction";
import { badInput, BatonError, ErrorCode } from "../../errors";
import { type BatonPubSub, publishAssignmentEvent, publishChatSessionUpdated } from "../../events/pubsub";
import { isUuid, optionalText, requireId } from "../../validation";
import { ChatSession, ChatStatus } from "../chat-sessions/chat-session.entity";
import { NotificationType } from "../notifications/notification.entity";
import { type NewNotification, writeNotifications } from "../notifications/notification.writer";
import { EngagementTrackingRecord, TrackingKind, TrackingStatus } from "../tracking/engagement-tracking-record.entity";
import { User } from "../users/user.entity";
import { can } from "../../policy/access";
import { AssignmentEvent, AssignmentEventType } from "./assignment-event.entity";
import type { HandoverEngine } from "../../engine/handover-engine";
import { appendEventsCtes } from "../../repositories/events.repository";

export const MAX_BULK = 10_000;

export enum BulkOutcome {
  ASSIGNED = "ASSIGNED",
  ALREADY_OWNER = "ALREADY_OWNER",
  NOT_FOUND = "NOT_FOUND",
  CHAT_CLOSED = "CHAT_CLOSED",
  FORBIDDEN = "FORBIDDEN",
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
}

interface ChatRow {
  id: string;
  owner_id: string;
  status: ChatStatus;
}

/**
 * "OOB Assign": moves many chats to one user directly, in one transaction of set-based
 * statements (a handful, whatever the batch size). One tracking record and one event per moved
 * chat; pending requests on them are cancelled; one notification for the new owner, one for each
 * previous owner.
 */
export class BulkAssignService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    private readonly assignments: HandoverEngine,
    private readonly onEffectError: (err: unknown) => void = () => {},
  ) {}

  async bulkAssign(viewer: User, input: BulkAssignData): Promise<BulkResult> {
    if (input.chatSessionIds.length < 1 || input.chatSessionIds.length > MAX_BULK) {
      throw badInput(`chatSessionIds takes 1 to ${MAX_BULK} ids`, "chatSessionIds");
    }
    const toUserId = requireId(input.toUserId, "toUserId");
    const key = optionalText(input.idempotencyKey, "idempotencyKey", 200);
    // Duplicates count once; a malformed id is simply not found (it sinks nothing else).
    const ids = [...new Set(input.chatSessionIds.map((id) => id.toLowerCase()))];
    const wellFormed = ids.filter(isUuid);
    const fingerprint = createHash("sha256").update(JSON.stringify([toUserId, [...ids].sort()])).digest("hex");

    return inTransaction(
      this.dataSource,
      async (tx) => {
        const m = tx.manager;
        const operationId = randomUUID();
        if (key) {
          // Claims the key; a concurrent call with the same key waits here for us, then replays.
          const claimed = await m.query<Array<{ id: string }>>(
            `INSERT INTO bulk_operations (id, organization_id, initiated_by_id, to_user_id, idempotency_key, request_fingerprint, assigned_count, skipped_count, results)
             VALUES ($1, $2, $3, $4, $5, $6, 0, 0, '[]') ON CONFLICT DO NOTHING RETURNING id`,
            [operationId, viewer.organizationId, viewer.id, toUserId, key, fingerprint],
          );
          if (claimed.length === 0) return this.replay(tx, viewer, key, fingerprint);
        }

        const target = await m.findOneBy(User, { id: toUserId, organizationId: viewer.organizationId });
        if (!target?.active) {
          throw new BatonError(ErrorCode.INVALID_RECIPIENT, target ? "The target user is not active" : "No such target user", {
            field: "toUserId",
          });
        }

        const now = new Date();
        const rows = await m.query<ChatRow[]>(
          `SELECT id, owner_id, status FROM chat_sessions
            WHERE id = ANY($1::uuid[]) AND organization_id = $2 ORDER BY id FOR NO KEY UPDATE`,
          [wellFormed, viewer.organizationId],
        );
        const byId = new Map(rows.map((r) => [r.id, r]));
        const outcomeOf = (id: string): BulkOutcome => {
          const chat = byId.get(id);
          if (!chat) return BulkOutcome.NOT_FOUND;
          if (!can(viewer, "chat.assign", { ownerId: chat.owner_id })) return BulkOutcome.FORBIDDEN;
          if (chat.status === ChatStatus.CLOSED) return BulkOutcome.CHAT_CLOSED;
          if (chat.owner_id === target.id) return BulkOutcome.ALREADY_OWNER;
          return BulkOutcome.ASSIGNED;
        };
        const outcomes = ids.map((id) => ({ id, outcome: outcomeOf(id) }));
        const moving = outcomes.filter((o) => o.outcome === BulkOutcome.ASSIGNED).map((o) => byId.get(o.id) as ChatRow);

        await this.assignments.cancelPendingForChats(
          tx,
          moving.map((c) => c.id),
          viewer,
          `The chat was assigned to ${target.name}`,
          now,
        );
        const recordIds = await this.move(tx, viewer, target, moving, operationId, now);

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
        const stored = JSON.stringify(results);
        if (key) {
          await m.query(`UPDATE bulk_operations SET assigned_count = $2, skipped_count = $3, results = $4 WHERE id = $1`, [
            operationId,
            result.assignedCount,
            result.skippedCount,
            stored,
          ]);
        } else {
          await m.query(
            `INSERT INTO bulk_operations (id, organization_id, initiated_by_id, to_user_id, request_fingerprint, assigned_count, skipped_count, results)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            [operationId, viewer.organizationId, viewer.id, target.id, fingerprint, result.assignedCount, result.skippedCount, stored],
          );
        }
        return result;
      },
      this.onEffectError,
    );
  }

  private async replay(tx: Tx, viewer: User, key: string, fingerprint: string): Promise<BulkResult> {
    const [op] = await tx.manager.query<
      Array<{ id: string; request_fingerprint: string; assigned_count: number; skipped_count: number; results: BulkItem[] }>
    >(
      `SELECT id, request_fingerprint, assigned_count, skipped_count, results FROM bulk_operations
        WHERE organization_id = $1 AND initiated_by_id = $2 AND idempotency_key = $3`,
      [viewer.organizationId, viewer.id, key],
    );
    if (!op) throw new Error("idempotency key conflict without a stored operation");
    if (op.request_fingerprint !== fingerprint) {
      throw badInput("idempotencyKey was already used for a different bulk assignment", "idempotencyKey");
    }
    return {
      operationId: op.id,
      assignedCount: op.assigned_count,
      skippedCount: op.skipped_count,
      results: op.results,
      replayed: true,
    };
  }

  /** The writes, each one statement for the whole batch. Returns chat id -> tracking record id. */
  private async move(tx: Tx, actor: User, target: User, chats: ChatRow[], operationId: string, now: Date): Promise<Map<string, string>> {
    if (chats.length === 0) return new Map();
    const m = tx.manager;
    const org = actor.organizationId;
    const chatIds = chats.map((c) => c.id);
    const fromIds = chats.map((c) => c.owner_id);
    const recordIds = chats.map(() => randomUUID());

    const [updated] = await m.query<[Array<Record<string, unknown>>, number]>(
      `UPDATE chat_sessions SET owner_id = $2, updated_at = $3 WHERE id = ANY($1::uuid[])
       RETURNING id, organization_id, customer_name, customer_phone, channel, status, owner_id, last_customer_message_at, created_at, updated_at`,
      [chatIds, target.id, now],
    );
    await m.query(
      `INSERT INTO engagement_tracking_records
         (id, organization_id, kind, status, chat_session_id, bulk_operation_id, initiated_by_id, from_user_id, to_user_id,
          responded_by_id, requested_at, responded_at, response_seconds, created_at, updated_at)
       SELECT r.id, $4, '${TrackingKind.DIRECT_ASSIGN}', '${TrackingStatus.ASSIGNED}', r.chat_id, $5, $6, r.from_id, $7,
              $6, $8, $8, 0, $8, $8
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS r(id, chat_id, from_id)`,
      [recordIds, chatIds, fromIds, org, operationId, actor.id, target.id, now],
    );
    // One ordered append for the whole batch, in the order of the ids given.
    const sequences = await m.query<Array<{ sequence: string; tracking_record_id: string }>>(
      `WITH ${appendEventsCtes(
        `SELECT $4::uuid AS organization_id, '${AssignmentEventType.ASSIGNED}'::text AS type, NULL::uuid AS request_id,
                r.record_id AS tracking_record_id, r.chat_id AS chat_session_id, $5::uuid AS actor_id, r.from_id AS from_user_id,
                $6::uuid AS to_user_id, $7::timestamptz AS occurred_at, r.n AS ord
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS r(record_id, chat_id, from_id, n)`,
      )}
       SELECT sequence, tracking_record_id FROM events`,
      [recordIds, chatIds, fromIds, org, actor.id, target.id, now],
    );

    // One notification for the new owner, one per previous owner (nobody about their own act).
    const perOwner = new Map<string, number>();
    for (const from of fromIds) perOwner.set(from, (perOwner.get(from) ?? 0) + 1);
    const chatsWord = (n: number) => (n === 1 ? "1 chat" : `${n} chats`);
    const notes: NewNotification[] = [];
    if (target.id !== actor.id) {
      notes.push({
        organizationId: org,
        userId: target.id,
        type: NotificationType.CHATS_ASSIGNED,
        message: `${actor.name} assigned you ${chatsWord(chats.length)}.`,
        requestId: null,
      });
    }
    for (const [ownerId, count] of perOwner) {
      if (ownerId === actor.id) continue;
      notes.push({
        organizationId: org,
        userId: ownerId,
        type: NotificationType.CHATS_ASSIGNED,
        message: `${actor.name} moved ${chatsWord(count)} of yours to ${target.name}.`,
        requestId: null,
      });
    }
    await writeNotifications(tx, this.pubsub, notes, now);

    const recordByChat = new Map(chatIds.map((id, i) => [id, recordIds[i] as string]));
    const fromByChat = new Map(chatIds.map((id, i) => [id, fromIds[i]]));
    const seqByRecord = new Map(sequences.map((s) => [s.tracking_record_id, String(s.sequence)]));
    // Thousands of messages: published after the response is on its way, not before it, 500 chats
    // per turn of the event loop so other requests are served in between.
    tx.afterCommit(() => {
      // In sequence order, as every other event is published.
      const sequenceOf = (row: Record<string, unknown>) => BigInt(seqByRecord.get(recordByChat.get(row.id as string) ?? "") ?? "0");
      updated.sort((a, b) => (sequenceOf(a) < sequenceOf(b) ? -1 : 1));
      const publishFrom = (start: number): void => {
        const slice = updated.slice(start, start + 500);
        if (slice.length === 0) return;
        this.publishMoves(slice, org, actor, target, operationId, now, recordByChat, fromByChat, seqByRecord);
        setImmediate(publishFrom, start + 500);
      };
      setImmediate(publishFrom, 0);
    });
    return recordByChat;
  }

  private publishMoves(
    updated: Array<Record<string, unknown>>,
    org: string,
    actor: User,
    target: User,
    operationId: string,
    now: Date,
    recordByChat: Map<string, string>,
    fromByChat: Map<string, string>,
    seqByRecord: Map<string, string>,
  ): void {
    for (const row of updated) {
      const chat = fromRow(ChatSession, row);
      const recordId = recordByChat.get(chat.id) as string;
      const fromUserId = fromByChat.get(chat.id) as string;
      const trackingRecord = Object.assign(new EngagementTrackingRecord(), {
        id: recordId,
        organizationId: org,
        kind: TrackingKind.DIRECT_ASSIGN,
        status: TrackingStatus.ASSIGNED,
        chatSessionId: chat.id,
        requestId: null,
        bulkOperationId: operationId,
        initiatedById: actor.id,
        fromUserId,
        toUserId: target.id,
        respondedById: actor.id,
        recipientType: null,
        note: null,
        reason: null,
        requestedAt: now,
        respondedAt: now,
        expiresAt: null,
        timeoutSeconds: null,
        responseSeconds: 0,
        createdAt: now,
        updatedAt: now,
      } satisfies EngagementTrackingRecord);
      const event = Object.assign(new AssignmentEvent(), {
        sequence: seqByRecord.get(recordId) ?? "0",
        organizationId: org,
        type: AssignmentEventType.ASSIGNED,
        requestId: null,
        trackingRecordId: recordId,
        chatSessionId: chat.id,
        actorId: actor.id,
        fromUserId,
        toUserId: target.id,
        occurredAt: now,
      } satisfies AssignmentEvent);
      publishAssignmentEvent(this.pubsub, { event, request: null, trackingRecord, chat });
      publishChatSessionUpdated(this.pubsub, { chat, previousOwnerId: fromUserId });
    }
  }
}
