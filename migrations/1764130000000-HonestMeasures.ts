import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Honest measures for BI: `response_seconds` only when a person responded (accept, reject;
 * an ENDED record was accepted first), `duration_seconds` from sent to settled whatever settled
 * it, and `reason_is_preset` telling a quick pick from free text.
 */
export class HonestMeasures1764130000000 implements MigrationInterface {
  name = "HonestMeasures1764130000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE engagement_tracking_records
        ADD COLUMN duration_seconds numeric(12, 3),
        ADD COLUMN reason_is_preset boolean;

      UPDATE engagement_tracking_records SET duration_seconds = response_seconds WHERE response_seconds IS NOT NULL;
      UPDATE engagement_tracking_records SET response_seconds = NULL
       WHERE status IN ('TIMED_OUT', 'WITHDRAWN', 'CANCELLED', 'ASSIGNED');
      UPDATE engagement_tracking_records t
         SET reason_is_preset = t.reason = ANY(CASE t.status WHEN 'REJECTED' THEN s.reject_reason_presets
                                                             WHEN 'WITHDRAWN' THEN s.withdraw_reason_presets
                                                             ELSE '{}'::text[] END)
        FROM assign_discuss_settings s
       WHERE s.organization_id = t.organization_id AND t.reason IS NOT NULL;

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
             t.reason_is_preset
        FROM engagement_tracking_records t
        JOIN organizations o ON o.id = t.organization_id
        JOIN chat_sessions c ON c.id = t.chat_session_id
        JOIN users ib ON ib.id = t.initiated_by_id
        JOIN users fu ON fu.id = t.from_user_id
        JOIN users tu ON tu.id = t.to_user_id
        LEFT JOIN users rb ON rb.id = t.responded_by_id
        LEFT JOIN users eb ON eb.id = t.ended_by_id;
    `);
  }

  async down(): Promise<void> {
    throw new Error("HonestMeasures1764130000000 is not reversible: response_seconds of timeouts and withdrawals was cleared");
  }
}
