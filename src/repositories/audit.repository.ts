import type { Sql, Statement } from "../db/sql";
import type { ChainEvent, Checkpoint, Facts, PublicKeyEntry } from "../kernel/audit-chain";

/** The verifiable log's rows (issue #25): events' chain columns, the heads, checkpoints and public keys. */

const EVENTS: Statement = {
  name: "audit.events",
  text: `SELECT sequence::text AS sequence, organization_id, type, occurred_at, actor_id, chat_session_id, request_id, tracking_record_id,
                from_user_id, to_user_id, facts, previous_hash, hash, audit_record
           FROM assignment_events e WHERE organization_id = $1 AND e.sequence > $2 ORDER BY e.sequence LIMIT $3`,
};

const HASH_BEFORE: Statement = {
  name: "audit.hashBefore",
  text: `SELECT hash FROM assignment_events WHERE organization_id = $1 AND sequence < $2 ORDER BY sequence DESC LIMIT 1`,
};

const HEAD: Statement = {
  name: "audit.head",
  text: `SELECT sequence::text AS sequence, hash FROM audit_heads WHERE organization_id = $1`,
};

const CHECKPOINTS_FROM: Statement = {
  name: "audit.checkpointsFrom",
  text: `SELECT organization_id, sequence::text AS sequence, hash, signed_at, signature, key_id
           FROM audit_checkpoints c WHERE organization_id = $1 AND c.sequence >= $2 ORDER BY c.sequence`,
};

const CHECKPOINTS_PAGE: Statement = {
  name: "audit.checkpointsPage",
  text: `SELECT organization_id, sequence::text AS sequence, hash, signed_at, signature, key_id
           FROM audit_checkpoints c WHERE organization_id = $1 AND ($2::bigint IS NULL OR c.sequence < $2) ORDER BY c.sequence DESC LIMIT $3`,
};

const KEYS: Statement = {
  name: "audit.keys",
  text: `SELECT key_id, public_key_pem, active_from, active_until FROM audit_keys ORDER BY active_from, key_id`,
};

/**
 * A signing key put in service: published (when new) from `$3`, and every other key still active
 * retired at that moment. A key seen again keeps its row (a restart is not a rotation). Returns the
 * key's row as it stands: retired (`active_until` set) when a newer key replaced it meanwhile.
 */
const REGISTER_KEY: Statement = {
  name: "audit.registerKey",
  text: `WITH added AS (
           INSERT INTO audit_keys (key_id, public_key_pem, active_from) VALUES ($1, $2, $3)
           ON CONFLICT (key_id) DO NOTHING RETURNING key_id, active_from),
         retired AS (
           UPDATE audit_keys SET active_until = a.active_from
             FROM added a WHERE audit_keys.key_id <> a.key_id AND audit_keys.active_until IS NULL AND audit_keys.active_from <= a.active_from
           RETURNING audit_keys.key_id)
         SELECT k.key_id, k.active_from, k.active_until, (SELECT count(*) FROM retired)::int AS retired
           FROM audit_keys k WHERE k.key_id = $1
         UNION ALL
         SELECT a.key_id, a.active_from, NULL, (SELECT count(*) FROM retired)::int FROM added a`,
};

/**
 * Organizations whose head is past their last checkpoint and whose last checkpoint is at least `$1`
 * minutes old at `$3` (or that have none); `$2`: only this one (null: all), `$1` 0: any past their last.
 */
const DUE: Statement = {
  name: "audit.due",
  text: `SELECT h.organization_id, h.sequence::text AS sequence, h.hash
           FROM audit_heads h
           LEFT JOIN LATERAL (SELECT c.sequence, c.signed_at FROM audit_checkpoints c
                               WHERE c.organization_id = h.organization_id ORDER BY c.sequence DESC LIMIT 1) last ON true
          WHERE h.sequence > coalesce(last.sequence, 0)
            AND (last.signed_at IS NULL OR last.signed_at <= $3::timestamptz - make_interval(mins => $1::int))
            AND ($2::uuid IS NULL OR h.organization_id = $2)
          ORDER BY h.organization_id`,
};

const INSERT_CHECKPOINT: Statement = {
  name: "audit.insertCheckpoint",
  text: `INSERT INTO audit_checkpoints (organization_id, sequence, hash, signed_at, signature, key_id)
         SELECT $1, $2, $3, $4, $5, $6
          WHERE EXISTS (SELECT 1 FROM audit_keys k WHERE k.key_id = $6 AND (k.active_until IS NULL OR k.active_until >= $4))
         ON CONFLICT (organization_id, sequence) DO NOTHING
         RETURNING sequence`,
};

const ORG_EXISTS: Statement = { name: "audit.orgExists", text: `SELECT 1 FROM organizations WHERE id = $1` };

interface EventRow {
  sequence: string;
  organization_id: string;
  type: string;
  occurred_at: Date;
  actor_id: string | null;
  chat_session_id: string;
  request_id: string | null;
  tracking_record_id: string;
  from_user_id: string;
  to_user_id: string;
  facts: Facts;
  previous_hash: string;
  hash: string;
  audit_record: string;
}

interface CheckpointRow {
  organization_id: string;
  sequence: string;
  hash: string;
  signed_at: Date;
  signature: string;
  key_id: string;
}

const checkpointOf = (r: CheckpointRow): Checkpoint => ({
  organizationId: r.organization_id,
  sequence: r.sequence,
  hash: r.hash,
  signedAt: new Date(r.signed_at),
  signature: r.signature,
  keyId: r.key_id,
});

export class AuditRepository {
  constructor(private readonly db: Sql) {}

  async organizationExists(organizationId: string): Promise<boolean> {
    return (await this.db.rows(ORG_EXISTS, [organizationId])).length > 0;
  }

  /** A page of the organization's events after `after`, in sequence order, with their own columns. */
  async events(organizationId: string, after: string, limit: number): Promise<ChainEvent[]> {
    const rows = await this.db.rows<EventRow>(EVENTS, [organizationId, after, limit]);
    return rows.map((r) => ({
      sequence: r.sequence,
      auditRecord: r.audit_record,
      previousHash: r.previous_hash,
      hash: r.hash,
      columns: {
        organizationId: r.organization_id,
        sequence: r.sequence,
        type: r.type,
        occurredAt: new Date(r.occurred_at),
        actorId: r.actor_id,
        chatSessionId: r.chat_session_id,
        requestId: r.request_id,
        trackingRecordId: r.tracking_record_id,
        facts: r.facts,
        fromUserId: r.from_user_id,
        toUserId: r.to_user_id,
      },
    }));
  }

  /** The hash of the organization's last event before `sequence` (null: none). */
  async hashBefore(organizationId: string, sequence: string): Promise<string | null> {
    const [row] = await this.db.rows<{ hash: string }>(HASH_BEFORE, [organizationId, sequence]);
    return row?.hash ?? null;
  }

  async head(organizationId: string): Promise<{ sequence: string; hash: string } | null> {
    const [row] = await this.db.rows<{ sequence: string; hash: string }>(HEAD, [organizationId]);
    return row ?? null;
  }

  async checkpointsFrom(organizationId: string, from: string): Promise<Checkpoint[]> {
    return (await this.db.rows<CheckpointRow>(CHECKPOINTS_FROM, [organizationId, from])).map(checkpointOf);
  }

  /** Newest first, before the sequence `before` (null: from the newest). */
  async checkpointsPage(organizationId: string, before: string | null, limit: number): Promise<Checkpoint[]> {
    return (await this.db.rows<CheckpointRow>(CHECKPOINTS_PAGE, [organizationId, before, limit])).map(checkpointOf);
  }

  async keys(): Promise<PublicKeyEntry[]> {
    const rows = await this.db.rows<{ key_id: string; public_key_pem: string; active_from: Date; active_until: Date | null }>(KEYS);
    return rows.map((r) => ({
      keyId: r.key_id,
      publicKeyPem: r.public_key_pem,
      activeFrom: new Date(r.active_from),
      activeUntil: r.active_until === null ? null : new Date(r.active_until),
    }));
  }

  /** Publishes a signing key (see REGISTER_KEY); answers whether it is still the active one. */
  async registerKey(keyId: string, publicKeyPem: string, now: Date): Promise<{ active: boolean; retired: number }> {
    const rows = await this.db.rows<{ key_id: string; active_until: Date | null; retired: number }>(REGISTER_KEY, [keyId, publicKeyPem, now]);
    const row = rows[0];
    return { active: row !== undefined && row.active_until === null, retired: row?.retired ?? 0 };
  }

  async due(everyMinutes: number, organizationId: string | null, now: Date): Promise<Array<{ organizationId: string; sequence: string; hash: string }>> {
    const rows = await this.db.rows<{ organization_id: string; sequence: string; hash: string }>(DUE, [everyMinutes, organizationId, now]);
    return rows.map((r) => ({ organizationId: r.organization_id, sequence: r.sequence, hash: r.hash }));
  }

  /** Stores a checkpoint if its key is still active at its time; false when it was not stored (retired key, or one there already). */
  async insertCheckpoint(c: Checkpoint): Promise<boolean> {
    const rows = await this.db.rows(INSERT_CHECKPOINT, [c.organizationId, c.sequence, c.hash, c.signedAt, c.signature, c.keyId]);
    return rows.length > 0;
  }
}
