import { fromJson } from "../db/hydrate";
import { type KeyOwner, RECORD_INSERT, recordKey } from "./idempotency.repository";
import { AssignmentRequest, RecipientType, RequestKind, RequestStatus } from "../modules/assignments/assignment-request.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { type Availability, User, type UserRole } from "../modules/users/user.entity";
import { DEFAULT_REPLY_WINDOW_HOURS, DEFAULT_TIMEOUT_SECONDS } from "../modules/settings/assign-discuss-settings.entity";
import { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import { Notification } from "../modules/notifications/notification.entity";
import { type AuditLink, type AuditRow, appendEventsCtes, auditColumnsOf, auditFacts, auditLinkOf } from "./events.repository";
import { Conditions, type Sql, type Statement } from "../db/sql";
import { newestFirst } from "../db/keyset";
import { type ChatMovesRow, chatMovesSelect, loopRuleSql, maxPerDayOf, type MovesColumns, pingPongMinutesOf, pingPongSql, toMoves } from "./moves.repository";
import type { Page, PageArgs } from "../kernel/page";

/**
 * The handover engine's SQL: reading requests with what a transition needs, and writing a
 * transition with all its effects (request, chat, tracking record, notifications, timeout job,
 * event) as ONE statement. Run on the pool, that statement is its own transaction: one round
 * trip, locks held only while Postgres runs it. The engine decides; this file only says it in SQL.
 */

/** A request with everything a transition reads: its tracking record, its chat, the parties' names. */
export interface RequestState {
  request: AssignmentRequest;
  record: EngagementTrackingRecord;
  chat: ChatSession;
  senderName: string | null;
  recipientName: string | null;
  /** An ASSIGN request whose timeout (or rejection) may move a fallback chain on: the caller locks its chat first. */
  chainable: boolean;
}

/** What opening a request on a chat reads: the chat, the named recipient, the chat's pending request, the deadline setting. */
export interface OpeningState {
  chat: ChatSession;
  recipient: { id: string; name: string; role: UserRole; active: boolean; availability: Availability; openChats: number; maxOpenChats: number | null } | null;
  /** With enforceCapacity, the organization's defaultMaxOpenChats; null: capacity is not enforced. */
  capacityDefault: number | null;
  /** The recipient's whole row (for the answer), when they exist in the organization. */
  recipientUser: User | null;
  /** The organization refuses requests to AWAY users. */
  requireAvailableRecipient: boolean;
  /** The chat's pending request of the kind being opened. */
  pending: { id: string; expiresAt: Date } | null;
  /** The organization's deadline settings, when it saved any. */
  timeouts: { assignRequestTimeoutSeconds: number; discussRequestTimeoutSeconds: number } | null;
  /** The loop rule's facts of the chat, and the organization's loop settings. */
  moves: ChatMovesRow;
  loop: { pingPongMinutes: number; maxHandoversPerChatPerDay: number };
}

/** Where Agenda keeps timeout jobs when they live in Baton's database (its Postgres backend). */
export interface JobTable {
  name: string;
  /** Written on the job as `last_modified_by`. */
  instance: string;
}

/** When a transition may still apply, checked again by the write against the row as it is then. */
export type DeadlineWindow = "beforeDeadline" | "pastDeadline" | "any";

/** A notification a settling transition sends: to a party of the request, unless that party is the actor. */
export interface PartyNotification {
  requestId: string;
  party: "sender" | "recipient";
  type: string;
  message: string;
}

/** Which requests a write may touch, re-checked by the write itself on the rows as they are then. */
export interface SettleTarget {
  requestIds: string[];
  /** Only requests of this organization (null: any, for the deadline's batches). */
  organizationId: string | null;
  /** Only requests this user sent / received (the acting viewer's part, when that is what lets them act). */
  senderId?: string | null;
  recipientId?: string | null;
  /** Only requests of these kinds. */
  kinds?: string[] | null;
  /** Only if nothing else is going on about the chat (no other pending request, no active discussion). */
  quietChat?: boolean;
  /** Only requests outside any fallback chain (no fallbacks left, not a hop): their settling makes no hop. */
  unchained?: boolean;
  /**
   * Only if the organization does not enforce capacity, when the chat moves: an accept under
   * enforced capacity takes the transaction, where the recipient's row is locked and their chats
   * counted first (two accepts of the last free slot: one wins).
   */
  capacityUnenforced?: boolean;
}

export interface SettleWrite {
  target: SettleTarget;
  to: RequestStatus;
  reason: string | null;
  now: Date;
  actorId: string | null;
  window: DeadlineWindow;
  /** Accepting an ASSIGN request: its chat is locked first, then given to the recipient (one request only). */
  moveChat: boolean;
  notifications: PartyNotification[];
  eventType: string;
  jobs: JobTable | null;
  /** An idempotent mutation's record, written with the first targeted request when it settles. */
  record?: IdempotencyRecord | null;
}

/** An idempotent mutation's record (issue #23; see db/unit-of-work.ts PendingRecord). */
export type IdempotencyRecord = KeyOwner;

/** What a write committed, as its statement returned it: the request, its record, its chat, the event's sequence and the notifications (a settled request, or an opened hop). */
export interface Written {
  request: AssignmentRequest;
  record: EngagementTrackingRecord;
  chat: ChatSession;
  sequence: string;
  /** The event's place in its organization's hash chain. */
  audit: AuditLink;
  /** The chat's owner before it moved (accept only). */
  previousOwnerId: string | null;
  notifications: Notification[];
}

/** A request to open, with the guards its decision relied on (src/engine/decide.ts OpenPlan). */
export interface OpenWrite {
  requestId: string;
  recordId: string;
  organizationId: string;
  kind: RequestKind;
  chatId: string;
  senderId: string;
  recipientId: string;
  recipientType: RecipientType;
  note: string | null;
  fallbackIds: string[];
  now: Date;
  /** Null: the organization's setting for the kind, as it stands at the write. */
  timeoutSeconds: number | null;
  trackingKind: string;
  guards: {
    /** The chat must be OPEN and, when set, still owned by this user. */
    chatOwnerId: string | null;
    /** The recipient: one of these roles, active, not the chat's owner, none of `notIds`, and not AWAY if refused ("setting": as the organization's setting stands). */
    recipient: { roles: readonly string[]; notIds: readonly string[]; awayRefused: boolean | "setting"; capacity: boolean };
    /** The loop rule (src/engine/decide.ts LoopGuard): enforced, overridden (and recorded), or off. */
    loop: "enforce" | "override" | "off";
  };
  notifications: ReadonlyArray<Omit<PartyNotification, "requestId">>;
  eventType: string;
  jobs: JobTable | null;
  /** An idempotent mutation's record, written with the request. */
  record?: IdempotencyRecord | null;
}

/** What an open wrote, as committed. */
export interface Opened {
  request: AssignmentRequest;
  record: EngagementTrackingRecord;
  chat: ChatSession;
  recipient: User;
  sequence: string;
  /** The event's place in its organization's hash chain. */
  audit: AuditLink;
  notifications: Notification[];
}

const STATE_SELECT = `
  SELECT to_json(r) AS request, to_json(t) AS record, to_json(c) AS chat, s.name AS sender_name, u.name AS recipient_name,
         (r.kind = '${RequestKind.ASSIGN}' AND (cardinality(r.fallback_recipient_ids) > 0 OR r.hop > 1 OR EXISTS (
            SELECT 1 FROM assign_discuss_settings x WHERE x.organization_id = r.organization_id AND x.fallback_to_managers))) AS chainable
    FROM assignment_requests r
    JOIN engagement_tracking_records t ON t.request_id = r.id
    JOIN chat_sessions c ON c.id = r.chat_session_id
    LEFT JOIN users s ON s.id = r.sender_id
    LEFT JOIN users u ON u.id = r.recipient_id`;

interface StateRow {
  request: Record<string, unknown>;
  record: Record<string, unknown>;
  chat: Record<string, unknown>;
  sender_name: string | null;
  recipient_name: string | null;
  chainable: boolean;
}

/** Party notifications as the columns the statements unnest: party, type, message. */
const partyColumns = (ns: ReadonlyArray<Omit<PartyNotification, "requestId">>): [string[], string[], string[]] => [
  ns.map((n) => n.party),
  ns.map((n) => n.type),
  ns.map((n) => n.message),
];

const toState = (row: StateRow): RequestState => ({
  request: fromJson(AssignmentRequest, row.request),
  record: fromJson(EngagementTrackingRecord, row.record),
  chat: fromJson(ChatSession, row.chat),
  senderName: row.sender_name,
  recipientName: row.recipient_name,
  chainable: row.chainable,
});

const FIND: Statement = { name: "handover.find", text: `${STATE_SELECT} WHERE r.id = $1 AND r.organization_id = $2` };

const LOCK_DUE: Statement = {
  name: "handover.lockDue",
  text: `${STATE_SELECT} WHERE r.status = '${RequestStatus.PENDING}' AND r.expires_at <= $1
          ORDER BY r.expires_at LIMIT $2 FOR NO KEY UPDATE OF r SKIP LOCKED`,
};

const LOCK_PENDING_FOR_CHATS: Statement = {
  name: "handover.lockPendingForChats",
  text: `${STATE_SELECT} WHERE r.chat_session_id = ANY($1::uuid[]) AND r.status = '${RequestStatus.PENDING}'
          ORDER BY r.chat_session_id FOR NO KEY UPDATE OF r`,
};

const LOCK_PENDING_FOR_USER: Statement = {
  name: "handover.lockPendingForUser",
  text: `${STATE_SELECT} WHERE (r.sender_id = $1 OR r.recipient_id = $1) AND r.status = '${RequestStatus.PENDING}'
          ORDER BY r.chat_session_id FOR NO KEY UPDATE OF r`,
};

const LOCK_PENDING_FOR_RECIPIENT: Statement = {
  name: "handover.lockPendingForRecipient",
  text: `${STATE_SELECT} WHERE r.recipient_id = $1 AND r.status = '${RequestStatus.PENDING}'
          ORDER BY r.chat_session_id FOR NO KEY UPDATE OF r`,
};

/** Capacity's count (issue #24): the chats a user (SQL `user`, an id) owns that are OPEN. */
export const openChatsOf = (user: string): string => `(SELECT count(*)::int FROM chat_sessions o WHERE o.owner_id = ${user} AND o.status = 'OPEN')`;

const FIND_OPENING: Statement = {
  name: "handover.findOpening",
  text: `SELECT to_json(c) AS chat, to_json(u) AS recipient_row, u.id AS recipient_id, u.name AS recipient_name, u.role AS recipient_role, u.active AS recipient_active,
              p.id AS pending_id, p.expires_at AS pending_expires_at,
              s.assign_request_timeout_seconds AS assign_timeout, s.discuss_request_timeout_seconds AS discuss_timeout,
              u.availability AS recipient_availability, coalesce(s.require_available_recipient, false) AS require_available,
              u.max_open_chats AS recipient_max_open_chats,
              ${openChatsOf("u.id")} AS recipient_open_chats,
              CASE WHEN s.enforce_capacity THEN s.default_max_open_chats END AS capacity_default,
              ${pingPongMinutesOf("s")} AS ping_pong_minutes, ${maxPerDayOf("s")} AS max_per_day, mv.*
         FROM chat_sessions c
         LEFT JOIN users u ON u.id = $2 AND u.organization_id = c.organization_id
         LEFT JOIN assignment_requests p ON p.chat_session_id = c.id AND p.status = '${RequestStatus.PENDING}' AND p.kind = $4
         LEFT JOIN assign_discuss_settings s ON s.organization_id = c.organization_id
         CROSS JOIN LATERAL (${chatMovesSelect("c.id", "$5", maxPerDayOf("s"))}) mv
        WHERE c.id = $1 AND c.organization_id = $3`,
};

/**
 * The receiving rule's guard (src/engine/rules.ts receivingGuard) as a statement's WHERE over
 * `u` (users): of the organization, active, of the roles reached, not the chat's owner, not an
 * excluded id (the sender), and not AWAY when the guard (or, with 'setting', the organization)
 * refuses AWAY recipients. Each argument is the SQL that gives it in that statement. Opening a
 * request and suggesting its recipient (suggestion.repository.ts) select by it.
 */
export function receivingWhere(p: {
  organizationId: string;
  roles: string;
  notIds: string;
  ownerId: string;
  awayRefused: string;
  requireAvailable: string;
  /** SQL: whether capacity is weighed here (a handover, not a discussion); the organization's enforceCapacity decides the rest. */
  capacity: string;
}): string {
  return `u.organization_id = ${p.organizationId} AND u.active AND u.role = ANY(${p.roles}::text[])
            AND u.id IS DISTINCT FROM ${p.ownerId} AND u.id <> ALL(${p.notIds}::uuid[])
            AND (u.availability <> 'AWAY' OR NOT CASE ${p.awayRefused}::text WHEN 'setting' THEN ${p.requireAvailable} ELSE ${p.awayRefused}::boolean END)
            AND (NOT ${p.capacity} OR ${capacityWhere("u", p.organizationId)})`;
}

/**
 * Capacity (src/engine/rules.ts atCapacity) as SQL over a user row `u`: the organization does not
 * enforce it, or one more chat stays within their limit (their own, else the default; 0: none).
 */
export function capacityWhere(u: string, organizationId: string): string {
  // The settings as uncorrelated subqueries where the organization is a parameter: read once per
  // statement, not once per user (a suggestion weighs thousands).
  const setting = (column: string) => `(SELECT s.${column} FROM assign_discuss_settings s WHERE s.organization_id = ${organizationId})`;
  const limit = `coalesce(${u}.max_open_chats, ${setting("default_max_open_chats")}, 0)`;
  return `(NOT coalesce(${setting("enforce_capacity")}, false) OR ${limit} = 0
             OR ${openChatsOf(`${u}.id`)} < ${limit})`;
}

/** See `HandoverRepository.open`. */
const OPEN: Statement = {
  name: "handover.open",
  text: `WITH settings AS (
         -- The organization's settings row, read once (absent: the defaults).
         SELECT coalesce(s.require_available_recipient, false) AS require_available,
                coalesce($8::int,
                         CASE $19::text WHEN '${RequestKind.DISCUSS}' THEN s.discuss_request_timeout_seconds ELSE s.assign_request_timeout_seconds END,
                         ${DEFAULT_TIMEOUT_SECONDS}) AS timeout_seconds,
                coalesce(s.reply_window_hours, ${DEFAULT_REPLY_WINDOW_HOURS}) AS window_hours, coalesce(s.cap_deadline_at_reply_window, true) AS cap,
                ${pingPongMinutesOf("s")} AS ping_pong_minutes, ${maxPerDayOf("s")} AS max_per_day
           FROM (SELECT 1) one LEFT JOIN assign_discuss_settings s ON s.organization_id = $2),
       chat AS (
         SELECT * FROM chat_sessions
          WHERE id = $3 AND organization_id = $2 AND ($10::uuid IS NULL OR owner_id = $10) AND status = 'OPEN'
          FOR NO KEY UPDATE),
       recipient AS (
         -- The receiving rule's guard (src/engine/rules.ts receivingGuard). Share-locked until commit, as a
         -- hop's recipient is: a concurrent deactivation or AWAY either commits first (and then this finds
         -- them unable and writes nothing: decide again), or waits and then finds this request among their
         -- pending ones.
         SELECT u.* FROM users u, chat
          WHERE u.id = $5 AND ${receivingWhere({
            organizationId: "$2",
            roles: "$22",
            notIds: "$23",
            ownerId: "chat.owner_id",
            awayRefused: "$21",
            requireAvailable: "(SELECT require_available FROM settings)",
            capacity: "$28::boolean",
          })}
          FOR SHARE OF u),
       -- The reply window as it stands, and the deadline it may cap (migrations/1764260000000-ReplyWindow.ts).
       win AS (SELECT baton_reply_window_end(chat.last_customer_message_at, settings.window_hours) AS ends_at FROM chat, settings),
       -- The loop rule (src/engine/rules.ts loopProblem) on the chat's moves: the code it refuses with, or null.
       loop AS (
         SELECT CASE WHEN $29::text = 'off' THEN NULL ELSE ${loopRuleSql({
           f: "mv",
           owner: "chat.owner_id",
           recipient: "$5::uuid",
           now: "$9",
           minutes: "settings.ping_pong_minutes",
           maxPerDay: "settings.max_per_day",
         })} END AS rule
           FROM chat, settings CROSS JOIN LATERAL (${chatMovesSelect("chat.id", "$9", "settings.max_per_day")}) mv),
       req AS (
         INSERT INTO assignment_requests
           (id, organization_id, chat_session_id, sender_id, recipient_id, recipient_type, status, note, timeout_seconds, created_at, expires_at, kind,
            fallback_recipient_ids, reply_window_ends_at)
         SELECT $1, $2, chat.id, $4, recipient.id, $6, '${RequestStatus.PENDING}', $7, settings.timeout_seconds, $9,
                baton_deadline($9::timestamptz, settings.timeout_seconds, win.ends_at, settings.cap), $19, $20::uuid[], win.ends_at
           FROM chat, recipient, settings, win, loop
          WHERE loop.rule IS NULL OR $29::text = 'override'
         RETURNING *),
       rec AS (
         INSERT INTO engagement_tracking_records
           (id, organization_id, kind, status, chat_session_id, request_id, initiated_by_id, from_user_id, to_user_id,
            recipient_type, note, requested_at, expires_at, timeout_seconds, created_at, updated_at, reply_window_ends_at, overridden_rule)
         SELECT $11, $2, $12, '${RequestStatus.PENDING}', req.chat_session_id, req.id, $4, chat.owner_id, $5, $6, $7, $9, req.expires_at, req.timeout_seconds, $9, $9,
                req.reply_window_ends_at, loop.rule
           FROM req, chat, loop
         RETURNING *),
       told AS (
         INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at)
         SELECT gen_random_uuid(), $2, CASE n.party WHEN 'sender' THEN req.sender_id ELSE req.recipient_id END, n.type,
                -- The recipient hears of the reply window when it matters to answering.
                n.message || CASE n.party WHEN 'recipient' THEN baton_window_note(req.reply_window_ends_at, $9) ELSE '' END, req.id, $9
           FROM req, unnest($13::text[], $14::text[], $15::text[]) AS n(party, type, message)
         RETURNING *),
       job AS (
         INSERT INTO agenda_jobs (name, priority, next_run_at, type, data, disabled, fork, last_modified_by)
         SELECT $17::text, 0, req.expires_at, 'normal', jsonb_build_object('requestId', req.id::text), false, false, $18::text
           FROM req WHERE $17::text IS NOT NULL
         RETURNING id),
       -- An idempotent mutation's record (issue #23), committed with the request it opened. The key taken
       -- already (a repeat, or a concurrent first run that committed first) fails the whole statement.
       recorded AS (
         ${RECORD_INSERT}
         -- With the rows the answer is made of: a repeat answers from them, as they were written.
         SELECT $24::uuid, $25::text, $26::text, 'COMMITTED',
                json_build_object('requestId', req.id, 'rows', json_build_object(
                  'request', to_json(req), 'record', (SELECT to_json(rec) FROM rec), 'chat', (SELECT to_json(chat) FROM chat),
                  'users', json_build_array((SELECT to_json(recipient) FROM recipient)))),
                now(), now() + $27::int * interval '1 hour'
           FROM req WHERE $24::uuid IS NOT NULL
         RETURNING 1),
       -- The answer, made before the organization's lock is taken: the lock is held only to append the event and commit.
       answer AS MATERIALIZED (
         SELECT (SELECT to_json(rec) FROM rec) AS record, (SELECT coalesce(json_agg(to_json(t)), '[]') FROM told t) AS notifications,
                (SELECT to_json(chat) FROM chat) AS chat, (SELECT to_json(recipient) FROM recipient) AS recipient,
                (SELECT timeout_seconds FROM req) AS timeout_seconds, (SELECT expires_at FROM req) AS expires_at,
                (SELECT reply_window_ends_at FROM req) AS reply_window_ends_at),
       ${appendEventsCtes(
         `SELECT $2::uuid AS organization_id, $16::text AS type, req.id AS request_id, rec.id AS tracking_record_id,
                 req.chat_session_id, $4::uuid AS actor_id, $4::uuid AS from_user_id, $5::uuid AS to_user_id,
                 $9::timestamptz AS occurred_at, 1 AS ord, ${auditFacts("rec", { before: "rec.from_user_id", after: "rec.from_user_id" })}
            FROM req JOIN rec ON rec.request_id = req.id`,
         ["told", "job", "answer"],
       )}
       SELECT events.sequence, ${auditColumnsOf("events")}, answer.* FROM events, answer`,
};

/** See `HandoverRepository.settle`. */
const SETTLE: Statement = {
  name: "handover.settle",
  text: `WITH chat AS (
         SELECT id, owner_id FROM chat_sessions
          WHERE $7 AND id = (SELECT chat_session_id FROM assignment_requests WHERE id = ($1::uuid[])[1])
          FOR NO KEY UPDATE),
       req AS (
         UPDATE assignment_requests r SET status = $2, reason = $3, responded_at = $4, responded_by_id = $5
          WHERE r.id = ANY($1::uuid[]) AND r.status = '${RequestStatus.PENDING}'
            AND ($14::uuid IS NULL OR r.organization_id = $14)
            AND ($15::uuid IS NULL OR r.sender_id = $15)
            AND ($16::uuid IS NULL OR r.recipient_id = $16)
            AND ($17::text[] IS NULL OR r.kind = ANY($17))
            AND (NOT $18 OR NOT EXISTS (SELECT 1 FROM assignment_requests o
                                          WHERE o.chat_session_id = r.chat_session_id AND o.status = '${RequestStatus.PENDING}' AND o.id <> r.id)
                         AND NOT EXISTS (SELECT 1 FROM discussions d WHERE d.chat_session_id = r.chat_session_id AND d.status = 'ACTIVE'))
            AND (NOT $19 OR (cardinality(r.fallback_recipient_ids) = 0 AND r.hop = 1))
            AND (NOT ($7 AND $24) OR NOT coalesce((SELECT x.enforce_capacity FROM assign_discuss_settings x WHERE x.organization_id = r.organization_id), false))
            AND CASE $6::text WHEN 'beforeDeadline' THEN r.expires_at > $4 WHEN 'pastDeadline' THEN r.expires_at <= $4 ELSE true END
            AND (NOT $7 OR EXISTS (SELECT 1 FROM chat))
         RETURNING r.*),
       moved AS (
         UPDATE chat_sessions c SET owner_id = req.recipient_id, updated_at = $4
           FROM req WHERE $7 AND c.id = req.chat_session_id
         RETURNING c.*),
       rec AS (
         UPDATE engagement_tracking_records t
            SET status = $2, reason = $3, responded_at = $4, responded_by_id = $5, updated_at = $4,
                -- Honest measures: a response time only when a person responded; the duration whatever settled it.
                response_seconds = CASE WHEN $2 IN ('${RequestStatus.ACCEPTED}', '${RequestStatus.REJECTED}')
                                        THEN round(extract(epoch FROM ($4::timestamptz - t.requested_at))::numeric, 3) END,
                duration_seconds = round(extract(epoch FROM ($4::timestamptz - t.requested_at))::numeric, 3),
                reason_is_preset = CASE WHEN $3::text IS NOT NULL THEN $3::text = ANY(
                                     CASE $2 WHEN '${RequestStatus.REJECTED}' THEN s.reject_reason_presets
                                             WHEN '${RequestStatus.WITHDRAWN}' THEN s.withdraw_reason_presets
                                             ELSE '{}'::text[] END) END
           FROM req LEFT JOIN assign_discuss_settings s ON s.organization_id = req.organization_id
          WHERE t.request_id = req.id
         RETURNING t.*),
       told AS (
         INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at)
         SELECT gen_random_uuid(), req.organization_id, p.user_id, n.type, n.message, req.id, $4
           FROM unnest($8::uuid[], $9::text[], $10::text[], $11::text[]) AS n(request_id, party, type, message)
           JOIN req ON req.id = n.request_id
           CROSS JOIN LATERAL (SELECT CASE n.party WHEN 'sender' THEN req.sender_id ELSE req.recipient_id END AS user_id) p
          WHERE p.user_id IS DISTINCT FROM $5
         RETURNING *),
       jobs AS (
         DELETE FROM agenda_jobs
          WHERE $13::text IS NOT NULL AND name = $13::text AND data->>'requestId' IN (SELECT id::text FROM req)
         RETURNING id),
       -- An idempotent mutation's record (issue #23), committed with the request it answered (the key
       -- taken already fails the whole statement).
       recorded AS (
         ${RECORD_INSERT}
         -- With the rows the answer is made of: a repeat answers from them, as they were written.
         SELECT $20::uuid, $21::text, $22::text, 'COMMITTED',
                json_build_object('requestId', req.id, 'rows', json_build_object(
                  'request', to_json(req), 'record', (SELECT to_json(r) FROM rec r WHERE r.request_id = req.id),
                  'chat', COALESCE((SELECT to_json(m) FROM moved m WHERE m.id = req.chat_session_id),
                                   (SELECT to_json(c) FROM chat_sessions c WHERE c.id = req.chat_session_id)),
                  'users', '[]'::json)),
                now(), now() + $23::int * interval '1 hour'
           FROM req WHERE $20::uuid IS NOT NULL AND req.id = ($1::uuid[])[1]
         RETURNING 1),
       -- The answer, made before the organization's lock is taken: the lock is held only to append the events and commit.
       answer AS MATERIALIZED (
         SELECT req.id, to_json(req) AS request, to_json(rec) AS record,
                COALESCE((SELECT to_json(m) FROM moved m WHERE m.id = req.chat_session_id),
                         (SELECT to_json(c) FROM chat_sessions c WHERE c.id = req.chat_session_id)) AS chat,
                (SELECT owner_id FROM chat) AS previous_owner_id, coalesce(n.list, '[]') AS notifications
           FROM req JOIN rec ON rec.request_id = req.id
           LEFT JOIN (SELECT request_id, json_agg(to_json(t)) AS list FROM told t GROUP BY request_id) n ON n.request_id = req.id),
       ${appendEventsCtes(
         `SELECT req.organization_id, $12::text AS type, req.id AS request_id, rec.id AS tracking_record_id,
                 req.chat_session_id, $5::uuid AS actor_id, req.sender_id AS from_user_id, req.recipient_id AS to_user_id,
                 $4::timestamptz AS occurred_at, req.id AS ord,
                 ${auditFacts("rec", {
                   before: "was.owner_id",
                   after: "coalesce((SELECT m.owner_id FROM moved m WHERE m.id = req.chat_session_id), was.owner_id)",
                 })}
            -- The chat as the statement found it (its snapshot): the owner before a move.
            FROM req JOIN rec ON rec.request_id = req.id JOIN chat_sessions was ON was.id = req.chat_session_id`,
         ["moved", "told", "jobs", "answer"],
       )}
       SELECT a.request, a.record, e.sequence, ${auditColumnsOf("e")}, a.chat, a.previous_owner_id, a.notifications
         FROM answer a JOIN events e ON e.request_id = a.id`,
};

/** Chats locked without waiting (the deadline's batches): returns the ids it got; a busy chat is left for the next batch. */
const LOCK_CHATS_NOWAIT: Statement = {
  name: "handover.lockChatsNoWait",
  text: `SELECT id FROM chat_sessions WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED`,
};

/** Chats locked in id order, waiting: taken before their requests, the lock order of every writer. */
const LOCK_CHATS: Statement = {
  name: "handover.lockChats",
  text: `SELECT id FROM chat_sessions WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`,
};

const CHATS_PENDING_FOR_RECIPIENT: Statement = {
  name: "handover.chatsPendingForRecipient",
  text: `SELECT DISTINCT chat_session_id AS id FROM assignment_requests WHERE recipient_id = $1 AND status = '${RequestStatus.PENDING}'`,
};

/** Share-locks users a hop is about to be sent to; returns those still active and (when $2, the hop guard's awayRefused) not AWAY. */
const LOCK_RECIPIENTS: Statement = {
  name: "handover.lockRecipients",
  text: `SELECT id, active AND (availability <> 'AWAY' OR NOT $2) AS able FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`,
};

const LOCK_CAPACITY: Statement = {
  name: "handover.lockCapacity",
  text: `SELECT u.max_open_chats, (SELECT CASE WHEN s.enforce_capacity THEN s.default_max_open_chats END
                                  FROM assign_discuss_settings s WHERE s.organization_id = u.organization_id) AS capacity_default
           FROM users u WHERE u.id = $1 FOR NO KEY UPDATE OF u`,
};

/** A user's open chats, counted in a statement of its own (after their row was locked: it sees what committed meanwhile). */
const OPEN_CHATS_OF: Statement = {
  name: "handover.openChatsOf",
  text: `SELECT ${openChatsOf("$1::uuid")} AS n`,
};

const USERS_BY_IDS: Statement = {
  name: "handover.usersByIds",
  text: `SELECT id, name, role, active, availability FROM users WHERE id = ANY($1::uuid[]) AND organization_id = $2`,
};

/**
 * What each settling request's chain does next (see `HandoverRepository.planHops`): for each ASSIGN
 * request that a timeout ($2 = 'timeout') or a rejection ($2 = 'reject') may move on, the first
 * fallback recipient who can take it now, else (timeouts, fallbackToManagers, no manager hop yet)
 * the managers who could, ranked; and the names and statuses of those the chain already tried.
 */
const PLAN_HOPS: Statement = {
  name: "handover.planHops",
  text: `SELECT r.id AS request_id, r.recipient_type, r.fallback_recipient_ids AS fallbacks, nxt.id AS next_id, nxt.name AS next_name, nxt.pos AS next_pos,
              s.assign_request_timeout_seconds AS timeout_seconds, tried.names AS tried_names, tried.statuses AS tried_statuses,
              coalesce(mgr.list, '[]') AS managers
         FROM assignment_requests r
         JOIN chat_sessions c ON c.id = r.chat_session_id
         JOIN users snd ON snd.id = r.sender_id
         LEFT JOIN assign_discuss_settings s ON s.organization_id = r.organization_id
         -- The chat's last move: a hop never sends it straight back to who handed it to its owner (the loop rule).
         CROSS JOIN LATERAL (${chatMovesSelect("c.id", "$6", "0")}) mv
         CROSS JOIN LATERAL (
           SELECT array_agg(u.name ORDER BY h.hop) AS names, array_agg(h.status ORDER BY h.hop) AS statuses,
                  array_agg(h.recipient_id) AS ids
             FROM assignment_requests h LEFT JOIN users u ON u.id = h.recipient_id
            WHERE h.id = coalesce(r.chain_id, r.id) OR h.chain_id = coalesce(r.chain_id, r.id)) tried
         LEFT JOIN LATERAL (
           SELECT u.id, u.name, f.pos
             FROM unnest(r.fallback_recipient_ids) WITH ORDINALITY AS f(id, pos)
             JOIN users u ON u.id = f.id AND u.organization_id = r.organization_id
            WHERE u.active AND (u.availability <> 'AWAY' OR NOT $5) AND u.id <> c.owner_id AND u.id <> r.sender_id
              AND u.role = ANY(CASE r.recipient_type WHEN '${RecipientType.USER}' THEN $3::text[] ELSE $4::text[] END)
              -- A hop skips someone at capacity (when the organization enforces it), and the loop rule's bounce.
              AND ${capacityWhere("u", "r.organization_id")} AND NOT ${pingPongSql("mv", "c.owner_id", "u.id", "$6", pingPongMinutesOf("s"))}
            ORDER BY f.pos LIMIT 1) nxt ON true
         LEFT JOIN LATERAL (
           SELECT json_agg(json_build_object('id', m.id, 'name', m.name) ORDER BY m.pending, m.last_at NULLS FIRST, m.id) AS list
             FROM (SELECT u.id, u.name,
                          (SELECT count(*) FROM assignment_requests p WHERE p.recipient_id = u.id AND p.status = '${RequestStatus.PENDING}') AS pending,
                          (SELECT max(p.created_at) FROM assignment_requests p WHERE p.recipient_id = u.id) AS last_at
                     FROM users u
                    WHERE u.organization_id = r.organization_id AND u.active AND u.role = ANY($4::text[]) AND (u.availability <> 'AWAY' OR NOT $5)
                      AND u.id <> c.owner_id AND u.id <> r.sender_id AND u.id <> ALL (tried.ids) AND ${capacityWhere("u", "r.organization_id")}
                      AND NOT ${pingPongSql("mv", "c.owner_id", "u.id", "$6", pingPongMinutesOf("s"))}
                      -- Inside, not in ON: a one-time filter, so the ranking runs only for chains that need it.
                      AND nxt.id IS NULL AND $2 = 'timeout' AND s.fallback_to_managers AND NOT r.last_resort) m
         ) mgr ON true
        WHERE r.id = ANY($1::uuid[]) AND r.kind = '${RequestKind.ASSIGN}' AND c.status = 'OPEN' AND snd.active
          AND CASE $2 WHEN 'reject' THEN coalesce(s.fallback_on_reject, false) AND (cardinality(r.fallback_recipient_ids) > 0 OR r.hop > 1)
                      ELSE cardinality(r.fallback_recipient_ids) > 0 OR r.hop > 1 OR (coalesce(s.fallback_to_managers, false) AND NOT r.last_resort) END`,
};

/**
 * The next hops of chains, as one statement: for each input row, a new PENDING request made from
 * the one before (same chat, sender, note and kind; the hop's recipient, type, remaining list and
 * deadline), its tracking record (with the previous request's id and the hop number), the
 * recipient's notification, the timeout job and the CREATED event. Runs in the transaction that
 * settled the previous requests, as its last statement.
 */
const OPEN_HOPS: Statement = {
  name: "handover.openHops",
  text: `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, previous_id uuid, record_id uuid, recipient_id uuid, recipient_type text,
                                                          rest uuid[], last_resort boolean, timeout_seconds integer,
                                                          type text, message text, ord integer)),
       -- Each hop's reply window as it stands now, and the deadline it may cap (as for a person's request).
       win AS (
         SELECT i.id, baton_reply_window_end(c.last_customer_message_at, coalesce(s.reply_window_hours, ${DEFAULT_REPLY_WINDOW_HOURS})) AS ends_at,
                coalesce(s.cap_deadline_at_reply_window, true) AS cap
           FROM input i JOIN assignment_requests p ON p.id = i.previous_id JOIN chat_sessions c ON c.id = p.chat_session_id
           LEFT JOIN assign_discuss_settings s ON s.organization_id = p.organization_id),
       req AS (
         INSERT INTO assignment_requests
           (id, organization_id, chat_session_id, sender_id, recipient_id, recipient_type, status, note, timeout_seconds, created_at, expires_at, kind,
            fallback_recipient_ids, previous_request_id, chain_id, hop, last_resort, reply_window_ends_at)
         SELECT i.id, p.organization_id, p.chat_session_id, p.sender_id, i.recipient_id, i.recipient_type, '${RequestStatus.PENDING}', p.note,
                i.timeout_seconds, $2, baton_deadline($2::timestamptz, i.timeout_seconds, w.ends_at, w.cap), p.kind, i.rest, p.id, coalesce(p.chain_id, p.id),
                p.hop + 1, i.last_resort, w.ends_at
           FROM input i JOIN assignment_requests p ON p.id = i.previous_id JOIN win w ON w.id = i.id
         RETURNING *),
       rec AS (
         INSERT INTO engagement_tracking_records
           (id, organization_id, kind, status, chat_session_id, request_id, initiated_by_id, from_user_id, to_user_id,
            recipient_type, note, requested_at, expires_at, timeout_seconds, created_at, updated_at, previous_request_id, hop, reply_window_ends_at)
         SELECT i.record_id, req.organization_id, t.kind, '${RequestStatus.PENDING}', req.chat_session_id, req.id, req.sender_id, c.owner_id,
                req.recipient_id, req.recipient_type, req.note, $2, req.expires_at, req.timeout_seconds, $2, $2, req.previous_request_id, req.hop,
                req.reply_window_ends_at
           FROM req JOIN input i ON i.id = req.id
           JOIN chat_sessions c ON c.id = req.chat_session_id
           JOIN engagement_tracking_records t ON t.request_id = req.previous_request_id
         RETURNING *),
       told AS (
         INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at)
         SELECT gen_random_uuid(), req.organization_id, req.recipient_id, i.type, i.message || baton_window_note(req.reply_window_ends_at, $2), req.id, $2
           FROM req JOIN input i ON i.id = req.id
         RETURNING *),
       job AS (
         INSERT INTO agenda_jobs (name, priority, next_run_at, type, data, disabled, fork, last_modified_by)
         SELECT $3::text, 0, req.expires_at, 'normal', jsonb_build_object('requestId', req.id::text), false, false, $4::text
           FROM req WHERE $3::text IS NOT NULL
         RETURNING id),
       ${appendEventsCtes(
         `SELECT req.organization_id, $5::text AS type, req.id AS request_id, rec.id AS tracking_record_id,
                 req.chat_session_id, NULL::uuid AS actor_id, req.sender_id AS from_user_id, req.recipient_id AS to_user_id,
                 $2::timestamptz AS occurred_at, i.ord, ${auditFacts("rec", { before: "rec.from_user_id", after: "rec.from_user_id" })}
            FROM req JOIN rec ON rec.request_id = req.id JOIN input i ON i.id = req.id`,
         ["told", "job"],
       )}
       SELECT to_json(req) AS request, to_json(rec) AS record, e.sequence, ${auditColumnsOf("e")},
              (SELECT to_json(c) FROM chat_sessions c WHERE c.id = req.chat_session_id) AS chat,
              (SELECT coalesce(json_agg(to_json(t)), '[]') FROM told t WHERE t.request_id = req.id) AS notifications
         FROM req JOIN rec ON rec.request_id = req.id JOIN events e ON e.request_id = req.id`,
};

/** The receiving rule a hop's plan is decided on, as data (src/engine/rules.ts HOP_GUARD). */
export interface HopGuardRow {
  rolesFor: Readonly<Record<RecipientType, readonly string[]>>;
  awayRefused: boolean;
}

/** One row of `planHops`. */
export interface HopPlanRow {
  requestId: string;
  recipientType: RecipientType;
  /** The request's remaining fallback list as it stands (the next hop keeps what follows its recipient). */
  fallbacks: string[];
  next: { id: string; name: string; position: number } | null;
  /** The managers who could take the chat as its last resort, best first (before presence is asked); empty when none may. */
  managers: Array<{ id: string; name: string }>;
  /** The organization's deadline setting now (null: the default). */
  timeoutSeconds: number | null;
  /** The recipients the chain tried so far (this request's included; null where the user no longer exists) and their requests' statuses, in order. */
  triedNames: Array<string | null>;
  triedStatuses: RequestStatus[];
}

/** One hop to open: a new request made from `previousId`. */
export interface HopWrite {
  id: string;
  previousId: string;
  recordId: string;
  recipientId: string;
  recipientType: RecipientType;
  rest: string[];
  lastResort: boolean;
  timeoutSeconds: number;
  /** The recipient's notification. */
  type: string;
  message: string;
}

export class HandoverRepository {
  /** One request of the organization, unlocked (the write re-checks what the decision relied on). */
  async find(sql: Sql, organizationId: string, requestId: string): Promise<RequestState | null> {
    const rows = await sql.rows<StateRow>(FIND, [requestId, organizationId]);
    return rows[0] ? toState(rows[0]) : null;
  }

  /**
   * Pending requests past their deadline, oldest deadline first, locked in the caller's
   * transaction; rows another transaction holds are skipped, not waited for.
   */
  async lockDue(sql: Sql, now: Date, limit: number): Promise<RequestState[]> {
    const rows = await sql.rows<StateRow>(LOCK_DUE, [now, limit]);
    return rows.map(toState);
  }

  /** The pending requests of these chats, locked in the caller's transaction (which holds the chats). */
  async lockPendingForChats(sql: Sql, chatIds: string[]): Promise<RequestState[]> {
    if (chatIds.length === 0) return [];
    const rows = await sql.rows<StateRow>(LOCK_PENDING_FOR_CHATS, [chatIds]);
    return rows.map(toState);
  }

  /** The pending requests sent to a user, locked in the caller's transaction. */
  async lockPendingForRecipient(sql: Sql, userId: string): Promise<RequestState[]> {
    return (await sql.rows<StateRow>(LOCK_PENDING_FOR_RECIPIENT, [userId])).map(toState);
  }

  /** The pending requests a user sent or received, locked in the caller's transaction. */
  async lockPendingForUser(sql: Sql, userId: string): Promise<RequestState[]> {
    const rows = await sql.rows<StateRow>(LOCK_PENDING_FOR_USER, [userId]);
    return rows.map(toState);
  }

  /** What opening a request reads, in one statement, unlocked (the write re-checks the chat). */
  async findOpening(sql: Sql, organizationId: string, chatId: string, recipientId: string, kind: string, now: Date): Promise<OpeningState | null> {
    const [row] = await sql.rows<MovesColumns & {
        ping_pong_minutes: number;
        max_per_day: number;
        chat: Record<string, unknown>;
        recipient_row: Record<string, unknown> | null;
        recipient_id: string | null;
        recipient_name: string;
        recipient_role: UserRole;
        recipient_active: boolean;
        pending_id: string | null;
        pending_expires_at: Date;
        recipient_availability: Availability;
        require_available: boolean;
        recipient_max_open_chats: number | null;
        recipient_open_chats: number;
        capacity_default: number | null;
        assign_timeout: number | null;
        discuss_timeout: number | null;
      }>(FIND_OPENING, [chatId, recipientId, organizationId, kind, now]);
    if (!row) return null;
    return {
      chat: fromJson(ChatSession, row.chat),
      recipient: row.recipient_id
        ? {
            id: row.recipient_id,
            name: row.recipient_name,
            role: row.recipient_role,
            active: row.recipient_active,
            availability: row.recipient_availability,
            openChats: row.recipient_open_chats,
            maxOpenChats: row.recipient_max_open_chats,
          }
        : null,
      capacityDefault: row.capacity_default,
      recipientUser: row.recipient_row ? fromJson(User, row.recipient_row) : null,
      requireAvailableRecipient: row.require_available,
      pending: row.pending_id ? { id: row.pending_id, expiresAt: row.pending_expires_at } : null,
      timeouts:
        row.assign_timeout === null || row.discuss_timeout === null
          ? null
          : { assignRequestTimeoutSeconds: row.assign_timeout, discussRequestTimeoutSeconds: row.discuss_timeout },
      moves: toMoves(row),
      loop: { pingPongMinutes: row.ping_pong_minutes, maxHandoversPerChatPerDay: row.max_per_day },
    };
  }

  /**
   * Opens a request: the chat locked (still open, and still owned by the guard's owner when it
   * names one), the recipient share-locked and still passing the receiving rule's guard, the
   * request (its deadline from the plan or the organization's setting), its tracking record,
   * notifications, timeout job and event, in one statement. Returns what it wrote, or null when a
   * guard no longer holds (the caller reads and decides again). A concurrent pending request for
   * the chat fails it with a unique violation.
   */
  async open(sql: Sql, w: OpenWrite): Promise<Opened | null> {
    const rows = await sql.rows<
      {
        sequence: string;
        record: Record<string, unknown>;
        notifications: Array<Record<string, unknown>>;
        chat: Record<string, unknown>;
        recipient: Record<string, unknown>;
        timeout_seconds: number;
        expires_at: Date;
        reply_window_ends_at: Date | null;
      } & AuditRow
    >(OPEN, [
      w.requestId,
      w.organizationId,
      w.chatId,
      w.senderId,
      w.recipientId,
      w.recipientType satisfies RecipientType,
      w.note,
      w.timeoutSeconds,
      w.now,
      w.guards.chatOwnerId,
      w.recordId,
      w.trackingKind,
      ...partyColumns(w.notifications),
      w.eventType,
      w.jobs?.name ?? null,
      w.jobs?.instance ?? null,
      w.kind,
      w.fallbackIds,
      String(w.guards.recipient.awayRefused),
      w.guards.recipient.roles,
      w.guards.recipient.notIds,
      ...recordColumns(w.record),
      w.guards.recipient.capacity,
      w.guards.loop,
    ]);
    const row = rows[0];
    if (!row) return null;
    const request = Object.assign(new AssignmentRequest(), {
      id: w.requestId,
      organizationId: w.organizationId,
      kind: w.kind,
      chatSessionId: w.chatId,
      senderId: w.senderId,
      recipientId: w.recipientId,
      recipientType: w.recipientType,
      status: RequestStatus.PENDING,
      note: w.note,
      reason: null,
      timeoutSeconds: row.timeout_seconds,
      createdAt: w.now,
      expiresAt: new Date(row.expires_at),
      respondedAt: null,
      respondedById: null,
      fallbackRecipientIds: w.fallbackIds,
      previousRequestId: null,
      chainId: null,
      hop: 1,
      lastResort: false,
      replyWindowEndsAt: row.reply_window_ends_at === null ? null : new Date(row.reply_window_ends_at),
    } satisfies AssignmentRequest);
    return {
      request,
      sequence: String(row.sequence),
      audit: auditLinkOf(row),
      record: fromJson(EngagementTrackingRecord, row.record),
      chat: fromJson(ChatSession, row.chat),
      recipient: fromJson(User, row.recipient),
      notifications: row.notifications.map((n) => fromJson(Notification, n)),
    };
  }

  /** An idempotent mutation's record naming `requestId`, in the caller's transaction. */
  record(sql: Sql, r: IdempotencyRecord, requestId: string): Promise<void> {
    return recordKey(sql, r, "COMMITTED", { requestId });
  }

  /**
   * Settles pending requests (one transition for all of them) with every effect, in one
   * statement: the request rows (only those still pending, inside `window` and within `target`),
   * the chat moved on accept (locked first: lock order everywhere is chat, then request), tracking
   * records, notifications, job removal, events. Returns each request it settled, as committed:
   * fewer than asked when another transaction got there first, or a row is outside the target.
   */
  async settle(sql: Sql, w: SettleWrite): Promise<Written[]> {
    if (w.target.requestIds.length === 0) return [];
    const rows = await sql.rows<{
      request: Record<string, unknown>;
      record: Record<string, unknown>;
      chat: Record<string, unknown>;
      sequence: string;
      previous_owner_id: string | null;
      notifications: Array<Record<string, unknown>>;
    } & AuditRow>(SETTLE, [
      w.target.requestIds,
      w.to,
      w.reason,
      w.now,
      w.actorId,
      w.window,
      w.moveChat,
      w.notifications.map((n) => n.requestId),
      ...partyColumns(w.notifications),
      w.eventType,
      w.jobs?.name ?? null,
      w.target.organizationId,
      w.target.senderId ?? null,
      w.target.recipientId ?? null,
      w.target.kinds ?? null,
      w.target.quietChat ?? false,
      w.target.unchained ?? false,
      ...recordColumns(w.record),
      w.target.capacityUnenforced ?? false,
    ]);
    return rows.map((row) => ({
      request: fromJson(AssignmentRequest, row.request),
      record: fromJson(EngagementTrackingRecord, row.record),
      chat: fromJson(ChatSession, row.chat),
      sequence: String(row.sequence),
      audit: auditLinkOf(row),
      previousOwnerId: row.previous_owner_id,
      notifications: row.notifications.map((n) => fromJson(Notification, n)),
    }));
  }

  /** Locks these chats without waiting; returns the ids it locked (a chat another transaction holds is left out). */
  async lockChatsNoWait(sql: Sql, chatIds: string[]): Promise<Set<string>> {
    if (chatIds.length === 0) return new Set();
    return new Set((await sql.rows<{ id: string }>(LOCK_CHATS_NOWAIT, [chatIds])).map((r) => r.id));
  }

  /** Locks these chats, waiting, in id order (taken before their requests, like every writer). */
  async lockChats(sql: Sql, chatIds: string[]): Promise<void> {
    if (chatIds.length > 0) await sql.rows(LOCK_CHATS, [chatIds]);
  }

  /** The chats of the requests waiting for a user (to lock before those requests). */
  async chatsPendingForRecipient(sql: Sql, userId: string): Promise<string[]> {
    return (await sql.rows<{ id: string }>(CHATS_PENDING_FOR_RECIPIENT, [userId])).map((r) => r.id);
  }

  /**
   * Share-locks the users hops are about to go to, until the caller's transaction ends (a
   * concurrent change to them waits, or is seen if it committed first); returns those still
   * able to take a request (active, not AWAY).
   */
  async lockRecipients(sql: Sql, ids: string[], guard: HopGuardRow): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await sql.rows<{ id: string; able: boolean }>(LOCK_RECIPIENTS, [ids, guard.awayRefused]);
    return new Set(rows.filter((r) => r.able).map((r) => r.id));
  }

  /**
   * A recipient about to be handed a chat, in the caller's transaction: their row locked (two
   * accepts by the same person queue here), then their open chats counted, and the capacity that
   * applies (`capacityDefault` null: the organization does not enforce it).
   */
  async lockCapacity(sql: Sql, userId: string): Promise<{ openChats: number; maxOpenChats: number | null; capacityDefault: number | null }> {
    const [locked] = await sql.rows<{ max_open_chats: number | null; capacity_default: number | null }>(LOCK_CAPACITY, [userId]);
    const [count] = await sql.rows<{ n: number }>(OPEN_CHATS_OF, [userId]);
    return { openChats: count?.n ?? 0, maxOpenChats: locked?.max_open_chats ?? null, capacityDefault: locked?.capacity_default ?? null };
  }

  /** Users of the organization by id, with what naming them as recipients needs. */
  async usersByIds(sql: Sql, organizationId: string, ids: string[]): Promise<Map<string, Omit<NonNullable<OpeningState["recipient"]>, "openChats" | "maxOpenChats">>> {
    if (ids.length === 0) return new Map();
    const rows = await sql.rows<{ id: string; name: string; role: UserRole; active: boolean; availability: Availability }>(USERS_BY_IDS, [ids, organizationId]);
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * For settling requests whose chain may move on: what comes next. Rows only for requests in a
   * chain (fallbacks left, a hop already, or the organization's managers as last resort) whose
   * chat is open and whose sender is active. Read in the settling transaction, which holds the
   * requests and their chats.
   */
  async planHops(sql: Sql, requestIds: string[], cause: "timeout" | "reject", guard: HopGuardRow, now: Date): Promise<HopPlanRow[]> {
    if (requestIds.length === 0) return [];
    const rows = await sql.rows<{
      request_id: string;
      recipient_type: RecipientType;
      fallbacks: string[];
      next_id: string | null;
      next_name: string | null;
      next_pos: string | null;
      timeout_seconds: number | null;
      tried_names: string[];
      tried_statuses: RequestStatus[];
      managers: Array<{ id: string; name: string }>;
    }>(PLAN_HOPS, [requestIds, cause, guard.rolesFor[RecipientType.USER], guard.rolesFor[RecipientType.MANAGER], guard.awayRefused, now]);
    return rows.map((r) => ({
      requestId: r.request_id,
      recipientType: r.recipient_type,
      fallbacks: r.fallbacks,
      next: r.next_id ? { id: r.next_id, name: r.next_name ?? "", position: Number(r.next_pos) } : null,
      managers: r.managers,
      timeoutSeconds: r.timeout_seconds,
      triedNames: r.tried_names,
      triedStatuses: r.tried_statuses,
    }));
  }

  /** Opens the next hops of chains, with every effect, in one statement (see OPEN_HOPS). */
  async openHops(sql: Sql, hops: HopWrite[], now: Date, eventType: string, jobs: JobTable | null): Promise<Written[]> {
    if (hops.length === 0) return [];
    const input = hops.map((h, ord) => ({
      id: h.id,
      previous_id: h.previousId,
      record_id: h.recordId,
      recipient_id: h.recipientId,
      recipient_type: h.recipientType,
      rest: h.rest,
      last_resort: h.lastResort,
      timeout_seconds: h.timeoutSeconds,
      type: h.type,
      message: h.message,
      ord,
    }));
    const rows = await sql.rows<{
      request: Record<string, unknown>;
      record: Record<string, unknown>;
      chat: Record<string, unknown>;
      sequence: string;
      notifications: Array<Record<string, unknown>>;
    } & AuditRow>(OPEN_HOPS, [JSON.stringify(input), now, jobs?.name ?? null, jobs?.instance ?? null, eventType]);
    return rows.map((row) => ({
      request: fromJson(AssignmentRequest, row.request),
      record: fromJson(EngagementTrackingRecord, row.record),
      chat: fromJson(ChatSession, row.chat),
      sequence: String(row.sequence),
      audit: auditLinkOf(row),
      previousOwnerId: null,
      notifications: row.notifications.map((n) => fromJson(Notification, n)),
    }));
  }

  /** A page of the organization's requests, newest first, narrowed by whichever filters are given. */
  list(sql: Sql, f: RequestListFilter, page: PageArgs): Promise<Page<AssignmentRequest>> {
    const where = new Conditions().and("t.organization_id = ?", f.organizationId);
    if (f.recipientId) where.and("t.recipient_id = ?", f.recipientId);
    if (f.senderId) where.and("t.sender_id = ?", f.senderId);
    if (f.partyId) where.and("(t.sender_id = ? OR t.recipient_id = ?)", f.partyId, f.partyId);
    if (f.status) where.and("t.status = ?", f.status);
    if (f.kind) where.and("t.kind = ?", f.kind);
    if (f.chatSessionId) where.and("t.chat_session_id = ?", f.chatSessionId);
    return newestFirst(sql, AssignmentRequest, "assignment_requests", where, page);
  }

  /** Requests pending now, in every organization. */
  async countPending(sql: Sql): Promise<number> {
    const [row] = await sql.rows<{ n: number }>(COUNT_PENDING);
    return row?.n ?? 0;
  }
}

export interface RequestListFilter {
  organizationId: string;
  recipientId?: string | null;
  senderId?: string | null;
  /** Sent or received by this user. */
  partyId?: string | null;
  status?: string | null;
  kind?: string | null;
  chatSessionId?: string | null;
}


/** The record's four parameters (all null: none). */
function recordColumns(r: IdempotencyRecord | null | undefined): unknown[] {
  return r ? [r.userId, r.key, r.hash, r.ttlHours] : [null, null, null, null];
}

const COUNT_PENDING: Statement = { name: "handover.countPending", text: `SELECT count(*)::int AS n FROM assignment_requests WHERE status = '${RequestStatus.PENDING}'` };

