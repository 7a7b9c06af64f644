import { newestFirst } from "../db/keyset";
import { Conditions, type Sql, type Statement } from "../db/sql";
import type { Page, PageArgs } from "../kernel/page";
import { EngagementTrackingRecord, TrackingKind, TrackingStatus } from "../modules/tracking/engagement-tracking-record.entity";

export interface TrackingListFilter {
  organizationId: string;
  /** Only records this user took part in (initiated, from, to). */
  partyId: string | null;
  chatSessionId: string | null;
  userId: string | null;
  status: TrackingStatus | null;
  kind: TrackingKind | null;
  bulkOperationId: string | null;
  from: Date | null;
  to: Date | null;
}

const INSERT_DIRECT: Statement = {
  name: "tracking.insertDirect",
  text: `INSERT INTO engagement_tracking_records
           (id, organization_id, kind, status, chat_session_id, bulk_operation_id, initiated_by_id, from_user_id, to_user_id,
            responded_by_id, requested_at, responded_at, duration_seconds, created_at, updated_at, overridden_rule)
         SELECT r.id, $4, '${TrackingKind.DIRECT_ASSIGN}', '${TrackingStatus.ASSIGNED}', r.chat_id, $5, $6, r.from_id, $7,
                $6, $8, $8, 0, $8, $8, r.overridden
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $9::text[]) AS r(id, chat_id, from_id, overridden)`,
};

/** One record as INSERT_DIRECT writes it, for publishing without reading 10,000 rows back. */
export function directAssignRecord(r: {
  id: string;
  org: string;
  chatId: string;
  operationId: string;
  actorId: string;
  fromUserId: string;
  toUserId: string;
  now: Date;
  overriddenRule?: string | null;
}): EngagementTrackingRecord {
  return Object.assign(new EngagementTrackingRecord(), {
    id: r.id,
    organizationId: r.org,
    kind: TrackingKind.DIRECT_ASSIGN,
    status: TrackingStatus.ASSIGNED,
    chatSessionId: r.chatId,
    requestId: null,
    bulkOperationId: r.operationId,
    initiatedById: r.actorId,
    fromUserId: r.fromUserId,
    toUserId: r.toUserId,
    respondedById: r.actorId,
    recipientType: null,
    note: null,
    reason: null,
    requestedAt: r.now,
    respondedAt: r.now,
    expiresAt: null,
    timeoutSeconds: null,
    responseSeconds: null,
    durationSeconds: 0,
    reasonIsPreset: null,
    discussionId: null,
    previousRequestId: null,
    hop: 1,
    endedAt: null,
    endedById: null,
    endReason: null,
    messageCount: null,
    createdAt: r.now,
    updatedAt: r.now,
    replyWindowEndsAt: null,
    overriddenRule: r.overriddenRule ?? null,
  } satisfies EngagementTrackingRecord);
}

export class TrackingRepository {
  constructor(private readonly db: Sql) {}

  list(f: TrackingListFilter, page: PageArgs): Promise<Page<EngagementTrackingRecord>> {
    const where = new Conditions().and("t.organization_id = ?", f.organizationId);
    if (f.partyId) where.and("(t.initiated_by_id = ? OR t.from_user_id = ? OR t.to_user_id = ?)", f.partyId, f.partyId, f.partyId);
    if (f.chatSessionId) where.and("t.chat_session_id = ?", f.chatSessionId);
    if (f.userId) where.and("(t.initiated_by_id = ? OR t.from_user_id = ? OR t.to_user_id = ?)", f.userId, f.userId, f.userId);
    if (f.status) where.and("t.status = ?", f.status);
    if (f.kind) where.and("t.kind = ?", f.kind);
    if (f.bulkOperationId) where.and("t.bulk_operation_id = ?", f.bulkOperationId);
    if (f.from) where.and("t.created_at >= ?", f.from);
    if (f.to) where.and("t.created_at < ?", f.to);
    return newestFirst(this.db, EngagementTrackingRecord, "engagement_tracking_records", where, page);
  }

  /** DIRECT_ASSIGN records of one bulk assignment (in its transaction), one per moved chat. */
  async insertDirect(
    sql: Sql,
    r: {
      ids: string[];
      chatIds: string[];
      fromIds: string[];
      organizationId: string;
      operationId: string;
      actorId: string;
      toUserId: string;
      now: Date;
      /** Per chat: the loop rule a manager's override let this move break (null: none). */
      overridden: Array<string | null>;
    },
  ): Promise<void> {
    await sql.rows(INSERT_DIRECT, [r.ids, r.chatIds, r.fromIds, r.organizationId, r.operationId, r.actorId, r.toUserId, r.now, r.overridden]);
  }
}

/** The CSV export's columns, in order: the `bi.engagement_tracking_records` view's, less the organization id. */
export const EXPORT_COLUMNS = [
  "record_id",
  "organization_name",
  "kind",
  "status",
  "chat_session_id",
  "customer_name",
  "customer_phone",
  "request_id",
  "bulk_operation_id",
  "recipient_type",
  "initiated_by_id",
  "initiated_by_name",
  "initiated_by_email",
  "from_user_id",
  "from_user_name",
  "from_user_email",
  "to_user_id",
  "to_user_name",
  "to_user_email",
  "responded_by_id",
  "responded_by_name",
  "responded_by_email",
  "note",
  "reason",
  "requested_at",
  "responded_at",
  "expires_at",
  "timeout_seconds",
  "response_seconds",
  "created_at",
  "updated_at",
  "discussion_id",
  "ended_at",
  "ended_by_id",
  "ended_by_name",
  "end_reason",
  "message_count",
  "duration_seconds",
  "reason_is_preset",
  "time_zone",
  "requested_local_date",
  "requested_local_time",
  "previous_request_id",
  "hop",
  "reply_window_ends_at",
  "reply_window_seconds_left",
  "reply_window_closed_while_pending",
  "overridden_rule",
] as const;

/** The events export's columns: the `bi.assignment_events` view's, less the organization id. */
export const EVENT_EXPORT_COLUMNS = [
  "sequence",
  "organization_name",
  "type",
  "occurred_at",
  "request_id",
  "tracking_record_id",
  "chat_session_id",
  "customer_name",
  "actor_id",
  "actor_name",
  "actor_email",
  "from_user_id",
  "from_user_name",
  "from_user_email",
  "to_user_id",
  "to_user_name",
  "to_user_email",
  "request_kind",
  "occurred_local_date",
  "occurred_local_time",
  "previous_hash",
  "hash",
] as const;

const TIMESTAMPS = new Set(["requested_at", "responded_at", "expires_at", "created_at", "updated_at", "ended_at", "occurred_at", "reply_window_ends_at"]);
/** Numbers and booleans: never free text. */
const NOT_TEXT = new Set([
  "sequence",
  "timeout_seconds",
  "response_seconds",
  "message_count",
  "duration_seconds",
  "reason_is_preset",
  "hop",
  "reply_window_seconds_left",
  "reply_window_closed_while_pending",
  "requested_local_date",
  "requested_local_time",
  "occurred_local_date",
  "occurred_local_time",
]);
/** Text a person or a customer wrote (names, emails, notes, reasons, phone numbers): what a spreadsheet could take for a formula. */
const isFreeText = (column: string): boolean => !TIMESTAMPS.has(column) && !NOT_TEXT.has(column) && !column.endsWith("_id");

/**
 * How a column leaves Postgres. Timestamps as ISO 8601 UTC text, the same as the GraphQL API's
 * DateTime. For spreadsheets (`excel`), text that starts with =, +, -, @, a tab or a CR gets a
 * leading apostrophe, so Excel and its kin show it as text instead of running it as a formula
 * (OWASP, CSV injection); this also keeps a phone number's "+". So does such a character right
 * after any delimiter a spreadsheet may split on (`,` `;` tab `|`): `y;=1+1;z` would be a formula
 * in a semicolon-delimited reader (Excel in most of Europe). Every text cell is also quoted
 * (`exportCopy`'s FORCE_QUOTE), so a reader with any delimiter keeps it one cell.
 */
function columnSql(column: string, format: ExportFormat): string {
  if (TIMESTAMPS.has(column)) return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;
  if (format === "excel" && isFreeText(column)) {
    const inner = `regexp_replace(${column}, E'([,;\\t|])([=+@-])', E'\\\\1''\\\\2', 'g')`;
    return `CASE WHEN left(${column}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || ${inner} ELSE ${inner} END AS ${column}`;
  }
  return column;
}

/** What an export is narrowed to: the organization, [from, to), and (tracking records only) the list's filters. */
export interface ExportFilter {
  organizationId: string;
  from: Date | null;
  to: Date | null;
  format: ExportFormat;
  status?: string | null;
  kind?: string | null;
  userId?: string | null;
  chatSessionId?: string | null;
}

/** `csv`: plain RFC 4180 for BI tools. `excel`: the same, safe to open in a spreadsheet (and with a byte-order mark, added by the handler). */
export type ExportFormat = "csv" | "excel";

/** What one export streams: a `bi` view, its columns, the time column [from, to) filters on, the order. */
export interface ExportSpec {
  view: string;
  columns: readonly string[];
  timeColumn: string;
  orderBy: string;
}

export const RECORDS_EXPORT: ExportSpec = {
  view: "reporting.engagement_tracking_records",
  columns: EXPORT_COLUMNS,
  timeColumn: "created_at",
  orderBy: "created_at, record_id",
};

export const EVENTS_EXPORT: ExportSpec = {
  view: "reporting.assignment_events",
  columns: EVENT_EXPORT_COLUMNS,
  timeColumn: "occurred_at",
  orderBy: "sequence",
};

/**
 * An export's `COPY … TO STDOUT` of an organization's rows in [from, to), as CSV with a header.
 * COPY takes no bind parameters: `literal` quotes each value (pg's escapeLiteral on the
 * connection that runs it).
 */
export function exportCopy(spec: ExportSpec, literal: (value: string) => string, f: ExportFilter): string {
  const where = [`organization_id = ${literal(f.organizationId)}::uuid`];
  if (f.from) where.push(`${spec.timeColumn} >= ${literal(f.from.toISOString())}::timestamptz`);
  if (f.to) where.push(`${spec.timeColumn} < ${literal(f.to.toISOString())}::timestamptz`);
  // The tracking records' own filters, as the GraphQL list has them (the user: initiator, previous or new owner).
  if (f.status) where.push(`status = ${literal(f.status)}`);
  if (f.kind) where.push(`kind = ${literal(f.kind)}`);
  if (f.chatSessionId) where.push(`chat_session_id = ${literal(f.chatSessionId)}::uuid`);
  if (f.userId) {
    const id = `${literal(f.userId)}::uuid`;
    where.push(`(initiated_by_id = ${id} OR from_user_id = ${id} OR to_user_id = ${id})`);
  }
  // The order is the view's columns (`v.`), not the output's: a timestamp column leaves as formatted
  // text under the same name, and sorting that text would sort every row (on disk) instead of
  // reading the index in order.
  const orderBy = spec.orderBy
    .split(",")
    .map((c) => `v.${c.trim()}`)
    .join(", ");
  return `COPY (SELECT ${spec.columns.map((c) => columnSql(c, f.format)).join(", ")} FROM ${spec.view} v
                 WHERE ${where.join(" AND ")} ORDER BY ${orderBy})
            TO STDOUT WITH (FORMAT csv, HEADER true${f.format === "excel" ? `, FORCE_QUOTE (${spec.columns.filter((c) => !TIMESTAMPS.has(c) && isFreeText(c)).join(", ")})` : ""})`;
}
