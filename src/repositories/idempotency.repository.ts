import { escapeLiteral } from "pg";
import type { Sql, Statement } from "../db/sql";
import type { PendingRecord } from "../db/unit-of-work";

/** A key's row as the unit's opening statements read it (under the key's lock). */
export interface KeyRow {
  request_hash: string;
  state: "COMMITTED" | "FAILED";
  result: string | null;
  response: string | null;
  /** Written less than 3 s ago: its run may still be building its answer. */
  recent: boolean;
}

/** The head of every statement that writes a key's record (alone, or with a mutation's effects in HandoverRepository). */
export const RECORD_INSERT = "INSERT INTO idempotency_keys (user_id, key, request_hash, state, result, created_at, expires_at)";

/** A record on its own; the key taken already fails it (isKeyTaken). */
const RECORD: Statement = {
  name: "idempotency.record",
  text: `${RECORD_INSERT} VALUES ($1, $2, $3, $4, $5, now(), now() + $6::int * interval '1 hour')`,
};

/** Whose key a record is, and how long it lives. */
export type KeyOwner = Omit<PendingRecord, "recorded">;

/** Writes a key's record on `sql` (the pool, or the caller's transaction). */
export async function recordKey(sql: Sql, r: KeyOwner, state: "COMMITTED" | "FAILED", result: unknown): Promise<void> {
  await sql.rows(RECORD, [r.userId, r.key, r.hash, state, JSON.stringify(result), r.ttlHours]);
}
/** A key's row, live or expired (an expired one is deleted, so that the key may be used again). */
const READ: Statement = {
  name: "idempotency.read",
  text: `WITH gone AS (DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND expires_at <= now() RETURNING 1)
         SELECT request_hash, state, result::text AS result, response::text AS response, now() - created_at < interval '3 seconds' AS recent
           FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND expires_at > now()`,
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
  constructor(
    private readonly db: Sql,
    /** Runs a simple-protocol text (several statements) on a connection of the pool. */
    private readonly simple: (text: string) => Promise<void>,
  ) {}

  /**
   * Begins the unit: the key's transaction-scoped advisory lock (without waiting: a run holding it
   * is answered IN_USE), the key's live row, and the savepoint a domain error rolls back to.
   * Results: [BEGIN, [{ locked }], DELETE (an expired row), [row?], SAVEPOINT].
   */
  openText(userId: string, key: string): string {
    const u = escapeLiteral(userId);
    const k = escapeLiteral(key);
    return `BEGIN;
      SELECT pg_try_advisory_xact_lock(hashtextextended(${u} || ':' || ${k}, 23)) AS locked;
      DELETE FROM idempotency_keys WHERE user_id = ${u} AND key = ${k} AND expires_at <= now();
      SELECT request_hash, state, result::text AS result, response::text AS response, now() - created_at < interval '3 seconds' AS recent
        FROM idempotency_keys WHERE user_id = ${u} AND key = ${k} AND expires_at > now();
      SAVEPOINT work`;
  }

  /** Records the run (in its transaction) and commits; a FAILED run first rolls its effects back. */
  closeText(r: { userId: string; key: string; hash: string; state: "COMMITTED" | "FAILED"; result: unknown; ttlHours: number }): string {
    const json = escapeLiteral(JSON.stringify(r.result));
    return `${r.state === "FAILED" ? "ROLLBACK TO SAVEPOINT work;" : ""}
      ${RECORD_INSERT}
      VALUES (${escapeLiteral(r.userId)}, ${escapeLiteral(r.key)}, ${escapeLiteral(r.hash)}, '${r.state}', ${json}::json, now(), now() + ${Number(r.ttlHours)} * interval '1 hour');
      COMMIT`;
  }

  /** The key's live row (an expired one is deleted), or undefined. */
  async read(userId: string, key: string): Promise<KeyRow | undefined> {
    const [row] = await this.db.rows<KeyRow>(READ, [userId, key]);
    return row;
  }

  /** A run's record on its own (a direct run that failed with a domain error). */
  record(r: KeyOwner & { state: "COMMITTED" | "FAILED"; result: unknown }): Promise<void> {
    return recordKey(this.db, r, r.state, r.result);
  }

  /**
   * The whole answer, once built (a replay sends it as it was), committed asynchronously: a crash
   * may lose it, and a replay then rebuilds it from the record. One round trip (several
   * statements, so the values are literals).
   */
  async storeResponse(userId: string, key: string, response: unknown): Promise<void> {
    await this.simple(`BEGIN; SET LOCAL synchronous_commit = off;
      UPDATE idempotency_keys SET response = ${escapeLiteral(JSON.stringify(response))}
       WHERE user_id = ${escapeLiteral(userId)} AND key = ${escapeLiteral(key)} AND response IS NULL;
      COMMIT`);
  }

  /** Deletes up to 10,000 expired keys; how many. */
  async purgeExpired(): Promise<number> {
    const [row] = await this.db.rows<{ n: number }>(PURGE);
    return row?.n ?? 0;
  }
}
