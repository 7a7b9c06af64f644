import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Webhook endpoints (issue #22): where an organization's CRM wants its handover events pushed.
 * `secret` is the Standard Webhooks secret ("whsec_..."), or its AES-256-GCM sealed form
 * ("sealed:v1:...") when WEBHOOK_SECRET_KEY is set; during a rotation the previous one signs too
 * until `previous_secret_until`.
 */
export class WebhookEndpoints1764180000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations(id),
        url text NOT NULL,
        event_types text[] NOT NULL DEFAULT '{}',
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        secret text NOT NULL,
        previous_secret text,
        previous_secret_until timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (organization_id, created_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_endpoints`);
  }
}
