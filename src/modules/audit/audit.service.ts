import type { DataSource } from "typeorm";
import { poolSql } from "../../db/sql";
import { BatonError, ErrorCode, badInput } from "../../errors";
import {
  type ChainEvent,
  type Checkpoint,
  GENESIS_HASH,
  type PublicKeyEntry,
  type SigningKey,
  type Verdict,
  signCheckpoint,
  verifyChain,
} from "../../kernel/audit-chain";
import { type Page, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../kernel/page";
import { requireAccess, type Viewer } from "../../policy/access";
import { AuditRepository } from "../../repositories/audit.repository";
import { isUuid } from "../../validation";

/** One line of an export (`audit:export`): JSON, one object per line. */
export type ExportLine =
  | { kind: "export"; organizationId: string; from: string; exportedAt: string }
  | { kind: "event"; sequence: string; auditRecord: string; previousHash: string; hash: string }
  | { kind: "checkpoint"; organizationId: string; sequence: string; hash: string; signedAt: string; signature: string; keyId: string }
  | { kind: "key"; keyId: string; publicKeyPem: string; activeFrom: string; activeUntil: string | null };

const PAGE = 5_000;

/**
 * The verifiable log (issue #25): signed checkpoints of each organization's hash chain, the
 * published keys, verifying the chain (from the database or from an export) and exporting it.
 * The chain itself is written by the database as events are appended (migrations/1764310000000-AuditChain.ts).
 */
export class AuditService {
  private readonly repo: AuditRepository;
  /** Whether the key was found active when put in service (a retired key signs nothing). */
  private keyActive: boolean | null = null;

  constructor(
    dataSource: DataSource,
    /** AUDIT_SIGNING_KEY_FILE's key (the embedded demo makes one); null: checkpoints are off. */
    private readonly key: SigningKey | null,
  ) {
    this.repo = new AuditRepository(poolSql(dataSource));
  }

  get signing(): boolean {
    return this.key !== null;
  }

  /**
   * Publishes the signing key (once; a new key retires the one before it, whose public key stays
   * published). Answers whether this key may sign: false when a newer key has replaced it.
   */
  async putKeyInService(now = new Date()): Promise<{ keyId: string | null; active: boolean; retired: number }> {
    if (!this.key) return { keyId: null, active: false, retired: 0 };
    const r = await this.repo.registerKey(this.key.keyId, this.key.publicKeyPem, now);
    this.keyActive = r.active;
    return { keyId: this.key.keyId, ...r };
  }

  /**
   * Signs a checkpoint for each organization whose head moved past its last checkpoint at least
   * `everyMinutes` ago (0: any that moved; `organizationId`: that one only). Two instances at once
   * sign at most one checkpoint per head (the second is not stored). Returns those stored.
   */
  async checkpoint(everyMinutes: number, organizationId: string | null = null, now = (): Date => new Date()): Promise<Checkpoint[]> {
    if (!this.key) throw new BatonError(ErrorCode.BAD_USER_INPUT, "checkpoints are off: no AUDIT_SIGNING_KEY_FILE");
    const org = organizationId === null ? null : await this.organization(organizationId);
    if (this.keyActive === null) await this.putKeyInService(now());
    if (!this.keyActive) throw new BatonError(ErrorCode.BAD_USER_INPUT, `signing key ${this.key.keyId} was retired: a newer key replaced it`);
    const stored: Checkpoint[] = [];
    for (const head of await this.repo.due(everyMinutes, org, now())) {
      const c = signCheckpoint(this.key, { organizationId: head.organizationId, sequence: head.sequence, hash: head.hash, signedAt: now() });
      if (await this.repo.insertCheckpoint(c)) stored.push(c);
    }
    return stored;
  }

  /** The organization's checkpoints, newest first (managers and admins). */
  async checkpointsOf(viewer: Viewer, first: number | null | undefined, after: string | null | undefined): Promise<Page<Checkpoint>> {
    requireAccess(viewer, "audit.checkpoints");
    const size = first ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, "first");
    let before: string | null = null;
    if (after) {
      before = Buffer.from(after, "base64url").toString("utf8");
      if (!/^[1-9][0-9]{0,18}$/.test(before)) throw badInput("after is not a valid cursor", "after");
    }
    const rows = await this.repo.checkpointsPage(viewer.organizationId, before, size + 1);
    return {
      items: rows.slice(0, size).map((item) => ({ item, cursor: Buffer.from(item.sequence, "utf8").toString("base64url") })),
      hasNextPage: rows.length > size,
      hasPreviousPage: before !== null,
    };
  }

  /** Every public key that ever signed, with when it was active: anyone may verify. */
  publicKeys(): Promise<PublicKeyEntry[]> {
    return this.repo.keys();
  }

  /**
   * Verifies the organization's chain in the database from sequence `from` (its first event when
   * null) to its head: every event's record against its columns, hash and link, every checkpoint's
   * signature and hash. From the middle, the first event must link to the one before it.
   */
  async verify(organizationId: string, from: string | null): Promise<Verdict> {
    const org = await this.organization(organizationId);
    const start = checkSequence(from);
    const events: ChainEvent[] = [];
    for await (const e of this.eventsFrom(org, start)) events.push(e);
    const anchor = start === "1" ? GENESIS_HASH : ((await this.repo.hashBefore(org, start)) ?? GENESIS_HASH);
    return verifyChain(events, {
      organizationId: org,
      anchor,
      checkpoints: await this.repo.checkpointsFrom(org, start),
      keys: await this.repo.keys(),
      head: await this.repo.head(org),
    });
  }

  /** The organization's events from `from`, its checkpoints and every public key, as JSON lines (see ExportLine). */
  async *export(organizationId: string, from: string | null, now = new Date()): AsyncGenerator<ExportLine> {
    const org = await this.organization(organizationId);
    const start = checkSequence(from);
    yield { kind: "export", organizationId: org, from: start, exportedAt: now.toISOString() };
    for (const k of await this.repo.keys()) {
      yield { kind: "key", keyId: k.keyId, publicKeyPem: k.publicKeyPem, activeFrom: k.activeFrom.toISOString(), activeUntil: k.activeUntil?.toISOString() ?? null };
    }
    for await (const e of this.eventsFrom(org, start)) yield { kind: "event", sequence: e.sequence, auditRecord: e.auditRecord, previousHash: e.previousHash, hash: e.hash };
    for (const c of await this.repo.checkpointsFrom(org, start)) yield { kind: "checkpoint", ...c, signedAt: c.signedAt.toISOString() };
  }

  /** The organization's events from sequence `start`, in order, read a page at a time. */
  private async *eventsFrom(org: string, start: string): AsyncGenerator<ChainEvent> {
    for (let after = String(BigInt(start) - 1n); ; ) {
      const page = await this.repo.events(org, after, PAGE);
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1].sequence;
    }
  }

  private async organization(organizationId: string): Promise<string> {
    if (!isUuid(organizationId) || !(await this.repo.organizationExists(organizationId.toLowerCase()))) {
      throw new BatonError(ErrorCode.NOT_FOUND, `no organization ${organizationId}`, { field: "organization" });
    }
    return organizationId.toLowerCase();
  }
}

/**
 * Verifies an export (the lines `export` wrote, parsed) without the database: the chain within it,
 * and its checkpoints against the keys it carries. The first event's own previousHash is its anchor
 * (64 zeros when the export starts at the organization's first event).
 */
export function verifyExport(lines: readonly ExportLine[], organizationId?: string): Verdict {
  const header = lines.find((l) => l.kind === "export");
  if (!header) throw new BatonError(ErrorCode.BAD_USER_INPUT, "not a Baton audit export: no export line");
  if (organizationId && organizationId.toLowerCase() !== header.organizationId) {
    throw new BatonError(ErrorCode.BAD_USER_INPUT, `the export is of organization ${header.organizationId}, not ${organizationId}`);
  }
  const events = lines.filter((l) => l.kind === "event");
  const checkpoints = lines
    .filter((l) => l.kind === "checkpoint")
    .map((c) => ({ ...c, signedAt: new Date(c.signedAt) }));
  const keys = lines
    .filter((l) => l.kind === "key")
    .map((k) => ({ ...k, activeFrom: new Date(k.activeFrom), activeUntil: k.activeUntil === null ? null : new Date(k.activeUntil) }));
  return verifyChain(events, { organizationId: header.organizationId, anchor: header.from === "1" ? GENESIS_HASH : null, checkpoints, keys });
}

/** A sequence from the command line: digits (null: from the first). */
function checkSequence(from: string | null): string {
  if (from === null) return "1";
  if (!/^[1-9][0-9]{0,18}$/.test(from)) throw badInput("--from must be an event sequence (a positive integer)", "from");
  return from;
}
