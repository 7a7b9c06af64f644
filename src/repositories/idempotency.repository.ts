import { escapeLiteral } from "pg";
import type { Sql, Statement } from "../db/sql";

/** A key's row as the unit's opening statements read it (under the key's lock). */
export interface KeyRow {
  request_hash: string;
  state: "COMMITTED" | "FAILED";
  result: string | null;
  response: string | null;
  /** Written less than 3 s ago: its run may still be building its answer. */
  recent: boolean;
}

const STORE_RESPONSE: Statement = {
  name: "idempotency.storeResponse",
  text: "UPDATE idempotency_keys SET response = $3 WHERE user_id = $1 AND key = $2 AND response IS NULL",
};
const PURGE: Statement = {
  name: "idempotency.purge",
  text: `WITH gone AS (DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT 10000) RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
};

/**
 * Idempotency keys. The texts that open and end a unit run as one simple-protocol round trip each
 * (several statements, so their values are literals, escaped by pg): the unit's lock and lookup
 * cost one round trip, and its record and COMMIT another.
 */
export class IdempotencyRepository {
  constructor(private readonly db: Sql) {}

  /**
   * Begins the unit: the key's transaction-scoped advisory lock (without waiting: a run holding it
   * is answered IN_USE), the key's live row, and the savepoint a domain error rolls back to.
   * Results: [BEGIN, [{ locked }], [row?], SAVEPOINT].
   */
  openText(userId: string, key: string): string {
    const u = escapeLiteral(userId);
    const k = escapeLiteral(key);
    return `BEGIN;
      SELECT pg_try_advisory_xact_lock(hashtextextended(${u} || ':' || ${k}, 23)) AS locked;
      SELECT request_hash, state, result::text AS result, response::text AS response, now() - created_at < interval '3 seconds' AS recent
        FROM idempotency_keys WHERE user_id = ${u} AND key = ${k} AND expires_at > now();
      SAVEPOINT work`;
  }

  /** Records the run (in its transaction) and commits; a FAILED run first rolls its effects back. */
  closeText(r: { userId: string; key: string; hash: string; state: "COMMITTED" | "FAILED"; result: unknown; ttlHours: number }): string {
    const json = escapeLiteral(JSON.stringify(r.result));
    return `${r.state === "FAILED" ? "ROLLBACK TO SAVEPOINT work;" : ""}
      INSERT INTO idempotency_keys (user_id, key, request_hash, state, result, created_at, expires_at)
      VALUES (${escapeLiteral(r.userId)}, ${escapeLiteral(r.key)}, ${escapeLiteral(r.hash)}, '${r.state}', ${json}::jsonb, now(), now() + ${Number(r.ttlHours)} * interval '1 hour')
      ON CONFLICT (user_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, state = EXCLUDED.state, result = EXCLUDED.result, response = NULL,
             created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at;
      COMMIT`;
  }

  /** The whole answer, once built (a replay sends it as it was). */
  async storeResponse(userId: string, key: string, response: unknown): Promise<void> {
    await this.db.rows(STORE_RESPONSE, [userId, key, JSON.stringify(response)]);
  }

  /** Deletes up to 10,000 expired keys; how many. */
  async purgeExpired(): Promise<number> {
    const [row] = await this.db.rows<{ n: number }>(PURGE);
    return row?.n ?? 0;
  }
}
