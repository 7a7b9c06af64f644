import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Webhook claims that write less (issue #22, measured in the bench: the organization's event lock
 * is held through each commit's WAL flush, so WAL the dispatcher writes beside the handovers slows
 * them). The message body is prepared once per event, not once per endpoint, in a table of its own
 * (every endpoint's message of one event carries the same body); a claim then changes only
 * `lease_until` and `attempts`, which no index holds any more, so with room left on each page
 * (fillfactor 80) the claim's update is a heap-only tuple: no index entry, little WAL. The leased
 * index goes: an endpoint's runs in flight are its leased heads, which the claim already reads.
 */
export class WebhookPayloads1764230000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_payloads (
        event_sequence bigint PRIMARY KEY,
        body text NOT NULL
      );
      INSERT INTO webhook_payloads (event_sequence, body)
        SELECT DISTINCT ON (event_sequence) event_sequence, payload FROM webhook_deliveries
         WHERE payload IS NOT NULL ORDER BY event_sequence, created_at;
      ALTER TABLE webhook_deliveries DROP COLUMN payload;
      DROP INDEX webhook_deliveries_leased_idx;
      DROP INDEX webhook_deliveries_heads_idx;
      CREATE INDEX webhook_deliveries_heads_idx ON webhook_deliveries (endpoint_id, chat_session_id, event_sequence)
        INCLUDE (id, next_attempt_at) WHERE status = 'PENDING';
      ALTER TABLE webhook_deliveries SET (fillfactor = 80);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE webhook_deliveries RESET (fillfactor);
      DROP INDEX webhook_deliveries_heads_idx;
      CREATE INDEX webhook_deliveries_heads_idx ON webhook_deliveries (endpoint_id, chat_session_id, event_sequence)
        INCLUDE (id, next_attempt_at, lease_until) WHERE status = 'PENDING';
      CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (endpoint_id) WHERE status = 'PENDING' AND lease_until IS NOT NULL;
      ALTER TABLE webhook_deliveries ADD COLUMN payload text;
      UPDATE webhook_deliveries d SET payload = p.body FROM webhook_payloads p WHERE p.event_sequence = d.event_sequence;
      DROP TABLE webhook_payloads;
    `);
  }
}
