import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Dimension views for BI: every user and every chat of an organization, so questions such as
 * "agents who never received a handover" or per-agent rates including zeros can be written
 * against the bi schema alone.
 */
export class BiDimensions1764150000000 implements MigrationInterface {
  name = "BiDimensions1764150000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE VIEW bi.users AS
      SELECT u.id AS user_id,
             u.organization_id,
             o.name AS organization_name,
             u.name,
             u.email,
             u.role,
             u.active,
             u.availability,
             u.created_at
        FROM users u
        JOIN organizations o ON o.id = u.organization_id;

      CREATE VIEW bi.chat_sessions AS
      SELECT c.id AS chat_session_id,
             c.organization_id,
             o.name AS organization_name,
             c.customer_name,
             c.customer_phone,
             c.channel,
             c.status,
             c.owner_id,
             ow.name AS owner_name,
             c.last_customer_message_at,
             c.created_at,
             c.updated_at
        FROM chat_sessions c
        JOIN organizations o ON o.id = c.organization_id
        JOIN users ow ON ow.id = c.owner_id;

      DO $$
      BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'baton_bi') THEN
          GRANT SELECT ON bi.users, bi.chat_sessions TO baton_bi;
        END IF;
      END
      $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW bi.users; DROP VIEW bi.chat_sessions;`);
  }
}
