import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Fallback chains: an ASSIGN request carries the recipients still to try after it; a hop (the
 * next request of a chain, made in the transaction that timed out or rejected the one before)
 * links back to it, numbers itself and shares the chain's id (the first request's). At most one
 * hop per request, enforced by a unique index. Tracking records carry the previous request's
 * id and the hop number, and so does the bi view, so BI can follow a chain.
 */
export class FallbackChains1764160000000 implements MigrationInterface {
  name = "FallbackChains1764160000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE assignment_requests
        ADD COLUMN fallback_recipient_ids uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(fallback_recipient_ids) <= 5),
        ADD COLUMN previous_request_id uuid REFERENCES assignment_requests (id),
        ADD COLUMN chain_id uuid,
        ADD COLUMN hop integer NOT NULL DEFAULT 1 CHECK (hop >= 1),
        ADD COLUMN last_resort boolean NOT NULL DEFAULT false;
      CREATE UNIQUE INDEX assignment_requests_one_next ON assignment_requests (previous_request_id) WHERE previous_request_id IS NOT NULL;
      CREATE INDEX assignment_requests_chain ON assignment_requests (chain_id) WHERE chain_id IS NOT NULL;

      ALTER TABLE engagement_tracking_records
        ADD COLUMN previous_request_id uuid,
        ADD COLUMN hop integer NOT NULL DEFAULT 1;

      CREATE OR REPLACE VIEW bi.engagement_tracking_records AS
      SELECT t.id AS record_id,
             t.organization_id,
             o.name AS organization_name,
             t.kind,
             t.status,
             t.chat_session_id,
             c.customer_name,
             c.customer_phone,
             t.request_id,
             t.bulk_operation_id,
             t.recipient_type,
             t.initiated_by_id,
             ib.name AS initiated_by_name,
             ib.email AS initiated_by_email,
             t.from_user_id,
             fu.name AS from_user_name,
             fu.email AS from_user_email,
             t.to_user_id,
             tu.name AS to_user_name,
             tu.email AS to_user_email,
             t.responded_by_id,
             rb.name AS responded_by_name,
             rb.email AS responded_by_email,
             t.note,
             t.reason,
             t.requested_at,
             t.responded_at,
             t.expires_at,
             t.timeout_seconds,
             t.response_seconds,
             t.created_at,
             t.updated_at,
             t.discussion_id,
             t.ended_at,
             t.ended_by_id,
             eb.name AS ended_by_name,
             t.end_reason,
             t.message_count,
             t.duration_seconds,
             t.reason_is_preset,
             coalesce(st.time_zone, 'UTC') AS time_zone,
             (t.requested_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::date AS requested_local_date,
             (t.requested_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::time(0) AS requested_local_time,
             t.previous_request_id,
             t.hop
        FROM engagement_tracking_records t
        JOIN organizations o ON o.id = t.organization_id
        JOIN chat_sessions c ON c.id = t.chat_session_id
        JOIN users ib ON ib.id = t.initiated_by_id
        JOIN users fu ON fu.id = t.from_user_id
        JOIN users tu ON tu.id = t.to_user_id
        LEFT JOIN users rb ON rb.id = t.responded_by_id
        LEFT JOIN users eb ON eb.id = t.ended_by_id
        LEFT JOIN assign_discuss_settings st ON st.organization_id = t.organization_id;
    `);
  }

  async down(): Promise<void> {
    throw new Error("FallbackChains1764160000000 is not reversible here: the bi view would have to drop columns");
  }
}
