import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Webhook claims by the head of each (endpoint, chat) queue (issue #22, measured in the bench):
 * claiming by scanning every pending delivery in due order and testing each for an earlier
 * pending one of its chat cost time in proportion to the backlog (14 ms at 4,000 pending, and
 * once per claim), so a backlog slowed its own draining. The claim now walks the heads only,
 * one index probe per (endpoint, chat) with something pending, answered from this index alone;
 * leased rows (the in-flight cap) have an index of their own. The due-order index is no longer
 * read.
 */
export class WebhookDeliveryHeads1764200000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX webhook_deliveries_due_idx;
      DROP INDEX webhook_deliveries_chat_pending_idx;
      CREATE INDEX webhook_deliveries_heads_idx ON webhook_deliveries (endpoint_id, chat_session_id, event_sequence)
        INCLUDE (id, next_attempt_at, lease_until) WHERE status = 'PENDING';
      CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (endpoint_id) WHERE status = 'PENDING' AND lease_until IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX webhook_deliveries_leased_idx;
      DROP INDEX webhook_deliveries_heads_idx;
      CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
      CREATE INDEX webhook_deliveries_chat_pending_idx ON webhook_deliveries (endpoint_id, chat_session_id, event_sequence) WHERE status = 'PENDING';
    `);
  }
}
