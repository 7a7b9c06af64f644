import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The core model. Timestamps are timestamptz(3): millisecond precision matches JavaScript's Date,
 * so keyset cursors built from a row's createdAt compare exactly.
 */
export class Init1764050000000 implements MigrationInterface {
  name = "Init1764050000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      );

      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        email text NOT NULL,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        role text NOT NULL CHECK (role IN ('USER', 'MANAGER', 'ADMIN')),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX users_org_email_uq ON users (organization_id, lower(email));
      CREATE INDEX users_org_role_idx ON users (organization_id, role) WHERE active;

      CREATE TABLE chat_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        customer_name text NOT NULL,
        customer_phone text NOT NULL,
        channel text NOT NULL DEFAULT 'WHATSAPP' CHECK (channel IN ('WHATSAPP')),
        status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED')),
        owner_id uuid NOT NULL REFERENCES users(id),
        last_customer_message_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE INDEX chat_sessions_org_created_idx ON chat_sessions (organization_id, created_at DESC, id DESC);
      CREATE INDEX chat_sessions_owner_idx ON chat_sessions (owner_id, status, created_at DESC, id DESC);
      CREATE INDEX chat_sessions_org_status_idx ON chat_sessions (organization_id, status, created_at DESC, id DESC);

      CREATE TABLE assignment_requests (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        chat_session_id uuid NOT NULL REFERENCES chat_sessions(id),
        sender_id uuid NOT NULL REFERENCES users(id),
        recipient_id uuid NOT NULL REFERENCES users(id),
        recipient_type text NOT NULL CHECK (recipient_type IN ('USER', 'MANAGER')),
        status text NOT NULL DEFAULT 'PENDING'
          CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED', 'WITHDRAWN', 'TIMED_OUT', 'CANCELLED')),
        note text,
        reason text,
        timeout_seconds integer NOT NULL CHECK (timeout_seconds BETWEEN 5 AND 86400),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        responded_at timestamptz(3),
        responded_by_id uuid REFERENCES users(id),
        CHECK ((status = 'PENDING') = (responded_at IS NULL))
      );
      -- A chat has at most one pending request: the database enforces it, whatever races.
      CREATE UNIQUE INDEX assignment_requests_one_pending_uq
        ON assignment_requests (chat_session_id) WHERE status = 'PENDING';
      CREATE INDEX assignment_requests_recipient_idx ON assignment_requests (recipient_id, status, created_at DESC, id DESC);
      CREATE INDEX assignment_requests_sender_idx ON assignment_requests (sender_id, status, created_at DESC, id DESC);
      CREATE INDEX assignment_requests_org_idx ON assignment_requests (organization_id, status, created_at DESC, id DESC);
      CREATE INDEX assignment_requests_chat_idx ON assignment_requests (chat_session_id, created_at DESC, id DESC);
      CREATE INDEX assignment_requests_pending_expiry_idx ON assignment_requests (expires_at) WHERE status = 'PENDING';

      CREATE TABLE engagement_tracking_records (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('ASSIGN_REQUEST', 'DIRECT_ASSIGN')),
        status text NOT NULL
          CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED', 'WITHDRAWN', 'TIMED_OUT', 'CANCELLED', 'ASSIGNED')),
        chat_session_id uuid NOT NULL REFERENCES chat_sessions(id),
        request_id uuid UNIQUE REFERENCES assignment_requests(id),
        bulk_operation_id uuid,
        initiated_by_id uuid NOT NULL REFERENCES users(id),
        from_user_id uuid NOT NULL REFERENCES users(id),
        to_user_id uuid NOT NULL REFERENCES users(id),
        responded_by_id uuid REFERENCES users(id),
        recipient_type text CHECK (recipient_type IN ('USER', 'MANAGER')),
        note text,
        reason text,
        requested_at timestamptz(3) NOT NULL,
        responded_at timestamptz(3),
        expires_at timestamptz(3),
        timeout_seconds integer,
        response_seconds numeric(12, 3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE INDEX etr_org_created_idx ON engagement_tracking_records (organization_id, created_at DESC, id DESC);
      CREATE INDEX etr_chat_idx ON engagement_tracking_records (chat_session_id, created_at DESC, id DESC);
      CREATE INDEX etr_initiated_by_idx ON engagement_tracking_records (initiated_by_id, created_at DESC, id DESC);
      CREATE INDEX etr_from_user_idx ON engagement_tracking_records (from_user_id, created_at DESC, id DESC);
      CREATE INDEX etr_to_user_idx ON engagement_tracking_records (to_user_id, created_at DESC, id DESC);
      CREATE INDEX etr_org_status_idx ON engagement_tracking_records (organization_id, status, created_at DESC, id DESC);
      CREATE INDEX etr_org_kind_idx ON engagement_tracking_records (organization_id, kind, created_at DESC, id DESC);
      CREATE INDEX etr_bulk_idx ON engagement_tracking_records (bulk_operation_id) WHERE bulk_operation_id IS NOT NULL;

      -- Append-only: one row per transition, its sequence is the order subscribers see.
      CREATE TABLE assignment_events (
        sequence bigserial PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        type text NOT NULL
          CHECK (type IN ('CREATED', 'ACCEPTED', 'REJECTED', 'WITHDRAWN', 'TIMED_OUT', 'CANCELLED', 'ASSIGNED')),
        request_id uuid REFERENCES assignment_requests(id),
        tracking_record_id uuid NOT NULL REFERENCES engagement_tracking_records(id),
        chat_session_id uuid NOT NULL REFERENCES chat_sessions(id),
        actor_id uuid REFERENCES users(id),
        -- The two parties, so "events I may see" is an indexed filter, not a join.
        from_user_id uuid NOT NULL REFERENCES users(id),
        to_user_id uuid NOT NULL REFERENCES users(id),
        occurred_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE INDEX assignment_events_org_seq_idx ON assignment_events (organization_id, sequence);
      CREATE INDEX assignment_events_from_seq_idx ON assignment_events (from_user_id, sequence);
      CREATE INDEX assignment_events_to_seq_idx ON assignment_events (to_user_id, sequence);
      CREATE INDEX assignment_events_request_idx ON assignment_events (request_id);
      CREATE RULE assignment_events_no_update AS ON UPDATE TO assignment_events DO INSTEAD NOTHING;
      CREATE RULE assignment_events_no_delete AS ON DELETE TO assignment_events DO INSTEAD NOTHING;

      CREATE TABLE notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id),
        type text NOT NULL,
        message text NOT NULL,
        request_id uuid REFERENCES assignment_requests(id),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        read_at timestamptz(3)
      );
      CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id DESC);
      CREATE INDEX notifications_user_unread_idx ON notifications (user_id, created_at DESC, id DESC) WHERE read_at IS NULL;

      CREATE TABLE assign_discuss_settings (
        organization_id uuid PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
        assign_request_timeout_seconds integer NOT NULL DEFAULT 120
          CHECK (assign_request_timeout_seconds BETWEEN 5 AND 86400),
        reject_reason_presets text[] NOT NULL
          DEFAULT ARRAY['In a meeting', 'Not available', 'Handling priority issue'],
        withdraw_reason_presets text[] NOT NULL
          DEFAULT ARRAY['No longer needed', 'I resolved it myself'],
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE assign_discuss_settings;
      DROP TABLE notifications;
      DROP TABLE assignment_events;
      DROP TABLE engagement_tracking_records;
      DROP TABLE assignment_requests;
      DROP TABLE chat_sessions;
      DROP TABLE users;
      DROP TABLE organizations;
    `);
  }
}
