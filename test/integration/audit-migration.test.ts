import { createHash, randomUUID } from "node:crypto";
import canonicalize from "canonicalize";
import { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { createDataSource } from "../../src/db/data-source";
import { migrations } from "../../src/db/migrations";
import { AuditService } from "../../src/modules/audit/audit.service";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { OrganizationService } from "../../src/modules/organizations/organization.service";
import { User } from "../../src/modules/users/user.entity";
import { createChat, createUser } from "../support/factories";
import { testServices } from "../support/services";
import { adminQuery, databaseUrl } from "../support/template";

// Issue #25: events that existed before the verifiable log get a chain from their organization's
// first, in sequence order, when the migration runs; the next event links to where it ended.

const name = `baton_t_audit_mig_${randomUUID().slice(0, 8)}`;
let ds: DataSource;
const AUDIT = migrations.findIndex((m) => m.name === "AuditChain1764310000000");

/** Runs `list` of the migrations (those not run yet); returns the names run. */
async function migrate(list: typeof migrations): Promise<string[]> {
  const plain = new DataSource({ type: "postgres", url: databaseUrl(inject("adminUrl"), name), migrations: list, migrationsTableName: "migrations" });
  await plain.initialize();
  try {
    return (await plain.runMigrations({ transaction: "each" })).map((m) => m.name);
  } finally {
    await plain.destroy();
  }
}

beforeAll(async () => {
  await adminQuery(inject("adminUrl"), `CREATE DATABASE "${name}"`);
  await migrate(migrations.slice(0, AUDIT));
  ds = createDataSource({ url: databaseUrl(inject("adminUrl"), name) });
  await ds.initialize();
}, 60_000);

afterAll(async () => {
  if (ds?.isInitialized) await ds.destroy();
  await adminQuery(inject("adminUrl"), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

/** A direct move as an older Baton wrote it: a tracking record and its ASSIGNED event. */
async function oldMove(organizationId: string, chatId: string, fromId: string, toId: string, byId: string, reason: string | null): Promise<void> {
  const recordId = randomUUID();
  await ds.query(
    `INSERT INTO engagement_tracking_records (id, organization_id, kind, status, chat_session_id, initiated_by_id, from_user_id, to_user_id, reason, requested_at)
     VALUES ($1, $2, 'DIRECT_ASSIGN', 'ASSIGNED', $3, $4, $5, $6, $7, now())`,
    [recordId, organizationId, chatId, byId, fromId, toId, reason],
  );
  await ds.query(
    `INSERT INTO assignment_events (organization_id, type, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
     VALUES ($1, 'ASSIGNED', $2, $3, $4, $5, $6, now())`,
    [organizationId, recordId, chatId, byId, fromId, toId],
  );
  await ds.query(`UPDATE chat_sessions SET owner_id = $2 WHERE id = $1`, [chatId, toId]);
}

describe("the AuditChain migration", () => {
  it("chains the events already there, per organization in sequence order, and the next event links on", async () => {
    const orgs = new OrganizationService(ds);
    const worlds = [];
    for (const label of ["Old A", "Old B"]) {
      const { organizationId, adminUserId } = await orgs.create(label, `admin@${randomUUID().slice(0, 8)}.test`, "Ada");
      const ann = await createUser(ds, organizationId, { name: "Ann" });
      const bob = await createUser(ds, organizationId, { name: "Bob" });
      worlds.push({ organizationId, adminUserId, ann, bob, chat: await createChat(ds, organizationId, ann.id) });
    }
    // Interleaved, so each organization's sequences have gaps.
    for (let i = 0; i < 3; i++) {
      for (const w of worlds) {
        const [from, to] = i % 2 === 0 ? [w.ann, w.bob] : [w.bob, w.ann];
        await oldMove(w.organizationId, w.chat.id, from.id, to.id, w.adminUserId, i === 1 ? "Shift change \"night\"" : null);
      }
    }

    // AuditChain first, then whatever came after it.
    expect((await migrate(migrations))[0]).toBe("AuditChain1764310000000");

    for (const w of worlds) {
      const rows = await ds.query<Array<Record<string, unknown> & { sequence: string; previous_hash: string; hash: string; audit_record: string; facts: Record<string, unknown> }>>(
        `SELECT e.sequence::text AS sequence, e.*, e.sequence::text AS sequence FROM assignment_events e WHERE organization_id = $1 ORDER BY e.sequence`,
        [w.organizationId],
      );
      expect(rows).toHaveLength(3);
      // Checked from the formula (not Baton's code).
      let previous = "0".repeat(64);
      for (const r of rows) {
        const record = JSON.parse(r.audit_record) as Record<string, unknown>;
        expect(canonicalize(record)).toBe(r.audit_record);
        expect(record).toMatchObject({ organizationId: w.organizationId, sequence: r.sequence, type: "ASSIGNED", requestId: null, previousHash: previous });
        expect(r.previous_hash).toBe(previous);
        expect(createHash("sha256").update(r.audit_record, "utf8").digest("hex")).toBe(r.hash);
        previous = r.hash;
      }
      expect(rows[0].facts).toMatchObject({ status: "ASSIGNED", kind: "DIRECT_ASSIGN", ownerBefore: w.ann.id, ownerAfter: w.bob.id, senderId: w.adminUserId, reason: null });
      expect(rows[1].facts).toMatchObject({ ownerBefore: w.bob.id, ownerAfter: w.ann.id });
      expect(await new AuditService(ds, null).verify(w.organizationId, null)).toMatchObject({ ok: true, events: 3 });
    }

    // Appended now: linked to the migrated head.
    const w = worlds[0];
    const services = testServices(ds);
    // After the three moves Bob owns the chat; he asks the admin (Ann handed it to him: the loop rule).
    const bob = await ds.manager.findOneByOrFail(User, { id: w.bob.id });
    await services.handovers.assignChat(bob, { chatSessionId: w.chat.id, recipientType: RecipientType.MANAGER, recipientId: w.adminUserId });
    expect(await new AuditService(ds, null).verify(w.organizationId, null)).toMatchObject({ ok: true, events: 4 });
    // The append-only rule holds again after the migration's backfill.
    await ds.query(`UPDATE assignment_events SET type = 'CREATED' WHERE organization_id = $1`, [w.organizationId]);
    expect(await new AuditService(ds, null).verify(w.organizationId, null)).toMatchObject({ ok: true, events: 4 });
  }, 60_000);
});
