import { newestFirst } from "../db/keyset";
import { fromJson, fromRow } from "../db/hydrate";
import { Conditions, type Sql, type Statement } from "../db/sql";
import { type Page, type PageArgs, toPage } from "../kernel/page";
import { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { Discussion, DiscussionMessage, DiscussionStatus } from "../modules/discussions/discussion.entity";
import { Notification } from "../modules/notifications/notification.entity";
import { EngagementTrackingRecord, TrackingStatus } from "../modules/tracking/engagement-tracking-record.entity";
import { type AuditLink, type AuditRow, appendEventsCtes, auditColumnsOf, auditFacts, auditLinkOf } from "./events.repository";

/** A discussion that ended, as committed, with what its publication needs. */
export interface EndedDiscussion {
  discussion: Discussion;
  request: AssignmentRequest;
  record: EngagementTrackingRecord;
  chat: ChatSession;
  sequence: string;
  /** The event's place in its organization's hash chain. */
  audit: AuditLink;
  notifications: Notification[];
}

const BY_ID: Statement = { name: "discussions.byId", text: "SELECT * FROM discussions WHERE id = $1 AND organization_id = $2" };

const START: Statement = {
  name: "discussions.start",
  text: `WITH d AS (
           INSERT INTO discussions (id, organization_id, request_id, chat_session_id, requester_id, consultant_id, status, started_at)
           VALUES ($1, $2, $3, $4, $5, $6, '${DiscussionStatus.ACTIVE}', $7) RETURNING *),
         rec AS (UPDATE engagement_tracking_records t SET discussion_id = d.id FROM d WHERE t.request_id = d.request_id)
         SELECT * FROM d`,
};

const LOCK_ACTIVE_FOR_CHATS: Statement = {
  name: "discussions.lockActiveForChats",
  text: `SELECT id FROM discussions WHERE chat_session_id = ANY($1::uuid[]) AND status = '${DiscussionStatus.ACTIVE}'
          ORDER BY id FOR NO KEY UPDATE`,
};

/**
 * Ends active discussions with every effect in one statement: the discussion, its request's
 * tracking record (ENDED, with the end and the message count), a notification to each
 * participant but the one who ended it, and a DISCUSSION_ENDED event.
 */
const END: Statement = {
  name: "discussions.end",
  text: `WITH d AS (
           UPDATE discussions SET status = '${DiscussionStatus.ENDED}', ended_at = $2, ended_by_id = $3, end_reason = $4
            WHERE id = ANY($1::uuid[]) AND status = '${DiscussionStatus.ACTIVE}'
           RETURNING *),
         rec AS (
           UPDATE engagement_tracking_records t
              SET status = '${TrackingStatus.ENDED}', ended_at = $2, ended_by_id = $3, end_reason = $4, message_count = d.message_count, updated_at = $2
             FROM d WHERE t.request_id = d.request_id
           RETURNING t.*),
         told AS (
           INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at)
           SELECT gen_random_uuid(), d.organization_id, u.user_id, $5, $6, d.request_id, $2
             FROM d CROSS JOIN LATERAL (VALUES (d.requester_id), (d.consultant_id)) AS u(user_id)
            WHERE u.user_id IS DISTINCT FROM $3
           RETURNING *),
         ${appendEventsCtes(
           `SELECT d.organization_id, $7::text AS type, d.request_id, rec.id AS tracking_record_id, d.chat_session_id,
                   $3::uuid AS actor_id, d.requester_id AS from_user_id, d.consultant_id AS to_user_id, $2::timestamptz AS occurred_at, d.id AS ord,
                   ${auditFacts("rec", { before: "c.owner_id", after: "c.owner_id" }, "rec.end_reason")}
              FROM d JOIN rec ON rec.request_id = d.request_id JOIN chat_sessions c ON c.id = d.chat_session_id`,
           ["told"],
         )}
         SELECT to_json(d) AS discussion, to_json(rec) AS record, e.sequence, ${auditColumnsOf("e")},
                (SELECT to_json(r) FROM assignment_requests r WHERE r.id = d.request_id) AS request,
                (SELECT to_json(c) FROM chat_sessions c WHERE c.id = d.chat_session_id) AS chat,
                coalesce(n.list, '[]') AS notifications
           FROM d JOIN rec ON rec.request_id = d.request_id JOIN events e ON e.request_id = d.request_id
           LEFT JOIN (SELECT request_id, json_agg(to_json(t)) AS list FROM told t GROUP BY request_id) n ON n.request_id = d.request_id`,
};

/** A message, if the discussion is still active: the count goes up in the same statement. */
const POST: Statement = {
  name: "discussions.post",
  text: `WITH d AS (
           UPDATE discussions SET message_count = message_count + 1
            WHERE id = $2 AND organization_id = $3 AND status = '${DiscussionStatus.ACTIVE}'
           RETURNING id, organization_id)
         INSERT INTO discussion_messages (id, organization_id, discussion_id, author_id, body, created_at)
         SELECT $1, d.organization_id, d.id, $4, $5, $6 FROM d
         RETURNING *`,
};

export class DiscussionRepository {
  constructor(private readonly db: Sql) {}

  async findById(organizationId: string, id: string, sql: Sql = this.db): Promise<Discussion | null> {
    const [row] = await sql.rows<Record<string, unknown>>(BY_ID, [id, organizationId]);
    return row ? fromRow(Discussion, row) : null;
  }

  /** Opens the discussion of an accepted DISCUSS request (in its transaction) and links its tracking record. */
  async start(sql: Sql, request: AssignmentRequest, id: string, now: Date): Promise<Discussion> {
    const [row] = await sql.rows<Record<string, unknown>>(START, [
      id,
      request.organizationId,
      request.id,
      request.chatSessionId,
      request.senderId,
      request.recipientId,
      now,
    ]);
    return fromRow(Discussion, row ?? {});
  }

  /** The active discussions of these chats, locked in the caller's transaction. */
  async lockActiveForChats(sql: Sql, chatIds: string[]): Promise<string[]> {
    if (chatIds.length === 0) return [];
    return (await sql.rows<{ id: string }>(LOCK_ACTIVE_FOR_CHATS, [chatIds])).map((r) => r.id);
  }

  /** Ends these discussions if still active; returns those it ended, as committed. */
  async end(
    sql: Sql,
    e: { ids: string[]; now: Date; endedById: string | null; reason: string | null; notificationType: string; message: string; eventType: string },
  ): Promise<EndedDiscussion[]> {
    if (e.ids.length === 0) return [];
    const rows = await sql.rows<{
      discussion: Record<string, unknown>;
      record: Record<string, unknown>;
      request: Record<string, unknown>;
      chat: Record<string, unknown>;
      sequence: string;
      notifications: Array<Record<string, unknown>>;
    } & AuditRow>(END, [e.ids, e.now, e.endedById, e.reason, e.notificationType, e.message, e.eventType]);
    return rows.map((row) => ({
      discussion: fromJson(Discussion, row.discussion),
      record: fromJson(EngagementTrackingRecord, row.record),
      request: fromJson(AssignmentRequest, row.request),
      chat: fromJson(ChatSession, row.chat),
      sequence: String(row.sequence),
      audit: auditLinkOf(row),
      notifications: row.notifications.map((n) => fromJson(Notification, n)),
    }));
  }

  /** Adds a message to an active discussion; null when it is not (any more) active. */
  async post(organizationId: string, m: { id: string; discussionId: string; authorId: string; body: string; now: Date }): Promise<DiscussionMessage | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(POST, [m.id, m.discussionId, organizationId, m.authorId, m.body, m.now]);
    return row ? fromRow(DiscussionMessage, row) : null;
  }

  /** Newest first; only those this user takes part in when `participantId` is given. */
  list(
    organizationId: string,
    f: { participantId: string | null; status: DiscussionStatus | null; chatSessionId: string | null },
    page: PageArgs,
  ): Promise<Page<Discussion>> {
    const where = new Conditions().and("t.organization_id = ?", organizationId);
    if (f.participantId) where.and("(t.requester_id = ? OR t.consultant_id = ?)", f.participantId, f.participantId);
    if (f.status) where.and("t.status = ?", f.status);
    if (f.chatSessionId) where.and("t.chat_session_id = ?", f.chatSessionId);
    return newestFirst(this.db, Discussion, "discussions", where, page, "started_at");
  }

  /** A discussion's messages, oldest first, from the page's cursor on. */
  async messages(discussionId: string, page: PageArgs): Promise<Page<DiscussionMessage>> {
    const where = new Conditions().and("t.discussion_id = ?", discussionId);
    if (page.after) where.and("(t.created_at, t.id) > (?, ?)", page.after.at, page.after.id);
    const limit = where.param(page.first + 1);
    const rows = await this.db.rows<Record<string, unknown>>(
      `SELECT t.* FROM discussion_messages t WHERE ${where.sql} ORDER BY t.created_at, t.id LIMIT ${limit}`,
      where.params,
    );
    return toPage(
      rows.map((row) => fromRow(DiscussionMessage, row)),
      page,
      (m) => ({ at: m.createdAt, id: m.id }),
    );
  }
}
