import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Discuss: a second kind of request with the same life up to its answer, then a discussion
 * between the two agents. A chat has at most one pending request per kind. A DISCUSS request's
 * tracking record becomes ENDED with its discussion, carrying who ended it, why, and how many
 * messages were written.
 */
export class Discuss1764110000000 implements MigrationInterface {
  name = "Discuss1764110000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE assignment_requests ADD COLUMN kind text NOT NULL DEFAULT 'ASSIGN' CHECK (kind IN ('ASSIGN', 'DISCUSS'));
      DROP INDEX assignment_requests_one_pending_uq;
      CREATE UNIQUE INDEX assignment_requests_one_pending_uq
        ON assignment_requests (chat_session_id, kind) WHERE status = 'PENDING';

      ALTER TABLE assign_discuss_settings
        ADD COLUMN discuss_request_timeout_seconds integer NOT NULL DEFAULT 120
        CHECK (discuss_request_timeout_seconds BETWEEN 5 AND 86400);

      CREATE TABLE discussions (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        request_id uuid NOT NULL UNIQUE REFERENCES assignment_requests(id),
        chat_session_id uuid NOT NULL REFERENCES chat_sessions(id),
        requester_id uuid NOT NULL REFERENCES users(id),
        consultant_id uuid NOT NULL REFERENCES users(id),
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ENDED')),
        started_at timestamptz(3) NOT NULL,
        ended_at timestamptz(3),
        ended_by_id uuid REFERENCES users(id),
        end_reason text CHECK (length(end_reason) <= 500),
        message_count integer NOT NULL DEFAULT 0,
        CHECK ((status = 'ENDED') = (ended_at IS NOT NULL))
      );
      CREATE INDEX discussions_org_started_idx ON discussions (organization_id, started_at DESC, id DESC);
      CREATE INDEX discussions_chat_active_idx ON discussions (chat_session_id) WHERE status = 'ACTIVE';
      CREATE INDEX discussions_requester_idx ON discussions (requester_id, started_at DESC, id DESC);
      CREATE INDEX discussions_consultant_idx ON discussions (consultant_id, started_at DESC, id DESC);

      CREATE TABLE discussion_messages (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        discussion_id uuid NOT NULL REFERENCES discussions(id),
        author_id uuid NOT NULL REFERENCES users(id),
        body text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
        created_at timestamptz(3) NOT NULL
      );
      CREATE INDEX discussion_messages_discussion_idx ON discussion_messages (discussion_id, created_at, id);

      ALTER TABLE engagement_tracking_records DROP CONSTRAINT engagement_tracking_records_kind_check;
      ALTER TABLE engagement_tracking_records ADD CONSTRAINT engagement_tracking_records_kind_check
        CHECK (kind IN ('ASSIGN_REQUEST', 'DIRECT_ASSIGN', 'DISCUSS_REQUEST'));
      ALTER TABLE engagement_tracking_records DROP CONSTRAINT engagement_tracking_records_status_check;
      ALTER TABLE engagement_tracking_records ADD CONSTRAINT engagement_tracking_records_status_check
        CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED', 'WITHDRAWN', 'TIMED_OUT', 'CANCELLED', 'ASSIGNED', 'ENDED'));
      ALTER TABLE engagement_tracking_records
        ADD COLUMN discussion_id uuid REFERENCES discussions(id),
        ADD COLUMN ended_at timestamptz(3),
        ADD COLUMN ended_by_id uuid REFERENCES users(id),
        ADD COLUMN end_reason text,
        ADD COLUMN message_count integer;

      ALTER TABLE assignment_events DROP CONSTRAINT assignment_events_type_check;
      ALTER TABLE assignment_events ADD CONSTRAINT assignment_events_type_check
        CHECK (type IN ('CREATED', 'ACCEPTED', 'REJECTED', 'WITHDRAWN', 'TIMED_OUT', 'CANCELLED', 'ASSIGNED', 'DISCUSSION_ENDED'));

      -- The views gain the discussion's fields, at their end (existing columns keep their place).
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
             t.message_count
        FROM engagement_tracking_records t
        JOIN organizations o ON o.id = t.organization_id
        JOIN chat_sessions c ON c.id = t.chat_session_id
        JOIN users ib ON ib.id = t.initiated_by_id
        JOIN users fu ON fu.id = t.from_user_id
        JOIN users tu ON tu.id = t.to_user_id
        LEFT JOIN users rb ON rb.id = t.responded_by_id
        LEFT JOIN users eb ON eb.id = t.ended_by_id;

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
             r.kind AS request_kind
        FROM assignment_events e
        JOIN organizations o ON o.id = e.organization_id
        JOIN chat_sessions c ON c.id = e.chat_session_id
        JOIN users fu ON fu.id = e.from_user_id
        JOIN users tu ON tu.id = e.to_user_id
        LEFT JOIN users a ON a.id = e.actor_id
        LEFT JOIN assignment_requests r ON r.id = e.request_id;
    `);
  }

  async down(): Promise<void> {
    throw new Error("Discuss1764110000000 is not reversible: it would drop every discussion and its messages");
  }
}
