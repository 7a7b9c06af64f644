import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * An organization's time zone (IANA, default UTC), and local dates and times in the bi views so
 * BI tools group days as the organization lives them.
 */
export class OrganizationTimeZone1764140000000 implements MigrationInterface {
  name = "OrganizationTimeZone1764140000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE assign_discuss_settings ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';

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
             (t.requested_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::time(0) AS requested_local_time
        FROM engagement_tracking_records t
        JOIN organizations o ON o.id = t.organization_id
        JOIN chat_sessions c ON c.id = t.chat_session_id
        JOIN users ib ON ib.id = t.initiated_by_id
        JOIN users fu ON fu.id = t.from_user_id
        JOIN users tu ON tu.id = t.to_user_id
        LEFT JOIN users rb ON rb.id = t.responded_by_id
        LEFT JOIN users eb ON eb.id = t.ended_by_id
        LEFT JOIN assign_discuss_settings st ON st.organization_id = t.organization_id;

      CREATE OR REPLACE VIEW bi.assignment_events AS
      SELECT e.sequence,
             e.organization_id,
             o.name AS organization_name,
             e.type,
             e.occurred_at,
             e.request_id,
             e.tracking_record_id,
             e.chat_session_id,
             c.customer_name,
             e.actor_id,
             a.name AS actor_name,
             a.email AS actor_email,
             e.from_user_id,
             fu.name AS from_user_name,
             fu.email AS from_user_email,
             e.to_user_id,
             tu.name AS to_user_name,
             tu.email AS to_user_email,
             r.kind AS request_kind,
             (e.occurred_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::date AS occurred_local_date,
             (e.occurred_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::time(0) AS occurred_local_time
        FROM assignment_events e
        JOIN organizations o ON o.id = e.organization_id
        JOIN chat_sessions c ON c.id = e.chat_session_id
        JOIN users fu ON fu.id = e.from_user_id
        JOIN users tu ON tu.id = e.to_user_id
        LEFT JOIN users a ON a.id = e.actor_id
        LEFT JOIN assignment_requests r ON r.id = e.request_id
        LEFT JOIN assign_discuss_settings st ON st.organization_id = e.organization_id;
    `);
  }

  async down(): Promise<void> {
    throw new Error("OrganizationTimeZone1764140000000 is not reversible here: the views would have to drop columns");
  }
}
