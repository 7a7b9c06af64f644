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
 * `source` is a SELECT with the columns of `EVENT_COLUMNS` plus `ord` (the order to draw in). It
 * may read the statement's other CTEs. The CTEs are named `event_locks` and `events`; `events`
 * returns `sequence`, `tracking_record_id` and `request_id`.
 */
export const EVENT_COLUMNS =
  "organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at";

export function appendEventsCtes(source: string): string {
  return `event_locks AS (
      SELECT pg_advisory_xact_lock(hashtextextended(o::text, 0))
        FROM (SELECT DISTINCT organization_id AS o FROM (${source}) s ORDER BY 1) orgs),
    events AS (
      INSERT INTO assignment_events (${EVENT_COLUMNS})
      SELECT ${EVENT_COLUMNS} FROM (${source}) s
       WHERE (SELECT count(*) FROM event_locks) > 0
       ORDER BY ord
      RETURNING sequence, tracking_record_id, request_id)`;
}
