import { randomUUID } from "node:crypto";
import type { DataSource, EntityManager } from "typeorm";
import { fromRow, insertSql } from "../../db/hydrate";
import { inTransaction, type Tx } from "../../db/transaction";
import { BatonError, ErrorCode, forbidden, notFound } from "../../errors";
import { type BatonPubSub, publishChatSessionUpdated } from "../../events/pubsub";
import { optionalText, requireId, requireReason } from "../../validation";
import { ChatSession, ChatStatus } from "../chat-sessions/chat-session.entity";
import { NotificationType } from "../notifications/notification.entity";
import { notificationMessage } from "../notifications/messages";
import { type NewNotification, writeNotifications } from "../notifications/notification.writer";
import { DEFAULT_TIMEOUT_SECONDS } from "../settings/assign-discuss-settings.entity";
import { EngagementTrackingRecord, TrackingKind, TrackingStatus } from "../tracking/engagement-tracking-record.entity";
import { isManagerOrAdmin, User, UserRole } from "../users/user.entity";
import { AssignmentEventType } from "./assignment-event.entity";
import { appendEvent, appendEvents } from "./assignment-event.writer";
import { AssignmentRequest, RecipientType, RequestStatus } from "./assignment-request.entity";
import { assertTransition, OUTCOMES, type TerminalStatus } from "./transitions";

export interface AssignChatInputData {
  chatSessionId: string;
  recipientType: RecipientType;
  recipientId: string;
  note?: string | null;
}

/**
 * Called inside the transaction that makes requests pending or settles them, so a scheduler can
 * follow their deadlines: it writes its jobs in that transaction, or defers them to its commit.
 */
export interface RequestLifecycleHooks {
  pending(tx: Tx, request: AssignmentRequest): void | Promise<void>;
  settled(tx: Tx, requestIds: string[]): void | Promise<void>;
}

const noHooks: RequestLifecycleHooks = { pending: () => {}, settled: () => {} };

export interface SettleOptions {
  actor: User | null;
  reason: string | null;
  now: Date;
}

type Outcome<T> = { ok: T } | { error: BatonError };

export class AssignmentService {
  hooks: RequestLifecycleHooks = noHooks;

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    private readonly clock: () => Date = () => new Date(),
    private readonly onEffectError: (err: unknown) => void = () => {},
  ) {}

  private run<T>(work: (tx: Tx) => Promise<T>, dataSource: DataSource = this.dataSource): Promise<T> {
    return inTransaction(dataSource, work, this.onEffectError);
  }

  /** A request exists for the viewer only if they are a party to it or manage the organization. */
  async findVisible(viewer: User, requestId: string, manager: EntityManager = this.dataSource.manager): Promise<AssignmentRequest> {
    const id = requireId(requestId, "requestId");
    const request = await manager.findOneBy(AssignmentRequest, { id, organizationId: viewer.organizationId });
    if (!request || !canSee(viewer, request)) throw notFound("Assignment request");
    return request;
  }

  async assignChat(viewer: User, input: AssignChatInputData): Promise<AssignmentRequest> {
    const chatSessionId = requireId(input.chatSessionId, "chatSessionId");
    const recipientId = requireId(input.recipientId, "recipientId");
    const note = optionalText(input.note, "note", 1000);

    const outcome = await this.run<Outcome<AssignmentRequest>>(async (tx) => {
      const m = tx.manager;
      const now = this.clock();
      // One round trip: the chat (locked: lock order everywhere is chat, then request), the
      // recipient, the chat's pending request if any, and the organization's timeout.
      const [row] = await m.query<Array<Record<string, unknown>>>(
        `SELECT c.*, u.id AS recipient_id, u.name AS recipient_name, u.role AS recipient_role, u.active AS recipient_active,
                p.id AS pending_id, p.expires_at AS pending_expires_at, s.assign_request_timeout_seconds AS settings_timeout_seconds
           FROM chat_sessions c
           LEFT JOIN users u ON u.id = $2 AND u.organization_id = c.organization_id
           LEFT JOIN assignment_requests p ON p.chat_session_id = c.id AND p.status = '${RequestStatus.PENDING}'
           LEFT JOIN assign_discuss_settings s ON s.organization_id = c.organization_id
          WHERE c.id = $1 AND c.organization_id = $3
          FOR NO KEY UPDATE OF c`,
        [chatSessionId, recipientId, viewer.organizationId],
      );
      if (!row) throw notFound("Chat session");
      const chat = fromRow(ChatSession, row);
      if (chat.status === ChatStatus.CLOSED) throw new BatonError(ErrorCode.CHAT_CLOSED, "The chat session is closed");
      if (chat.ownerId !== viewer.id && !isManagerOrAdmin(viewer)) {
        throw forbidden("Only the chat's owner, a manager or an admin may assign it");
      }

      const recipient = row.recipient_id
        ? Object.assign(new User(), {
            id: row.recipient_id as string,
            organizationId: viewer.organizationId,
            name: row.recipient_name as string,
            role: row.recipient_role as UserRole,
            active: row.recipient_active as boolean,
          })
        : null;
      const invalid = recipientProblem(recipient, input.recipientType, chat, viewer);
      if (invalid || !recipient) {
        throw new BatonError(ErrorCode.INVALID_RECIPIENT, invalid ?? "No such recipient", { field: "recipientId" });
      }

      if (row.pending_id) {
        if (now < (row.pending_expires_at as Date)) {
          throw new BatonError(ErrorCode.ASSIGNMENT_ALREADY_PENDING, "This chat already has a pending assignment request", {
            requestId: row.pending_id,
          });
        }
        // The old request's deadline passed without a scheduler acting: it times out first
        // (unless a timeout job got there since: then it is no longer pending).
        const stale = await m.findOne(AssignmentRequest, {
          where: { id: row.pending_id as string, status: RequestStatus.PENDING },
          lock: { mode: "for_no_key_update" },
        });
        if (stale) await this.settle(tx, stale, RequestStatus.TIMED_OUT, { actor: null, reason: null, now });
      }

      const timeoutSeconds = (row.settings_timeout_seconds as number | null) ?? DEFAULT_TIMEOUT_SECONDS;
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
        kind: TrackingKind.ASSIGN_REQUEST,
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
      // The request and its record in one statement (the record's foreign key is checked at its end).
      const insertRequest = insertSql(AssignmentRequest, request);
      const insertRecord = insertSql(EngagementTrackingRecord, record, insertRequest.params.length + 1);
      try {
        await m.query(`WITH request AS (${insertRequest.sql}) ${insertRecord.sql}`, [...insertRequest.params, ...insertRecord.params]);
      } catch (err) {
        // Another request for this chat committed first (the partial unique index on pending ones).
        if (isUniqueViolation(err)) {
          throw new BatonError(ErrorCode.ASSIGNMENT_ALREADY_PENDING, "This chat already has a pending assignment request");
        }
        throw err;
      }
      await writeNotifications(
        tx,
        this.pubsub,
        [
          {
            organizationId: viewer.organizationId,
            userId: recipient.id,
            type: NotificationType.ASSIGNMENT_REQUESTED,
            message: notificationMessage(NotificationType.ASSIGNMENT_REQUESTED, {
              senderName: viewer.name,
              recipientName: recipient.name,
              actorName: viewer.name,
              reason: null,
              reader: "recipient",
            }),
            requestId: request.id,
          },
        ],
        now,
      );
      await appendEvent(
        tx,
        this.pubsub,
        {
          organizationId: viewer.organizationId,
          type: AssignmentEventType.CREATED,
          requestId: request.id,
          trackingRecordId: record.id,
          chatSessionId: chat.id,
          actorId: viewer.id,
          fromUserId: viewer.id,
          toUserId: recipient.id,
        },
        now,
        { request, trackingRecord: record, chat },
      );
      await this.hooks.pending(tx, request);
      return { ok: request };
    });
    if ("error" in outcome) throw outcome.error;
    return outcome.ok;
  }

  acceptAssignment(viewer: User, requestId: string): Promise<AssignmentRequest> {
    return this.respond(viewer, requestId, RequestStatus.ACCEPTED, null);
  }

  rejectAssignment(viewer: User, requestId: string, reason: string): Promise<AssignmentRequest> {
    return this.respond(viewer, requestId, RequestStatus.REJECTED, requireReason(reason));
  }

  withdrawAssignment(viewer: User, requestId: string, reason: string): Promise<AssignmentRequest> {
    return this.respond(viewer, requestId, RequestStatus.WITHDRAWN, requireReason(reason));
  }

  private async respond(
    viewer: User,
    requestId: string,
    to: RequestStatus.ACCEPTED | RequestStatus.REJECTED | RequestStatus.WITHDRAWN,
    reason: string | null,
  ): Promise<AssignmentRequest> {
    const id = requireId(requestId, "requestId");
    const outcome = await this.run<Outcome<AssignmentRequest>>(async (tx) => {
      const m = tx.manager;
      // Lock order everywhere: chat, then request. NO KEY UPDATE locks leave the FK checks of other
      // transactions (KEY SHARE) unblocked, so inserting events that reference the chat cannot deadlock.
      // Accepting moves the chat: one statement finds the request's chat and locks it.
      if (to === RequestStatus.ACCEPTED) {
        await m.query(
          `SELECT 1 FROM chat_sessions
            WHERE id = (SELECT chat_session_id FROM assignment_requests WHERE id = $1 AND organization_id = $2)
            FOR NO KEY UPDATE`,
          [id, viewer.organizationId],
        );
      }
      const [row] = await m.query<Array<Record<string, unknown>>>(
        `SELECT * FROM assignment_requests WHERE id = $1 AND organization_id = $2 FOR NO KEY UPDATE`,
        [id, viewer.organizationId],
      );
      const request = row ? fromRow(AssignmentRequest, row) : null;
      if (!request || !canSee(viewer, request)) throw notFound("Assignment request");
      if (to === RequestStatus.WITHDRAWN) {
        if (request.senderId !== viewer.id && !isManagerOrAdmin(viewer)) {
          throw forbidden("Only the sender, a manager or an admin may withdraw a request");
        }
      } else if (request.recipientId !== viewer.id) {
        throw forbidden("Only the recipient may accept or reject a request");
      }
      assertTransition(request.status, to);
      const now = this.clock();
      if (now >= request.expiresAt) {
        await this.settle(tx, request, RequestStatus.TIMED_OUT, { actor: null, reason: null, now });
        return {
          error: new BatonError(ErrorCode.REQUEST_EXPIRED, "The request expired before this action", {
            status: RequestStatus.TIMED_OUT,
            expiresAt: request.expiresAt.toISOString(),
          }),
        };
      }
      const settled = await this.settle(tx, request, to, { actor: viewer, reason, now });
      return { ok: settled };
    });
    if ("error" in outcome) throw outcome.error;
    return outcome.ok;
  }

  /**
   * One request's deadline transition: times it out only if it is still pending and past its
   * deadline, waiting for its lock. Returns whether it did. (The scheduler uses `timeOutDue`, the
   * batch form that skips locked rows.)
   */
  async timeOut(requestId: string, dataSource: DataSource = this.dataSource): Promise<boolean> {
    return this.run(async (tx) => {
      const request = await tx.manager.findOne(AssignmentRequest, {
        where: { id: requestId, status: RequestStatus.PENDING },
        lock: { mode: "for_no_key_update" },
      });
      const now = this.clock();
      if (!request || now < request.expiresAt) return false;
      await this.settle(tx, request, RequestStatus.TIMED_OUT, { actor: null, reason: null, now });
      return true;
    }, dataSource);
  }

  /**
   * Times out, in one transaction, up to `limit` pending requests past their deadline (oldest
   * deadline first) and returns their ids. Requests another transaction holds (an accept in
   * flight, another instance's batch) are skipped, not waited for: whoever holds one settles it,
   * or the next batch or the sweeper finds it still due.
   */
  async timeOutDue(dataSource: DataSource = this.dataSource, limit = 500): Promise<string[]> {
    return this.run(async (tx) => {
      const now = this.clock();
      const rows = await tx.manager.query<Array<Record<string, unknown>>>(
        `SELECT * FROM assignment_requests
          WHERE status = '${RequestStatus.PENDING}' AND expires_at <= $1
          ORDER BY expires_at LIMIT $2
          FOR NO KEY UPDATE SKIP LOCKED`,
        [now, limit],
      );
      const due = rows.map((row) => fromRow(AssignmentRequest, row));
      await this.settleMany(tx, due, RequestStatus.TIMED_OUT, { actor: null, reason: null, now });
      return due.map((r) => r.id);
    }, dataSource);
  }

  /** Cancels the pending requests of these chats inside the caller's transaction (chat closed, bulk move). */
  async cancelPendingForChats(tx: Tx, chatIds: string[], actor: User | null, reason: string, now: Date): Promise<number> {
    if (chatIds.length === 0) return 0;
    const pending = await tx.manager
      .createQueryBuilder(AssignmentRequest, "r")
      .setLock("for_no_key_update")
      .where("r.chat_session_id = ANY(:chatIds)", { chatIds })
      .andWhere("r.status = :status", { status: RequestStatus.PENDING })
      .getMany();
    await this.settleMany(tx, pending, RequestStatus.CANCELLED, { actor, reason, now });
    return pending.length;
  }

  /** Cancels the pending requests a user sends or receives (the user was deactivated). */
  async cancelPendingForUser(tx: Tx, userId: string, actor: User | null, reason: string, now: Date): Promise<number> {
    const pending = await tx.manager
      .createQueryBuilder(AssignmentRequest, "r")
      .setLock("for_no_key_update")
      .where("(r.sender_id = :userId OR r.recipient_id = :userId)", { userId })
      .andWhere("r.status = :status", { status: RequestStatus.PENDING })
      .orderBy("r.chat_session_id")
      .getMany();
    await this.settleMany(tx, pending, RequestStatus.CANCELLED, { actor, reason, now });
    return pending.length;
  }

  /**
   * Applies one transition of a locked, pending request with all its effects: the request, the
   * chat's owner on accept, the tracking record, the event row and the notifications.
   */
  async settle(tx: Tx, request: AssignmentRequest, to: TerminalStatus, opts: SettleOptions): Promise<AssignmentRequest> {
    const [settled] = await this.settleMany(tx, [request], to, opts);
    return settled;
  }

  /**
   * `settle` for many locked, pending requests at once, set-based: one statement per table
   * whatever their number (timeouts falling due together, a closed chat, a deactivated user).
   * Accepting moves a chat, so it takes one request at a time.
   */
  async settleMany(tx: Tx, requests: AssignmentRequest[], to: TerminalStatus, opts: SettleOptions): Promise<AssignmentRequest[]> {
    if (requests.length === 0) return [];
    for (const request of requests) assertTransition(request.status, to);
    if (to === RequestStatus.ACCEPTED && requests.length !== 1) throw new Error("accept settles one request at a time");
    const m = tx.manager;
    const { now, actor, reason } = opts;
    const ids = requests.map((r) => r.id);
    const [, affected] = await m.query<[unknown[], number]>(
      `UPDATE assignment_requests SET status = $2, reason = $3, responded_at = $4, responded_by_id = $5
        WHERE id = ANY($1::uuid[]) AND status = '${RequestStatus.PENDING}'`,
      [ids, to, reason, now, actor?.id ?? null],
    );
    if (affected !== requests.length) {
      // Unreachable under the row locks; kept so a missing lock can never double-apply.
      throw new BatonError(ErrorCode.REQUEST_NOT_PENDING, "The request is no longer pending");
    }
    const settled = requests.map((request) =>
      Object.assign(new AssignmentRequest(), request, { status: to, reason, respondedAt: now, respondedById: actor?.id ?? null }),
    );

    let chat: ChatSession | undefined;
    if (to === RequestStatus.ACCEPTED) {
      const [request] = requests;
      // The self-join reads the row as it was before this UPDATE: the previous owner.
      const [rows] = await m.query<[Array<Record<string, unknown>>, number]>(
        `UPDATE chat_sessions c SET owner_id = $2, updated_at = $3
           FROM chat_sessions before WHERE c.id = $1 AND before.id = $1
         RETURNING c.*, before.owner_id AS previous_owner_id`,
        [request.chatSessionId, request.recipientId, now],
      );
      const row = rows[0] ?? {};
      const moved = fromRow(ChatSession, row);
      chat = moved;
      const previousOwnerId = row.previous_owner_id as string;
      tx.afterCommit(() => publishChatSessionUpdated(this.pubsub, { chat: moved, previousOwnerId }));
    }

    // The parties' names come back with the records (for the notifications' wording).
    const [recordRows] = await m.query<[Array<Record<string, unknown>>, number]>(
      `UPDATE engagement_tracking_records t
          SET status = $2, reason = $3, responded_at = $4, responded_by_id = $5, updated_at = $4,
              response_seconds = round(extract(epoch FROM ($4::timestamptz - t.requested_at))::numeric, 3)
         FROM assignment_requests r
        WHERE r.id = ANY($1::uuid[]) AND t.request_id = r.id
        RETURNING t.*, (SELECT name FROM users WHERE id = r.sender_id) AS sender_name,
                       (SELECT name FROM users WHERE id = r.recipient_id) AS recipient_name`,
      [ids, to, reason, now, actor?.id ?? null],
    );
    const recordRowOf = new Map(recordRows.map((row) => [row.request_id as string, row]));
    const outcome = OUTCOMES[to];
    const tell: NewNotification[] = [];
    const events: Parameters<typeof appendEvents>[2][number][] = [];
    for (const [i, request] of requests.entries()) {
      const row = recordRowOf.get(request.id);
      if (!row) throw new Error(`request ${request.id} has no tracking record`);
      const trackingRecord = fromRow(EngagementTrackingRecord, row);
      const facts = {
        senderName: (row.sender_name as string | null) ?? "A former user",
        recipientName: (row.recipient_name as string | null) ?? "A former user",
        actorName: actor?.name ?? null,
        reason,
      };
      const add = (userId: string, type: NotificationType | null, reader: "sender" | "recipient") => {
        // Nobody is told about what they did themselves.
        if (type === null || userId === actor?.id) return;
        tell.push({
          organizationId: request.organizationId,
          userId,
          type,
          message: notificationMessage(type, { ...facts, reader }),
          requestId: request.id,
        });
      };
      add(request.senderId, outcome.tell.sender, "sender");
      add(request.recipientId, outcome.tell.recipient, "recipient");
      // A manager withdrawing someone's request tells that someone too.
      if (to === RequestStatus.WITHDRAWN) add(request.senderId, NotificationType.ASSIGNMENT_WITHDRAWN, "sender");
      events.push({
        item: {
          organizationId: request.organizationId,
          type: outcome.event,
          requestId: request.id,
          trackingRecordId: trackingRecord.id,
          chatSessionId: request.chatSessionId,
          actorId: actor?.id ?? null,
          fromUserId: request.senderId,
          toUserId: request.recipientId,
        },
        subjects: { request: settled[i], trackingRecord, chat },
      });
    }
    await writeNotifications(tx, this.pubsub, tell, now);
    await appendEvents(tx, this.pubsub, events, now);
    await this.hooks.settled(tx, ids);
    return settled;
  }
}

export function canSee(viewer: User, request: AssignmentRequest): boolean {
  return (
    request.organizationId === viewer.organizationId &&
    (isManagerOrAdmin(viewer) || request.senderId === viewer.id || request.recipientId === viewer.id)
  );
}

function recipientProblem(recipient: User | null, type: RecipientType, chat: ChatSession, viewer: User): string | null {
  if (!recipient) return "No such recipient";
  if (!recipient.active) return "The recipient is not active";
  if (recipient.id === chat.ownerId) return "The recipient already owns this chat";
  if (recipient.id === viewer.id) return "You cannot send a request to yourself";
  if (type === RecipientType.MANAGER && recipient.role === UserRole.USER) return "The recipient is not a manager";
  if (type === RecipientType.USER && recipient.role !== UserRole.USER) return "The recipient is not a user";
  return null;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e.code === "23505" || e.driverError?.code === "23505";
}
