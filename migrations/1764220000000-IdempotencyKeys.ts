import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Idempotency keys (issue #23): a mutation sent with a key happens at most once per user and key.
 * The row is written in the same transaction as the mutation's effects (state COMMITTED, with the
 * mutation's root result), or with its domain error (FAILED); the whole GraphQL response is added
 * once it is built (`response`). Rows live until `expires_at` (IDEMPOTENCY_TTL_HOURS).
 */
export class IdempotencyKeys1764220000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE idempotency_keys (
        user_id uuid NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        state text NOT NULL CHECK (state IN ('COMMITTED', 'FAILED')),
        result json,
        response json, -- json, not jsonb: the answer keeps its fields in the order the query asked them
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, key)
      );
      CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
  }
}
