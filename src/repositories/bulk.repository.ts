import type { Sql, Statement } from "../db/sql";

/** What a bulk assignment stored: its counts and per-chat results (replayed for a repeated idempotency key). */
export interface StoredBulkOperation {
  id: string;
  requestFingerprint: string;
  assignedCount: number;
  skippedCount: number;
  results: unknown[];
}

const CLAIM: Statement = {
  name: "bulk.claim",
  text: `INSERT INTO bulk_operations (id, organization_id, initiated_by_id, to_user_id, idempotency_key, request_fingerprint, assigned_count, skipped_count, results)
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, '[]') ON CONFLICT DO NOTHING RETURNING id`,
};
const FIND: Statement = {
  name: "bulk.find",
  text: `SELECT id, request_fingerprint, assigned_count, skipped_count, results FROM bulk_operations
          WHERE organization_id = $1 AND initiated_by_id = $2 AND idempotency_key = $3`,
};
const SAVE: Statement = {
  name: "bulk.save",
  text: `INSERT INTO bulk_operations (id, organization_id, initiated_by_id, to_user_id, request_fingerprint, assigned_count, skipped_count, results)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET assigned_count = EXCLUDED.assigned_count, skipped_count = EXCLUDED.skipped_count, results = EXCLUDED.results`,
};

export class BulkRepository {
  /**
   * Claims an idempotency key for a new operation (in the caller's transaction). False when the
   * key is taken: a concurrent call with the same key waits here for the first one's commit.
   */
  async claim(sql: Sql, op: { id: string; organizationId: string; initiatedById: string; toUserId: string; key: string; fingerprint: string }): Promise<boolean> {
    const rows = await sql.rows(CLAIM, [op.id, op.organizationId, op.initiatedById, op.toUserId, op.key, op.fingerprint]);
    return rows.length > 0;
  }

  async find(sql: Sql, organizationId: string, initiatedById: string, key: string): Promise<StoredBulkOperation | null> {
    const [row] = await sql.rows<{ id: string; request_fingerprint: string; assigned_count: number; skipped_count: number; results: unknown[] }>(FIND, [
      organizationId,
      initiatedById,
      key,
    ]);
    return row
      ? { id: row.id, requestFingerprint: row.request_fingerprint, assignedCount: row.assigned_count, skippedCount: row.skipped_count, results: row.results }
      : null;
  }

  /** Stores the outcome (creating the row, or completing the one its key claimed). */
  async save(
    sql: Sql,
    op: { id: string; organizationId: string; initiatedById: string; toUserId: string; fingerprint: string; assignedCount: number; skippedCount: number; results: unknown[] },
  ): Promise<void> {
    await sql.rows(SAVE, [op.id, op.organizationId, op.initiatedById, op.toUserId, op.fingerprint, op.assignedCount, op.skippedCount, JSON.stringify(op.results)]);
  }
}
