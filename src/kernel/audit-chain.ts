import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import canonicalize from "canonicalize";

/**
 * The verifiable log's formula (issue #25), in plain Node: what the database computes as it
 * appends (migrations/1764310000000-AuditChain.ts), recomputed here to verify it, and the
 * checkpoints' Ed25519 signatures. Pure functions: no database, no clock.
 *
 * - An event's `auditRecord` is the RFC 8785 (JCS) text of { organizationId, sequence (a string),
 *   type, occurredAt (ISO 8601 UTC with milliseconds and Z), actorId, chatSessionId, requestId,
 *   trackingRecordId, facts, previousHash }.
 * - `hash` is the lowercase hex SHA-256 of its UTF-8 bytes; `previousHash` is the organization's
 *   previous event's hash, 64 zeros for its first.
 * - A checkpoint's `signature` is the base64 Ed25519 signature of the JCS text of
 *   { organizationId, sequence, hash, signedAt }.
 */
export const GENESIS_HASH = "0".repeat(64);

export type Facts = Record<string, string | number | null>;

/** An event's columns as stored (or as an export carries them: only the last three). */
export interface ChainEvent {
  sequence: string;
  auditRecord: string;
  previousHash: string;
  hash: string;
  /** The row's own columns (the database's copy): compared with its record when present. */
  columns?: AuditFields & { fromUserId: string; toUserId: string };
}

/** What an audit record is made of, less `previousHash`. */
export interface AuditFields {
  organizationId: string;
  sequence: string;
  type: string;
  occurredAt: Date;
  actorId: string | null;
  chatSessionId: string;
  requestId: string | null;
  trackingRecordId: string;
  facts: Facts;
}

export interface Checkpoint {
  organizationId: string;
  sequence: string;
  hash: string;
  signedAt: Date;
  signature: string;
  keyId: string;
}

export interface PublicKeyEntry {
  keyId: string;
  publicKeyPem: string;
  activeFrom: Date;
  activeUntil: Date | null;
}

const jcs = (value: unknown): string => canonicalize(value) as string;

export const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

/** The audit record of an event: the JCS text of its ten members. */
export function auditRecordOf(f: AuditFields, previousHash: string): string {
  return jcs({
    organizationId: f.organizationId,
    sequence: f.sequence,
    type: f.type,
    occurredAt: f.occurredAt.toISOString(),
    actorId: f.actorId,
    chatSessionId: f.chatSessionId,
    requestId: f.requestId,
    trackingRecordId: f.trackingRecordId,
    facts: f.facts,
    previousHash,
  });
}

/** What a checkpoint's signature covers: the JCS text of its four members. */
export function checkpointText(c: { organizationId: string; sequence: string; hash: string; signedAt: Date }): string {
  return jcs({ organizationId: c.organizationId, sequence: c.sequence, hash: c.hash, signedAt: c.signedAt.toISOString() });
}

/** A signing key: the private key and the public half's id (the first 16 hex of the SHA-256 of its DER SPKI). */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** Reads an Ed25519 private key (PEM, PKCS#8); throws with a plain sentence when it is not one. */
export function signingKeyFromPem(pem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new Error("not a PEM private key");
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`an ${privateKey.asymmetricKeyType ?? "unknown"} key, not Ed25519`);
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

export const keyIdOf = (publicKey: KeyObject): string =>
  createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16);

export function signCheckpoint(key: SigningKey, c: { organizationId: string; sequence: string; hash: string; signedAt: Date }): Checkpoint {
  const signature = sign(null, Buffer.from(checkpointText(c), "utf8"), key.privateKey).toString("base64");
  return { ...c, signature, keyId: key.keyId };
}

export function checkpointSignatureValid(c: Checkpoint, key: PublicKeyEntry): boolean {
  try {
    return verify(null, Buffer.from(checkpointText(c), "utf8"), createPublicKey(key.publicKeyPem), Buffer.from(c.signature, "base64"));
  } catch {
    return false;
  }
}

export type BreakKind = "changed" | "missing" | "inserted" | "reordered";

/** The first place the chain breaks: the sequence, how, and a sentence saying what was found. */
export interface ChainBreak {
  sequence: string;
  kind: BreakKind;
  detail: string;
}

export type Verdict = { ok: true; events: number; checkpoints: number; head: string | null } | ({ ok: false; events: number } & ChainBreak);

/**
 * Verifies events of one organization given in the order they are stored (by sequence), and the
 * checkpoints signed over them:
 *
 * - `changed`: an event's record is not its columns, not canonical, not hashed to its `hash`, or
 *   names another previous hash than its own column; a checkpoint whose signature fails, whose key
 *   is unknown or was not active when it says it signed, or whose event's hash is not the hash it
 *   signed (the chain was rewritten after it);
 * - `reordered`: the event recorded as sequence N sits at another sequence;
 * - `inserted`: an event the chain does not link (the next event links past it);
 * - `missing`: an event links to a hash that is not its predecessor's (events between them were
 *   removed), or the organization's head names a later event than the last one found.
 *
 * `anchor`: the hash the first event must link to (64 zeros from the organization's first event;
 * null when verifying from the middle: the first event's own `previousHash` is taken).
 * `head`: the organization's head as the database keeps it, when verifying up to the end.
 * Problems are looked for everywhere and the one at the lowest sequence is answered.
 */
export function verifyChain(
  events: readonly ChainEvent[],
  opts: {
    organizationId: string;
    anchor: string | null;
    checkpoints?: readonly Checkpoint[];
    keys?: readonly PublicKeyEntry[];
    head?: { sequence: string; hash: string } | null;
  },
): Verdict {
  const problems: ChainBreak[] = [];
  const byHash = new Map<string, number>();
  events.forEach((e, i) => byHash.set(e.hash, i));
  let expected = opts.anchor ?? events[0]?.previousHash ?? GENESIS_HASH;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const problem = eventProblem(e, opts.organizationId);
    if (problem) {
      problems.push(problem);
      break;
    }
    if (e.previousHash !== expected) {
      const next = events[i + 1];
      const before = events[i - 2];
      if (next && next.previousHash === expected) {
        problems.push({ sequence: e.sequence, kind: "inserted", detail: `event ${e.sequence} is not linked: the next event ${next.sequence} links to its predecessor` });
      } else if (i >= 1 && before && e.previousHash === before.hash) {
        const inserted = events[i - 1];
        problems.push({ sequence: inserted.sequence, kind: "inserted", detail: `event ${inserted.sequence} is not linked: the next event ${e.sequence} links to its predecessor` });
      } else if (i === 0 && opts.anchor === GENESIS_HASH) {
        problems.push({ sequence: e.sequence, kind: "missing", detail: `the organization's first events are missing: event ${e.sequence} links to ${e.previousHash}, not to 64 zeros` });
      } else {
        const after = i > 0 ? `event ${(events[i - 1]).sequence}` : "the start";
        problems.push({
          sequence: e.sequence,
          kind: byHash.has(e.previousHash) ? "reordered" : "missing",
          detail: byHash.has(e.previousHash)
            ? `event ${e.sequence} links to event ${(events[byHash.get(e.previousHash) as number]).sequence}, not to its predecessor`
            : `events are missing between ${after} and event ${e.sequence}: it links to ${e.previousHash}, a hash no event here has`,
        });
      }
      break;
    }
    expected = e.hash;
  }
  const last = events[events.length - 1];
  if (opts.head && problems.length === 0) {
    if (!last ? opts.head.sequence !== "0" : BigInt(opts.head.sequence) > BigInt(last.sequence) || (opts.head.sequence === last.sequence && opts.head.hash !== last.hash)) {
      problems.push({
        sequence: opts.head.sequence,
        kind: "missing",
        detail: `the organization's head is event ${opts.head.sequence} (${opts.head.hash}) but the last event found is ${last?.sequence ?? "none"}`,
      });
    }
  }
  const keys = new Map((opts.keys ?? []).map((k) => [k.keyId, k]));
  const bySequence = new Map(events.map((e) => [e.sequence, e]));
  for (const c of opts.checkpoints ?? []) {
    const key = keys.get(c.keyId);
    const at = (kind: BreakKind, detail: string) => problems.push({ sequence: c.sequence, kind, detail: `checkpoint at ${c.sequence}: ${detail}` });
    if (c.organizationId !== opts.organizationId) at("changed", `it names organization ${c.organizationId}`);
    else if (!key) at("changed", `signed with key ${c.keyId}, which is not published`);
    else if (!checkpointSignatureValid(c, key)) at("changed", `its signature does not verify with key ${c.keyId}`);
    else if (c.signedAt < key.activeFrom || (key.activeUntil !== null && c.signedAt > key.activeUntil)) at("changed", `signed at ${c.signedAt.toISOString()}, when key ${c.keyId} was not active`);
    else {
      const e = bySequence.get(c.sequence);
      if (!e) {
        // Outside the events verified (before --from): nothing to compare.
        if (events.length > 0 && BigInt(c.sequence) >= BigInt((events[0]).sequence) && BigInt(c.sequence) <= BigInt(last?.sequence ?? "0")) {
          at("missing", `its event ${c.sequence} is not in the log`);
        }
      } else if (e.hash !== c.hash) at("changed", `it signed hash ${c.hash} but event ${c.sequence} now hashes to ${e.hash}: the chain was rewritten at or before it`);
    }
  }
  if (problems.length === 0) return { ok: true, events: events.length, checkpoints: opts.checkpoints?.length ?? 0, head: last?.sequence ?? null };
  problems.sort((a, b) => (BigInt(a.sequence) < BigInt(b.sequence) ? -1 : BigInt(a.sequence) > BigInt(b.sequence) ? 1 : 0));
  return { ok: false, events: events.length, ...(problems[0]) };
}

/** What is wrong with one event on its own (its record against itself and its columns), if anything. */
function eventProblem(e: ChainEvent, organizationId: string): ChainBreak | null {
  const changed = (detail: string): ChainBreak => ({ sequence: e.sequence, kind: "changed", detail: `event ${e.sequence}: ${detail}` });
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(e.auditRecord) as Record<string, unknown>;
  } catch {
    return changed("its audit record is not JSON");
  }
  if (typeof record.sequence === "string" && record.sequence !== e.sequence) {
    return { sequence: e.sequence, kind: "reordered", detail: `the event recorded as ${record.sequence} sits at ${e.sequence}` };
  }
  if (jcs(record) !== e.auditRecord) return changed("its audit record is not canonical JSON (RFC 8785)");
  if (sha256Hex(e.auditRecord) !== e.hash) return changed("its audit record does not hash to its hash");
  if (record.previousHash !== e.previousHash) return changed("its audit record names another previous hash");
  if (record.organizationId !== organizationId) return changed(`its audit record names organization ${String(record.organizationId)}`);
  if (e.columns) {
    const expected = JSON.parse(auditRecordOf(e.columns, e.previousHash)) as Record<string, unknown>;
    const differs = Object.keys(expected).filter((k) => jcs(expected[k]) !== jcs(record[k]));
    if (differs.length > 0) return changed(`its ${differs.join(", ")} ${differs.length > 1 ? "differ" : "differs"} from its audit record`);
    // The parties' columns (the indexed copy "events I may see" filters on) say what its facts say.
    const facts = e.columns.facts;
    const from = e.columns.type === "ASSIGNED" ? facts.ownerBefore : facts.senderId;
    if (e.columns.fromUserId !== from || e.columns.toUserId !== facts.recipientId) return changed("its from_user_id or to_user_id differs from its audit record's facts");
  }
  return null;
}
