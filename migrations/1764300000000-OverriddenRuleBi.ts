import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Loops in BI (issue #24): `engagement_tracking_records` (the `reporting` view, Baton's CSV, and
 * the tenant's `bi` view over it) gains `overridden_rule`, the loop rule a manager's override let
 * the handover break (HANDOVER_LOOP, HANDOVER_LIMIT_REACHED; null: none). Added at the end: the
 * views are replaced in place and keep their grants.
 */
const BI_FILTER = `(v.organization_id IN (SELECT a.organization_id FROM reporting.bi_access a WHERE a.role_name = current_user)
        OR EXISTS (SELECT 1 FROM reporting.bi_access a JOIN pg_roles r ON r.rolname = a.role_name
                    WHERE a.organization_id IS NULL AND pg_has_role(current_user, r.oid, 'USAGE')))`;

export class OverriddenRuleBi1764300000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE VIEW reporting.engagement_tracking_records AS
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
             t.hop,
             t.reply_window_ends_at,
             round(extract(epoch FROM t.reply_window_ends_at - t.requested_at))::integer AS reply_window_seconds_left,
             (t.reply_window_ends_at > t.requested_at
              AND t.reply_window_ends_at <= coalesce(t.responded_at, CASE WHEN t.status = 'PENDING' THEN now() ELSE t.updated_at END)) AS reply_window_closed_while_pending,
             t.overridden_rule
        FROM engagement_tracking_records t
        JOIN organizations o ON o.id = t.organization_id
        JOIN chat_sessions c ON c.id = t.chat_session_id
        JOIN users ib ON ib.id = t.initiated_by_id
        JOIN users fu ON fu.id = t.from_user_id
        JOIN users tu ON tu.id = t.to_user_id
        LEFT JOIN users rb ON rb.id = t.responded_by_id
        LEFT JOIN users eb ON eb.id = t.ended_by_id
        LEFT JOIN assign_discuss_settings st ON st.organization_id = t.organization_id;
      CREATE OR REPLACE VIEW bi.engagement_tracking_records WITH (security_barrier) AS
        SELECT v.* FROM reporting.engagement_tracking_records v WHERE ${BI_FILTER};

    `);
  }

  async down(): Promise<void> {
    throw new Error("OverriddenRuleBi1764300000000 is not reversible here: the bi views would have to drop a column");
  }
}
