import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Bulk assignment's operations (for idempotent replays), and the reporting surface: schema `bi`
 * with flat views for BI tools and a role `baton_bi` that can read those views and nothing else.
 */
export class BulkAndReporting1764070000000 implements MigrationInterface {
  name = "BulkAndReporting1764070000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bulk_operations (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        initiated_by_id uuid NOT NULL REFERENCES users(id),
        to_user_id uuid NOT NULL REFERENCES users(id),
        idempotency_key text,
        -- What was asked, so a replayed key with a different request is refused.
        request_fingerprint text NOT NULL,
        assigned_count integer NOT NULL,
        skipped_count integer NOT NULL,
        results jsonb NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX bulk_operations_idempotency_uq
        ON bulk_operations (organization_id, initiated_by_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

      CREATE SCHEMA bi;

      CREATE VIEW bi.engagement_tracking_records AS
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
             t.updated_at
        FROM engagement_tracking_records t
        JOIN organizations o ON o.id = t.organization_id
        JOIN chat_sessions c ON c.id = t.chat_session_id
        JOIN users ib ON ib.id = t.initiated_by_id
        JOIN users fu ON fu.id = t.from_user_id
        JOIN users tu ON tu.id = t.to_user_id
        LEFT JOIN users rb ON rb.id = t.responded_by_id;

      CREATE VIEW bi.assignment_events AS
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
             tu.email AS to_user_email
        FROM assignment_events e
        JOIN organizations o ON o.id = e.organization_id
        JOIN chat_sessions c ON c.id = e.chat_session_id
        JOIN users fu ON fu.id = e.from_user_id
        JOIN users tu ON tu.id = e.to_user_id
        LEFT JOIN users a ON a.id = e.actor_id;

      -- Roles are cluster-wide: another database on this server may have made it already. An
      -- app user without CREATEROLE cannot make it: a DBA does, once (README, "BI access").
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'baton_bi') THEN
          CREATE ROLE baton_bi NOLOGIN;
        END IF;
      EXCEPTION
        WHEN duplicate_object OR unique_violation THEN
          NULL; -- created concurrently by another database's migration
        WHEN insufficient_privilege THEN
          RAISE NOTICE 'baton_bi was not created (this database user lacks CREATEROLE); see the README, "BI access"';
      END
      $$;
      DO $$
      BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'baton_bi') THEN
          GRANT USAGE ON SCHEMA bi TO baton_bi;
          GRANT SELECT ON bi.engagement_tracking_records, bi.assignment_events TO baton_bi;
        END IF;
      END
      $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      REVOKE ALL ON ALL TABLES IN SCHEMA bi FROM baton_bi;
      REVOKE ALL ON SCHEMA bi FROM baton_bi;
      DROP SCHEMA bi CASCADE;
      DROP TABLE bulk_operations;
    `);
  }
}
