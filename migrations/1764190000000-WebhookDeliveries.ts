import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Webhook deliveries (issue #22): one row per event and matching endpoint, written by the
 * statement that appends the event (same transaction: nothing committed is missed, nothing
 * rolled back is sent). Its id is the message's `webhook-id`, the same for every attempt.
 * `payload` is the JSON body, prepared when the row is first claimed and sent unchanged by every
 * attempt after. A sender holds a row by `lease_until` (claimed with SKIP LOCKED); a crashed
 * sender's lease runs out and another instance sends it again (at least once).
 * `failing_since` on the endpoint: its first failed attempt since its last success, for the
 * disabling rule (WEBHOOK_DISABLE_AFTER_HOURS).
 */
export class WebhookDeliveries1764190000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE webhook_endpoints ADD COLUMN failing_since timestamptz(3);
      CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (organization_id) WHERE enabled;
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_sequence bigint NOT NULL,
        event_type text NOT NULL,
        chat_session_id uuid NOT NULL,
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz(3),
        lease_until timestamptz(3),
        last_response_status integer,
        last_error text CHECK (length(last_error) <= 1024),
        payload text,
        created_at timestamptz(3) NOT NULL,
        delivered_at timestamptz(3),
        UNIQUE (endpoint_id, event_sequence)
      );
      -- What is due, oldest first; and "is an earlier one of this chat still pending" (order per endpoint and chat).
      CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
      CREATE INDEX webhook_deliveries_chat_pending_idx ON webhook_deliveries (endpoint_id, chat_session_id, event_sequence) WHERE status = 'PENDING';
      -- An endpoint's deliveries, newest first (webhookDeliveries).
      CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE webhook_deliveries;
      DROP INDEX webhook_endpoints_enabled_idx;
      ALTER TABLE webhook_endpoints DROP COLUMN failing_since;
    `);
  }
}
