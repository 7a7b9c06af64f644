import { execFile } from "node:child_process";
import { createHash, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import canonicalize from "canonicalize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AuditCheckpointsDocument,
  AuditedEventsDocument,
  AuditedEventsLiveDocument,
  AuditPublicKeysDocument,
  BulkAssignChatsDocument,
  CloseChatSessionDocument,
  DiscussChatDocument,
  EndDiscussionDocument,
  RejectAssignmentDocument,
  UpdateAssignDiscussSettingsDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import { signCheckpoint, signingKeyFromPem } from "../../src/kernel/audit-chain";
import type { User } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, loopRulesOff, TEST_JWT_SECRET, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";
import { sleep, until } from "../support/wait";
import { connect, subscribe } from "../support/ws-client";

// Issue #25, a verifiable log: every event of an organization is a link of one hash chain,
// computed as it is appended; checkpoints are signed with Ed25519 and keys rotate. The verifier
// here is written from the formula (RFC 8785 via the `canonicalize` package, SHA-256 and
// Ed25519 from node:crypto), not with Baton's code; `audit:verify` (the CLI) must find each
// tampering made through SQL at the sequence where it was made.

const run = promisify(execFile);
const CLI = path.resolve(__dirname, "../../dist/src/cli.js");
const ZEROS = "0".repeat(64);
const MEMBERS = ["actorId", "chatSessionId", "facts", "occurredAt", "organizationId", "previousHash", "requestId", "sequence", "trackingRecordId", "type"];

let db: TestDatabase;
let server: TestServer;
let w: World;
let dir: string;
let keyFile: string;
/** The key in service (the rotation test replaces it). */
let activeKey: string;

interface Audited {
  sequence: string;
  type: string;
  occurredAt: string;
  auditRecord: string;
  previousHash: string;
  hash: string;
  actor: { id: string } | null;
  chatSession: { id: string };
  request: { id: string } | null;
  trackingRecord: { id: string };
}

/** Every event of the organization through the API (an admin sees them all), in order. */
async function eventsOf(world: World): Promise<Audited[]> {
  const all: Audited[] = [];
  for (let after = "0"; ; ) {
    const page = await server.gql(AuditedEventsDocument, { after, first: 200 }, world.token(world.admin));
    expect(page.errors).toBeUndefined();
    const events = page.data!.assignmentEventsSince as Audited[];
    all.push(...events);
    if (events.length < 200) return all;
    after = events[events.length - 1].sequence;
  }
}

/** The formula, checked on every event: JCS of exactly ten members, SHA-256, linked from 64 zeros. */
function verifyFromFormula(events: readonly Audited[], organizationId: string): void {
  let previous = ZEROS;
  for (const e of events) {
    const record = JSON.parse(e.auditRecord) as Record<string, unknown>;
    expect(Object.keys(record).sort(), e.sequence).toEqual(MEMBERS);
    expect(canonicalize(record), e.sequence).toBe(e.auditRecord);
    expect(record).toMatchObject({
      organizationId,
      sequence: e.sequence,
      type: e.type,
      occurredAt: e.occurredAt,
      actorId: e.actor?.id ?? null,
      chatSessionId: e.chatSession.id,
      requestId: e.request?.id ?? null,
      trackingRecordId: e.trackingRecord.id,
      previousHash: previous,
    });
    expect(e.previousHash, e.sequence).toBe(previous);
    expect(createHash("sha256").update(Buffer.from(e.auditRecord, "utf8")).digest("hex"), e.sequence).toBe(e.hash);
    previous = e.hash;
  }
}

const facts = (e: Audited) => (JSON.parse(e.auditRecord) as { facts: Record<string, unknown> }).facts;

const cli = async (args: string[], key = activeKey): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, AUDIT_SIGNING_KEY_FILE: key, LOG_LEVEL: "warn" },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

const newKeyFile = (name: string): string => {
  const file = path.join(dir, name);
  writeFileSync(file, generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(), { mode: 0o600 });
  return file;
};

/** A handover's whole story for a world: sent, accepted (the chat moves). */
async function hand(world: World, chatId: string, from: User, to: User): Promise<void> {
  const sent = await server.gql(AssignChatDocument, { input: assignInput(chatId, to.id) }, world.token(from));
  expect(sent.errors).toBeUndefined();
  const accepted = await server.gql(AcceptAssignmentDocument, { requestId: sent.data!.assignChat.id }, world.token(to));
  expect(accepted.errors).toBeUndefined();
}

/** A world with a few events, for a tampering case of its own. */
async function smallHistory(name: string): Promise<World> {
  const world = await createWorld(db.dataSource, name);
  await loopRulesOff(db.dataSource, world);
  await hand(world, world.chat.id, world.mark, world.martha);
  await hand(world, world.chat.id, world.martha, world.tom);
  await hand(world, world.chat.id, world.tom, world.mark);
  return world;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows of any shape, read as each test needs them
const sql = (text: string, params: unknown[] = []): Promise<any[]> => db.dataSource.query(text, params);
/** Tampering as someone with the database owner's rights would: the append-only rules and the chain's triggers set aside. */
async function tamper(text: string, params: unknown[] = []): Promise<void> {
  await sql(`ALTER TABLE assignment_events DISABLE RULE assignment_events_no_update, DISABLE RULE assignment_events_no_delete`).catch(async () => {
    await sql(`ALTER TABLE assignment_events DISABLE RULE assignment_events_no_update`);
    await sql(`ALTER TABLE assignment_events DISABLE RULE assignment_events_no_delete`);
  });
  await sql(`ALTER TABLE assignment_events DISABLE TRIGGER USER`);
  try {
    await sql(text, params);
  } finally {
    await sql(`ALTER TABLE assignment_events ENABLE TRIGGER USER`);
    await sql(`ALTER TABLE assignment_events ENABLE RULE assignment_events_no_update`);
    await sql(`ALTER TABLE assignment_events ENABLE RULE assignment_events_no_delete`);
  }
}
const sequencesOf = async (world: World): Promise<string[]> =>
  (
    (await sql(`SELECT sequence::text AS s FROM assignment_events e WHERE organization_id = $1 ORDER BY e.sequence`, [world.organizationId])) as Array<{ s: string }>
  ).map((r) => r.s);
const broken = (out: { code: number; stdout: string }) => {
  expect(out.code).toBe(1);
  const m = /^broken at (\d+): (changed|missing|inserted|reordered): /.exec(out.stdout);
  expect(m, out.stdout).not.toBeNull();
  return { sequence: m![1], kind: m![2] };
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "baton-audit-"));
  keyFile = newKeyFile("first.pem");
  activeKey = keyFile;
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
  await loopRulesOff(db.dataSource, w);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the chain", () => {
  it("links every event type, kind and trigger, as the formula says, and audit:verify agrees", async () => {
    const token = (u: User) => w.token(u);
    const settings = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { fallbackOnReject: true } }, token(w.admin));
    expect(settings.errors).toBeUndefined();
    // ASSIGN: accepted (the chat moves), rejected with a reason, withdrawn.
    await hand(w, w.chat.id, w.mark, w.martha);
    const rejected = await server.gql(AssignChatDocument, { input: assignInput(w.chat.id, w.tom.id) }, token(w.martha));
    await server.gql(RejectAssignmentDocument, { requestId: rejected.data!.assignChat.id, reason: "Not my language \u2028 \"quoted\" \\ \u0001" }, token(w.tom));
    const withdrawn = await server.gql(AssignChatDocument, { input: assignInput(w.chat.id, w.tom.id) }, token(w.martha));
    await server.gql(WithdrawAssignmentDocument, { requestId: withdrawn.data!.assignChat.id, reason: "Solved it" }, token(w.martha));
    // A hop: rejected, the chain moves on to the fallback (fallbackOnReject).
    const chained = await server.gql(AssignChatDocument, { input: { ...assignInput(w.chat.id, w.tom.id), fallbackRecipientIds: [w.mark.id] } }, token(w.martha));
    expect(chained.errors).toBeUndefined();
    await server.gql(RejectAssignmentDocument, { requestId: chained.data!.assignChat.id, reason: "Busy" }, token(w.tom));
    // A time-out (the deadline passed), then the hop it opened is withdrawn.
    await sql(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE chat_session_id = $1 AND status = 'PENDING'`, [w.chat.id]);
    await server.app.services.handovers.timeOutDue();
    // DISCUSS: accepted, then the discussion ends.
    const discuss = await server.gql(DiscussChatDocument, { input: { chatSessionId: w.chat.id, recipientId: w.maria.id, recipientType: "MANAGER", note: "Refund? ✓ é 😀" } }, token(w.martha));
    expect(discuss.errors).toBeUndefined();
    await server.gql(AcceptAssignmentDocument, { requestId: discuss.data!.discussChat.id }, token(w.maria));
    const discussion = await sql(`SELECT id FROM discussions WHERE request_id = $1`, [discuss.data!.discussChat.id]);
    await server.gql(EndDiscussionDocument, { discussionId: discussion[0].id, reason: "Answered" }, token(w.martha));
    // A direct move (bulk), and cancels: closing a chat with a request pending.
    const others = [await createChat(db.dataSource, w.organizationId, w.mark.id), await createChat(db.dataSource, w.organizationId, w.tom.id)];
    const bulk = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: others.map((c) => c.id), toUserId: w.martha.id } }, token(w.maria));
    expect(bulk.errors).toBeUndefined();
    const pending = await server.gql(AssignChatDocument, { input: assignInput(others[0].id, w.tom.id) }, token(w.martha));
    expect(pending.errors).toBeUndefined();
    const closed = await server.gql(CloseChatSessionDocument, { id: others[0].id }, token(w.martha));
    expect(closed.errors).toBeUndefined();

    const events = await eventsOf(w);
    const types = new Set(events.map((e) => e.type));
    for (const t of ["CREATED", "ACCEPTED", "REJECTED", "WITHDRAWN", "TIMED_OUT", "CANCELLED", "ASSIGNED", "DISCUSSION_ENDED"]) expect(types, t).toContain(t);
    verifyFromFormula(events, w.organizationId);

    // The facts say what each event established.
    const first = events.find((e) => e.type === "ACCEPTED")!;
    expect(facts(first)).toMatchObject({ status: "ACCEPTED", kind: "ASSIGN_REQUEST", ownerBefore: w.mark.id, ownerAfter: w.martha.id, recipientId: w.martha.id, senderId: w.mark.id, hop: 1 });
    const refusal = events.find((e) => e.type === "REJECTED")!;
    expect(facts(refusal)).toMatchObject({ status: "REJECTED", reason: "Not my language \u2028 \"quoted\" \\ \u0001", ownerBefore: w.martha.id, ownerAfter: w.martha.id });
    const hop = events.find((e) => e.type === "CREATED" && facts(e).hop === 2)!;
    expect(facts(hop)).toMatchObject({ recipientId: w.mark.id, senderId: w.martha.id });
    expect(events.find((e) => e.type === "TIMED_OUT")!.actor).toBeNull();
    expect(facts(events.find((e) => e.type === "DISCUSSION_ENDED")!)).toMatchObject({ status: "ENDED", kind: "DISCUSS_REQUEST", reason: "Answered" });
    expect(facts(events.find((e) => e.type === "CREATED" && facts(e).kind === "DISCUSS_REQUEST")!)).toMatchObject({ note: "Refund? ✓ é 😀" });
    const direct = events.filter((e) => e.type === "ASSIGNED");
    expect(direct.map((e) => facts(e))).toEqual(
      expect.arrayContaining([expect.objectContaining({ status: "ASSIGNED", kind: "DIRECT_ASSIGN", ownerBefore: w.tom.id, ownerAfter: w.martha.id, senderId: w.maria.id })]),
    );
    expect(direct.every((e) => e.request === null)).toBe(true);
    expect(facts(events.find((e) => e.type === "CANCELLED")!)).toMatchObject({ status: "CANCELLED" });

    // The database's copy: the reporting view (under bi) shows the chain too, and Baton's own verifier agrees.
    const bi = await sql(`SELECT sequence::text AS sequence, previous_hash, hash FROM reporting.assignment_events v WHERE organization_id = $1 ORDER BY v.sequence`, [w.organizationId]);
    expect(bi).toEqual(events.map((e) => ({ sequence: e.sequence, previous_hash: e.previousHash, hash: e.hash })));
    const verified = await cli(["audit:verify", "--organization", w.organizationId]);
    expect(verified.stdout.trim()).toBe(`ok ${events.length} events, 0 checkpoints`);
    expect(verified.code).toBe(0);
  }, 60_000);

  it("is pushed live with each event: a subscriber gets the link it can check", async () => {
    const client = connect(server.url, w.token(w.tom));
    try {
      const live = subscribe(client, AuditedEventsLiveDocument, {});
      await until(() => server.app.websocket.connectionCount() >= 1);
      await sleep(100);
      const owner = (await sql(`SELECT owner_id FROM chat_sessions WHERE id = $1`, [w.chat.id]))[0].owner_id as string;
      const from = [w.mark, w.martha, w.maria].find((u) => u.id === owner) ?? w.maria;
      await hand(w, w.chat.id, from, w.tom);
      for (const type of ["CREATED", "ACCEPTED"]) {
        const event = (await live.next(3_000)).data!.assignmentEvents;
        expect(event.type).toBe(type);
        const stored = await sql(`SELECT audit_record, previous_hash, hash FROM assignment_events WHERE sequence = $1`, [event.sequence]);
        expect(event).toMatchObject({ auditRecord: stored[0].audit_record, previousHash: stored[0].previous_hash, hash: stored[0].hash });
      }
    } finally {
      await client.dispose();
    }
  });
});

describe("tampering through SQL is found where it was made", () => {
  it("a changed field", async () => {
    const world = await smallHistory("Tamper field");
    const s = await sequencesOf(world);
    expect((await cli(["audit:verify", "--organization", world.organizationId])).code).toBe(0);
    await tamper(`UPDATE assignment_events SET to_user_id = $2 WHERE sequence = $1`, [s[2], world.maria.id]);
    expect(broken(await cli(["audit:verify", "--organization", world.organizationId]))).toEqual({ sequence: s[2], kind: "changed" });
  });

  it("a changed record, rehashed", async () => {
    const world = await smallHistory("Tamper record");
    const s = await sequencesOf(world);
    await tamper(
      `UPDATE assignment_events SET audit_record = replace(audit_record, '"ACCEPTED"', '"REJECTED"'), type = 'REJECTED',
              hash = encode(sha256(convert_to(replace(audit_record, '"ACCEPTED"', '"REJECTED"'), 'UTF8')), 'hex') WHERE sequence = $1`,
      [s[1]],
    );
    // Its record hashes to its hash, but not to the next event's link, and no longer says what its columns do.
    expect(broken(await cli(["audit:verify", "--organization", world.organizationId]))).toEqual({ sequence: s[1], kind: "changed" });
  });

  it("a deleted event, and the newest one deleted", async () => {
    const world = await smallHistory("Tamper delete");
    const s = await sequencesOf(world);
    await tamper(`DELETE FROM assignment_events WHERE sequence = $1`, [s[3]]);
    const out = await cli(["audit:verify", "--organization", world.organizationId]);
    expect(broken(out)).toEqual({ sequence: s[4], kind: "missing" });
    expect(out.stdout).toContain(`between event ${s[2]} and event ${s[4]}`);

    const other = await smallHistory("Tamper delete last");
    const t = await sequencesOf(other);
    await tamper(`DELETE FROM assignment_events WHERE sequence = $1`, [t[t.length - 1]]);
    expect(broken(await cli(["audit:verify", "--organization", other.organizationId]))).toEqual({ sequence: t[t.length - 1], kind: "missing" });
  });

  it("an inserted event, well formed and linked to the one before it", async () => {
    const world = await createWorld(db.dataSource, "Tamper insert");
    await loopRulesOff(db.dataSource, world);
    await hand(world, world.chat.id, world.mark, world.martha);
    await sql(`SELECT setval(pg_get_serial_sequence('assignment_events', 'sequence'), nextval(pg_get_serial_sequence('assignment_events', 'sequence')) + 10)`);
    await hand(world, world.chat.id, world.martha, world.tom);
    const s = await sequencesOf(world);
    const [before] = (await sql(`SELECT * FROM assignment_events WHERE sequence = $1`, [s[1]])) as Array<Record<string, string>>;
    const forged = String(BigInt(s[1]) + 3n);
    const record = canonicalize({
      organizationId: world.organizationId,
      sequence: forged,
      type: before.type,
      occurredAt: new Date(before.occurred_at).toISOString(),
      actorId: before.actor_id,
      chatSessionId: before.chat_session_id,
      requestId: before.request_id,
      trackingRecordId: before.tracking_record_id,
      facts: before.facts,
      previousHash: before.hash,
    }) as string;
    await tamper(
      `INSERT INTO assignment_events (sequence, organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at,
                                      facts, previous_hash, hash, audit_record)
       SELECT $1, organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at, facts, hash, $3, $4
         FROM assignment_events WHERE sequence = $2`,
      [forged, s[1], createHash("sha256").update(record, "utf8").digest("hex"), record],
    );
    expect(broken(await cli(["audit:verify", "--organization", world.organizationId]))).toEqual({ sequence: forged, kind: "inserted" });
  });

  it("two events swapped", async () => {
    const world = await smallHistory("Tamper swap");
    const s = await sequencesOf(world);
    await tamper(`UPDATE assignment_events SET sequence = -1 WHERE sequence = $1`, [s[2]]);
    await tamper(`UPDATE assignment_events SET sequence = $1 WHERE sequence = $2`, [s[2], s[3]]);
    await tamper(`UPDATE assignment_events SET sequence = $1 WHERE sequence = -1`, [s[3]]);
    expect(broken(await cli(["audit:verify", "--organization", world.organizationId]))).toEqual({ sequence: s[2], kind: "reordered" });
  });

  it("a changed checkpoint, and a chain rewritten under a checkpoint", async () => {
    const world = await smallHistory("Tamper checkpoint");
    const s = await sequencesOf(world);
    const signed = await cli(["audit:checkpoint", "--organization", world.organizationId]);
    expect(signed.code, signed.stderr).toBe(0);
    const { checkpoints } = JSON.parse(signed.stdout) as { checkpoints: Array<{ sequence: string }> };
    expect(checkpoints.map((c) => c.sequence)).toEqual([s[s.length - 1]]);
    expect((await cli(["audit:verify", "--organization", world.organizationId])).stdout).toMatch(/^ok 6 events, 1 checkpoints/);
    await sql(`UPDATE audit_checkpoints SET hash = $2 WHERE organization_id = $1`, [world.organizationId, "f".repeat(64)]);
    expect(broken(await cli(["audit:verify", "--organization", world.organizationId]))).toEqual({ sequence: s[5], kind: "changed" });

    // Someone rewrites an event and every hash after it (and the head): only the checkpoint tells.
    const other = await smallHistory("Tamper rewrite");
    const t = await sequencesOf(other);
    expect((await cli(["audit:checkpoint", "--organization", other.organizationId])).code).toBe(0);
    await tamper(`UPDATE assignment_events SET facts = facts || '{"reason": "rewritten"}' WHERE sequence = $1`, [t[1]]);
    await sql(
      `DO $$ DECLARE r record; prev text := repeat('0', 64); rec text; BEGIN
         ALTER TABLE assignment_events DISABLE RULE assignment_events_no_update;
         FOR r IN SELECT * FROM assignment_events WHERE organization_id = '${other.organizationId}' ORDER BY sequence LOOP
           rec := baton_audit_record(r.organization_id, r.sequence, r.type, r.occurred_at, r.actor_id, r.chat_session_id, r.request_id, r.tracking_record_id, r.facts, prev);
           UPDATE assignment_events SET previous_hash = prev, audit_record = rec, hash = encode(sha256(convert_to(rec, 'UTF8')), 'hex') WHERE sequence = r.sequence;
           prev := encode(sha256(convert_to(rec, 'UTF8')), 'hex');
         END LOOP;
         UPDATE audit_heads SET hash = prev WHERE organization_id = '${other.organizationId}';
         ALTER TABLE assignment_events ENABLE RULE assignment_events_no_update;
       END $$`,
    );
    const out = await cli(["audit:verify", "--organization", other.organizationId]);
    expect(broken(out)).toEqual({ sequence: t[5], kind: "changed" });
    expect(out.stdout).toContain("the chain was rewritten");
  });

  it("bad input: an unknown organization, a bad --from, an unreadable export", async () => {
    const unknown = await cli(["audit:verify", "--organization", "00000000-0000-4000-8000-000000000000"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no organization");
    const bad = await cli(["audit:verify", "--organization", w.organizationId, "--from", "x"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--from");
    const missing = await cli(["audit:verify", "--organization", w.organizationId, "--export", path.join(dir, "none.jsonl")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot be read");
    const noKey = await cli(["audit:checkpoint"], "");
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain("AUDIT_SIGNING_KEY_FILE");
    const notAKey = path.join(dir, "not-a-key.pem");
    writeFileSync(notAKey, "hello");
    const wrong = await cli(["audit:checkpoint"], notAKey);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("not a PEM private key");
  });
});

describe("checkpoints and keys", () => {
  it("sign with the key in service; a rotated-out key's signatures still verify, it signs no more, and both keys stay published", async () => {
    const world = await smallHistory("Rotation");
    const first = await cli(["audit:checkpoint", "--organization", world.organizationId]);
    expect(first.code, first.stderr).toBe(0);
    await hand(world, world.chat.id, world.mark, world.martha);
    const secondKey = newKeyFile("second.pem");
    const second = await cli(["audit:checkpoint", "--organization", world.organizationId], secondKey);
    expect(second.code, second.stderr).toBe(0);
    activeKey = secondKey;
    const retired = await cli(["audit:checkpoint", "--organization", world.organizationId], keyFile);
    expect(retired.code).toBe(1);
    expect(retired.stderr).toContain("retired");

    // Public, without signing in.
    const keys = (await server.gql(AuditPublicKeysDocument, {})).data!.auditPublicKeys;
    expect(keys).toHaveLength(2);
    expect(keys[0].activeUntil).not.toBeNull();
    expect(keys[1].activeUntil).toBeNull();
    const page = await server.gql(AuditCheckpointsDocument, { first: 10 }, world.token(world.maria));
    expect(page.errors).toBeUndefined();
    const checkpoints = page.data!.auditCheckpoints.edges.map((e) => e.node);
    expect(checkpoints.map((c) => c.keyId)).toEqual([keys[1].keyId, keys[0].keyId]);
    expect(codeOf(await server.gql(AuditCheckpointsDocument, { first: 10 }, world.token(world.mark)))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(AuditCheckpointsDocument, { first: 0 }, world.token(world.maria)))).toBe("BAD_USER_INPUT");
    const next = await server.gql(AuditCheckpointsDocument, { first: 1 }, world.token(world.maria));
    const rest = await server.gql(AuditCheckpointsDocument, { first: 1, after: next.data!.auditCheckpoints.pageInfo.endCursor }, world.token(world.maria));
    expect(rest.data!.auditCheckpoints.edges.map((e) => e.node.keyId)).toEqual([keys[0].keyId]);

    // Checked from the formula: Ed25519 over the JCS of the four members, with the published key.
    const events = await eventsOf(world);
    for (const c of checkpoints) {
      const key = keys.find((k) => k.keyId === c.keyId)!;
      const text = canonicalize({ organizationId: c.organizationId, sequence: c.sequence, hash: c.hash, signedAt: c.signedAt }) as string;
      expect(verify(null, Buffer.from(text, "utf8"), createPublicKey(key.publicKeyPem), Buffer.from(c.signature, "base64"))).toBe(true);
      expect(events.find((e) => e.sequence === c.sequence)!.hash).toBe(c.hash);
      expect(new Date(c.signedAt) >= new Date(key.activeFrom) && (key.activeUntil === null || new Date(c.signedAt) <= new Date(key.activeUntil))).toBe(true);
    }
    expect((await cli(["audit:verify", "--organization", world.organizationId])).stdout).toMatch(/^ok 8 events, 2 checkpoints/);

    // A signature the retired key made after it was retired (its file stolen, say) does not verify.
    const late = signCheckpoint(signingKeyFromPem(readFileSync(keyFile, "utf8")), { organizationId: world.organizationId, sequence: events[6].sequence, hash: events[6].hash, signedAt: new Date() });
    await sql(`INSERT INTO audit_checkpoints (organization_id, sequence, hash, signed_at, signature, key_id) VALUES ($1, $2, $3, $4, $5, $6)`, [
      late.organizationId,
      late.sequence,
      late.hash,
      late.signedAt,
      late.signature,
      late.keyId,
    ]);
    const out = await cli(["audit:verify", "--organization", world.organizationId]);
    expect(broken(out)).toEqual({ sequence: events[6].sequence, kind: "changed" });
    expect(out.stdout).toContain("was not active");
  });

  it("export: events, checkpoints and keys as JSON lines, verified without the database; --from starts in the middle", async () => {
    const world = await smallHistory("Export");
    expect((await cli(["audit:checkpoint", "--organization", world.organizationId])).code).toBe(0);
    const exported = await cli(["audit:export", "--organization", world.organizationId]);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = exported.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string });
    expect(lines[0]).toMatchObject({ kind: "export", organizationId: world.organizationId, from: "1" });
    expect(lines.filter((l) => l.kind === "event")).toHaveLength(6);
    expect(lines.filter((l) => l.kind === "checkpoint")).toHaveLength(1);
    const file = path.join(dir, "export.jsonl");
    writeFileSync(file, exported.stdout);
    expect((await cli(["audit:verify", "--organization", world.organizationId, "--export", file])).stdout).toMatch(/^ok 6 events, 1 checkpoints/);
    // The export changed: found at the line's sequence.
    const events = lines.filter((l) => l.kind === "event") as unknown as Array<{ sequence: string; auditRecord: string }>;
    writeFileSync(file, exported.stdout.replace(events[3].auditRecord.replace(/"/g, '\\"'), events[3].auditRecord.replace(/"/g, '\\"').replace("ACCEPTED", "REJECTED")));
    expect(broken(await cli(["audit:verify", "--organization", world.organizationId, "--export", file]))).toEqual({ sequence: events[3].sequence, kind: "changed" });

    // The README's twenty-line verifier, run as a customer would, on the good export and the tampered one.
    const readme = readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
    const code = /<!-- audit-verifier -->\s*```js\n([\s\S]*?)```\s*<!-- \/audit-verifier -->/.exec(readme)?.[1];
    expect(code, "the README's verifier").toBeTruthy();
    // Beside the project's node_modules, where `canonicalize` is installed.
    const script = path.resolve(__dirname, `.verify-audit-${process.pid}.mjs`);
    writeFileSync(script, code!);
    try {
      const good = path.join(dir, "good.jsonl");
      writeFileSync(good, exported.stdout);
      const ok = await run(process.execPath, [script, good]);
      expect(ok.stdout.trim()).toBe("ok 6 events");
      const failing = (file: string) =>
        run(process.execPath, [script, file]).then(
          () => ({ code: 0, stdout: "" }),
          (err: { code: number; stdout: string }) => err,
        );
      const tampered = await failing(file);
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toContain(`broken at ${events[3].sequence}`);
      const resigned = path.join(dir, "resigned.jsonl");
      writeFileSync(resigned, exported.stdout.replace(/"signature":"[^"]+"/, `"signature":"${Buffer.alloc(64).toString("base64")}"`));
      const badSignature = await failing(resigned);
      expect(badSignature.code).toBe(1);
      expect(badSignature.stdout).toContain("signature");
    } finally {
      rmSync(script, { force: true });
    }

    const s = await sequencesOf(world);
    const middle = await cli(["audit:export", "--organization", world.organizationId, "--from", s[2]]);
    const part = middle.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string });
    expect(part.filter((l) => l.kind === "event")).toHaveLength(4);
    writeFileSync(file, middle.stdout);
    expect((await cli(["audit:verify", "--organization", world.organizationId, "--export", file])).stdout).toMatch(/^ok 4 events/);
    expect((await cli(["audit:verify", "--organization", world.organizationId, "--from", s[2]])).stdout).toMatch(/^ok 4 events/);
  });
});

describe("concurrency", () => {
  it("two instances appending at once keep one unbroken chain per organization", async () => {
    const second = await startTestServer(db.dataSource);
    try {
      const worlds = [await createWorld(db.dataSource, "Busy A"), await createWorld(db.dataSource, "Busy B")];
      for (const world of worlds) await loopRulesOff(db.dataSource, world);
      const work: Array<Promise<void>> = [];
      for (const world of worlds) {
        for (let i = 0; i < 12; i++) {
          const chat = await createChat(db.dataSource, world.organizationId, world.mark.id);
          const via = i % 2 === 0 ? server : second;
          work.push(
            (async () => {
              const sent = await via.gql(AssignChatDocument, { input: assignInput(chat.id, world.martha.id) }, world.token(world.mark));
              expect(sent.errors).toBeUndefined();
              const other = via === server ? second : server;
              const accepted = await other.gql(AcceptAssignmentDocument, { requestId: sent.data!.assignChat.id }, world.token(world.martha));
              expect(accepted.errors).toBeUndefined();
            })(),
          );
        }
      }
      await Promise.all(work);
      for (const world of worlds) {
        const events = await eventsOf(world);
        expect(events).toHaveLength(24);
        verifyFromFormula(events, world.organizationId);
        expect((await cli(["audit:verify", "--organization", world.organizationId])).stdout).toMatch(/^ok 24 events/);
      }
    } finally {
      await second.stop();
    }
  }, 60_000);
});
