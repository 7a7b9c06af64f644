import { fromRow } from "../db/hydrate";
import type { Sql, Statement } from "../db/sql";
import { AssignmentEvent } from "../modules/assignments/assignment-event.entity";

/**
 * The event log's one rule of order, used by every statement that writes events (the handover
 * engine's, bulk assignment's): within an organization, sequences commit in the order they are
 * drawn, so a client that has seen sequence N has seen every earlier one of its organization and
 * `assignmentEventsSince(N)` never skips an event that commits late.
 *
 * How: the statement that inserts the events first takes each organization's advisory lock
 * (transaction-scoped, organizations in sorted order so two statements never wait on each other),
 * then draws the sequences. The lock is held until commit. Callers make this the last statement
 * of their transaction (the engine's transitions are one statement, committed on its own), so the
 * lock is held for the statement and its commit, never across work in this process.
 *
 * The lock is taken only after the rest of the statement's writes have run: reading `source`
 * runs the CTEs it reads, and every CTE named in `before` (each must have a RETURNING clause) is
 * read to its end first. Postgres would otherwise run an unread data-modifying CTE after the main
 * query, with the lock held, and every other writer of the organization waiting on it.
 *
 * `source` is a SELECT with the columns of `EVENT_COLUMNS` plus `ord` (the order to draw in); its
 * `facts` come from `auditFacts`. It may read the statement's other CTEs. The CTEs are named
 * `event_locks`, `events` and `webhook_hooks`; `events` returns `sequence`, `tracking_record_id`,
 * `request_id`, `organization_id`, `type`, `chat_session_id` and the chain's `previous_hash`,
 * `hash` and `audit_record`.
 *
 * The hash chain (issue #25) is linked by the table's triggers as the rows are inserted, under the
 * lock taken here (migrations/1764310000000-AuditChain.ts).
 *
 * Webhooks (issue #22): `webhook_hooks` writes a delivery for each event and each of its
 * organization's enabled endpoints that wants the event's type, in the same statement, so a
 * delivery exists exactly when its event committed. Postgres runs a data-modifying CTE to its end
 * whether or not the main query reads it.
 */
export const EVENT_COLUMNS =
  "organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at, facts";

/**
 * An event's `facts` (issue #25: part of its audit record, see migrations/1764310000000-AuditChain.ts),
 * made from its tracking record as the statement leaves it (`rec`: a row of engagement_tracking_records):
 * `status` (the record's status after the event: PENDING, ACCEPTED, ..., ASSIGNED, ENDED), `kind`,
 * `senderId`, `recipientId`, `ownerBefore` and `ownerAfter` (the chat's owner before and after the
 * event; the same when it did not move), `reason` (a rejection's, withdrawal's or cancel's, a
 * discussion's end reason; else null), `note`, `hop` and `overriddenRule`. Flat: strings, integers
 * and null only (the record's JCS relies on it).
 */
export function auditFacts(rec: string, owner: { before: string; after: string }, reason = `${rec}.reason`): string {
  return `jsonb_build_object('hop', ${rec}.hop, 'kind', ${rec}.kind, 'note', ${rec}.note, 'overriddenRule', ${rec}.overridden_rule,
            'ownerAfter', ${owner.after}, 'ownerBefore', ${owner.before}, 'reason', ${reason},
            'recipientId', ${rec}.to_user_id, 'senderId', ${rec}.initiated_by_id, 'status', ${rec}.status) AS facts`;
}

/** The chain's columns of an appended event (the `events` CTE returns them): the answer carries them to subscribers. */
export const AUDIT_RETURNING = "facts, previous_hash, hash, audit_record";

/** `AUDIT_RETURNING`'s columns of the `events` CTE read as `alias`. */
export const auditColumnsOf = (alias: string): string =>
  AUDIT_RETURNING.split(", ").map((c) => `${alias}.${c}`).join(", ");

/** An appended event's place in its organization's hash chain (issue #25). */
export interface AuditLink {
  facts: Record<string, string | number | null>;
  previousHash: string;
  hash: string;
  auditRecord: string;
}

export interface AuditRow {
  facts: Record<string, string | number | null>;
  previous_hash: string;
  hash: string;
  audit_record: string;
}

export const auditLinkOf = (row: AuditRow): AuditLink => ({
  facts: row.facts,
  previousHash: row.previous_hash,
  hash: row.hash,
  auditRecord: row.audit_record,
});

export function appendEventsCtes(source: string, before: readonly string[] = []): string {
  const first = before.map((cte) => ` AND (SELECT count(*) FROM ${cte}) >= 0`).join("");
  return `event_locks AS (
      SELECT pg_advisory_xact_lock(hashtextextended(o::text, 0))
        FROM (SELECT DISTINCT organization_id AS o FROM (${source}) s ORDER BY 1) orgs
       WHERE true${first}),
    events AS (
      INSERT INTO assignment_events (${EVENT_COLUMNS})
      SELECT ${EVENT_COLUMNS} FROM (${source}) s
       WHERE (SELECT count(*) FROM event_locks) > 0
       ORDER BY ord
      RETURNING sequence, tracking_record_id, request_id, organization_id, type, chat_session_id, ${AUDIT_RETURNING}),
    webhook_hooks AS (
      INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, event_sequence, event_type, chat_session_id, next_attempt_at, created_at)
      SELECT gen_random_uuid(), e.organization_id, w.id, e.sequence, e.type, e.chat_session_id, now(), now()
        FROM events e
        JOIN webhook_endpoints w ON w.organization_id = e.organization_id AND w.enabled
                                AND (cardinality(w.event_types) = 0 OR e.type = ANY (w.event_types))
      RETURNING 1)`;
}

const SINCE: Statement = {
  name: "events.since",
  text: `SELECT * FROM assignment_events
          WHERE organization_id = $1 AND sequence > $2 AND ($4::uuid IS NULL OR from_user_id = $4 OR to_user_id = $4)
          ORDER BY sequence LIMIT $3`,
};

const APPEND_DIRECT: Statement = {
  name: "events.appendDirect",
  text: `WITH ${appendEventsCtes(
    `SELECT $4::uuid AS organization_id, 'ASSIGNED'::text AS type, NULL::uuid AS request_id,
            r.record_id AS tracking_record_id, r.chat_id AS chat_session_id, $5::uuid AS actor_id, r.from_id AS from_user_id,
            $6::uuid AS to_user_id, $7::timestamptz AS occurred_at, r.n AS ord,
            ${auditFacts("t", { before: "r.from_id", after: "$6::uuid" })}
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS r(record_id, chat_id, from_id, n)
       JOIN engagement_tracking_records t ON t.id = r.record_id`,
  )}
  SELECT sequence, tracking_record_id, ${AUDIT_RETURNING} FROM events`,
};

const HEAD: Statement = {
  name: "events.head",
  text: `SELECT max(sequence)::text AS head FROM assignment_events WHERE organization_id = $1`,
};

export class EventRepository {
  constructor(private readonly db: Sql) {}

  /** The organization's latest event sequence (null before its first event). */
  async head(organizationId: string): Promise<string | null> {
    const [row] = await this.db.rows<{ head: string | null }>(HEAD, [organizationId]);
    return row?.head ?? null;
  }

  /** The organization's events after `after`, in sequence order; only those about `partyId` when given. */
  async since(organizationId: string, after: string, first: number, partyId: string | null): Promise<AssignmentEvent[]> {
    const rows = await this.db.rows<Record<string, unknown>>(SINCE, [organizationId, after, first, partyId]);
    return rows.map((row) => Object.assign(fromRow(AssignmentEvent, row), { sequence: String(row.sequence) }));
  }

  /**
   * ASSIGNED events of a bulk assignment, in the order given; returns each record's sequence.
   * Like every event append it holds the organization's lock to commit: make it the transaction's last statement.
   */
  async appendDirect(
    sql: Sql,
    e: { recordIds: string[]; chatIds: string[]; fromIds: string[]; organizationId: string; actorId: string; toUserId: string; now: Date },
  ): Promise<Map<string, { sequence: string; audit: AuditLink }>> {
    const rows = await sql.rows<{ sequence: string; tracking_record_id: string } & AuditRow>(APPEND_DIRECT, [
      e.recordIds,
      e.chatIds,
      e.fromIds,
      e.organizationId,
      e.actorId,
      e.toUserId,
      e.now,
    ]);
    return new Map(rows.map((r) => [r.tracking_record_id, { sequence: String(r.sequence), audit: auditLinkOf(r) }]));
  }
}
