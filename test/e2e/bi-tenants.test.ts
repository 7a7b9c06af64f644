import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { migrations } from "../../src/db/migrations";
import { OrganizationService } from "../../src/modules/organizations/organization.service";
import { BiAccessService } from "../../src/modules/bi/bi-access.service";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, TEST_JWT_SECRET, type World } from "../support/factories";
import { testServices } from "../support/services";
import { adminQuery, databaseUrl } from "../support/template";

// Issue #16: BI a tenant can be given. Real login roles on the real Postgres read the bi views;
// Postgres itself keeps each to its organization.

const run = promisify(execFile);
const BI_VIEWS = ["engagement_tracking_records", "assignment_events", "users", "chat_sessions", "handover_daily", "handover_pairs"];
const suffix = randomBytes(4).toString("hex");
const roles = { acme: `bi_acme_${suffix}`, globex: `bi_globex_${suffix}`, ops: `bi_ops_${suffix}`, dba: `bi_dba_made_${suffix}`, app: `bi_app_${suffix}` };

let db: TestDatabase;
let acme: World;
let globex: World;
let bi: BiAccessService;
const adminUrl = () => inject("adminUrl");

/** Each role's password: from bi:grant for the roles it made, the test's own for those a "DBA" made. */
const passwords = new Map<string, string>();
const DBA_PASSWORD = `pw_${suffix}`;

/** A client logged in as `role` with its password (an embedded Postgres asks for it; the machine's trusts loopback). */
async function loginAs(role: string, database = db.name): Promise<Client> {
  const url = new URL(databaseUrl(adminUrl(), database));
  url.username = role;
  url.password = passwords.get(role) ?? "";
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return client;
}

async function failsWith(client: Client, sql: string): Promise<string | undefined> {
  try {
    await client.query(sql);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

/** Some of everything for an organization: accepted, rejected and timed-out requests, a discuss request, events, users, chats. */
async function activity(w: World): Promise<void> {
  const svc = testServices(db.dataSource);
  for (let i = 0; i < 3; i++) {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const r = await svc.handovers.assignChat(w.mark, assignInput(chat.id, w.martha.id));
    if (i === 0) await svc.handovers.acceptAssignment(w.martha, r.id);
    if (i === 1) await svc.handovers.rejectAssignment(w.martha, r.id, "Busy");
    if (i === 2) {
      await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [r.id]);
      await svc.handovers.timeOutDue();
    }
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  acme = await createWorld(db.dataSource, "Acme");
  globex = await createWorld(db.dataSource, "Globex");
  await activity(acme);
  await activity(globex);
  bi = new BiAccessService(db.dataSource);
  expect(await bi.refreshRollup()).toBe(true);
}, 30_000);

afterAll(async () => {
  await db?.drop();
  for (const role of Object.values(roles)) await adminQuery(adminUrl(), `DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
});

/** What the app itself sees in the unfiltered reporting views: the truth to compare with. */
const truth = async (view: string, organizationId: string): Promise<number> =>
  (await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM reporting.${view} WHERE organization_id = $1`, [organizationId]))[0].n;

describe("tenant-scoped BI access", () => {
  it("bi:grant (the CLI) creates a login role that sees exactly its organization's rows in every bi view", async () => {
    const cli = path.resolve(__dirname, "../../dist/src/cli.js");
    const { stdout } = await run(process.execPath, [cli, "bi:grant", "--role", roles.acme, "--organization", acme.organizationId], {
      env: { ...process.env, DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "warn" },
    });
    const granted = JSON.parse(stdout) as { role: string; organizationId: string; created: boolean; password?: string };
    expect(granted).toMatchObject({ role: roles.acme, organizationId: acme.organizationId, created: true });
    expect(granted.password).toMatch(/^[\w-]{20,}$/);
    passwords.set(roles.acme, granted.password!);
    const other = await bi.grant(roles.globex, globex.organizationId);
    expect(other).toMatchObject({ created: true });
    passwords.set(roles.globex, other.password!);

    for (const [role, own, theirs] of [
      [roles.acme, acme, globex],
      [roles.globex, globex, acme],
    ] as const) {
      const client = await loginAs(role);
      try {
        for (const view of BI_VIEWS) {
          const rows = (await client.query<{ organization_id: string; n: number }>(`SELECT organization_id, count(*)::int AS n FROM bi.${view} GROUP BY 1`)).rows;
          expect(rows, `${role} in bi.${view}`).toEqual([{ organization_id: own.organizationId, n: await truth(view, own.organizationId) }]);
          expect(rows[0].n).toBeGreaterThan(0);
          // Asking for the other tenant by id answers nothing.
          const other = await client.query(`SELECT 1 FROM bi.${view} WHERE organization_id = $1`, [theirs.organizationId]);
          expect(other.rowCount).toBe(0);
        }
      } finally {
        await client.end();
      }
    }
  }, 30_000);

  it("a tenant role reads no base table, no reporting view, and writes nothing", async () => {
    const client = await loginAs(roles.acme);
    try {
      expect(await failsWith(client, `SELECT * FROM assignment_requests LIMIT 1`)).toBe("42501");
      expect(await failsWith(client, `SELECT * FROM engagement_tracking_records LIMIT 1`)).toBe("42501");
      expect(await failsWith(client, `SELECT * FROM reporting.engagement_tracking_records LIMIT 1`)).toBe("42501");
      expect(await failsWith(client, `SELECT * FROM reporting.bi_access`)).toBe("42501");
      // Writing: no privilege on any bi view (and the statements fail).
      for (const view of BI_VIEWS) {
        const privileges = await client.query<{ w: boolean }>(
          `SELECT has_table_privilege(current_user, $1, 'INSERT') OR has_table_privilege(current_user, $1, 'UPDATE')
                  OR has_table_privilege(current_user, $1, 'DELETE') OR has_table_privilege(current_user, $1, 'TRUNCATE') AS w`,
          [`bi.${view}`],
        );
        expect(privileges.rows[0].w, view).toBe(false);
      }
      expect(await failsWith(client, `UPDATE bi.users SET name = 'x'`)).toBeDefined();
      expect(await failsWith(client, `DELETE FROM bi.chat_sessions`)).toBeDefined();
      expect(await failsWith(client, `CREATE TABLE bi.mine (x int)`)).toBe("42501");
      expect(await failsWith(client, `CREATE FUNCTION public.leak(text) RETURNS boolean LANGUAGE sql AS 'SELECT true'`)).toBe("42501");
    } finally {
      await client.end();
    }
  });

  it("an all-organizations role, and the operator's roles in baton_bi, see every organization", async () => {
    const ops = await bi.grant(roles.ops, null);
    expect(ops).toMatchObject({ organizationId: null });
    passwords.set(roles.ops, ops.password!);
    await adminQuery(adminUrl(), `CREATE ROLE "${roles.dba}" LOGIN PASSWORD '${DBA_PASSWORD}' IN ROLE baton_bi`);
    passwords.set(roles.dba, DBA_PASSWORD);
    for (const role of [roles.ops, roles.dba]) {
      const client = await loginAs(role);
      try {
        for (const view of BI_VIEWS) {
          const orgs = (await client.query<{ organization_id: string }>(`SELECT DISTINCT organization_id FROM bi.${view}`)).rows.map((r) => r.organization_id).sort();
          expect(orgs, `${role} in bi.${view}`).toEqual([acme.organizationId, globex.organizationId].sort());
        }
      } finally {
        await client.end();
      }
    }
    // A member of baton_bi cannot be narrowed to one tenant: it would still read them all.
    await expect(bi.grant(roles.dba, acme.organizationId)).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
  });

  it("bi:revoke ends access; bad names, unknown organizations and the app's own user are refused", async () => {
    const revoked = await bi.revoke(roles.globex);
    expect(revoked).toEqual({ role: roles.globex, hadAccess: true });
    const client = await loginAs(roles.globex);
    try {
      expect(await failsWith(client, `SELECT * FROM bi.engagement_tracking_records`)).toBe("42501");
    } finally {
      await client.end();
    }
    await expect(bi.grant("Robert'); DROP TABLE users; --", acme.organizationId)).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    await expect(bi.grant("pg_monitor", acme.organizationId)).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    // Words Postgres reserves: no role named "current_user", "public" or "all" is made.
    for (const word of ["current_user", "session_user", "public", "none", "all", "select"]) {
      await expect(bi.grant(word, acme.organizationId), word).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
      expect((await db.dataSource.query<unknown[]>(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [word])).length, word).toBe(0);
    }
    await expect(bi.grant(roles.globex, "00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(bi.grant(roles.globex, "not-an-id")).rejects.toMatchObject({ code: "NOT_FOUND" });
    const me = (await db.dataSource.query<Array<{ u: string }>>(`SELECT current_user AS u`))[0].u;
    await expect(bi.grant(me, acme.organizationId)).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    await expect(bi.revoke(`bi_nobody_${suffix}`)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await db.dataSource.query(`SELECT 1 FROM reporting.bi_access WHERE role_name = $1`, [roles.globex])).length).toBe(0);
  });
});

describe("an app database user without CREATEROLE (least privilege)", () => {
  it("migrates, refuses to create a role with the DBA's one-time SQL, then grants a role the DBA made", async () => {
    const name = `baton_t_nocr_${suffix}`;
    await adminQuery(adminUrl(), `CREATE ROLE "${roles.app}" LOGIN PASSWORD '${DBA_PASSWORD}' NOSUPERUSER NOCREATEROLE NOCREATEDB`);
    await adminQuery(adminUrl(), `CREATE DATABASE "${name}" OWNER "${roles.app}"`);
    const url = new URL(databaseUrl(adminUrl(), name));
    url.username = roles.app;
    url.password = DBA_PASSWORD;
    const ds = new DataSource({ type: "postgres", url: url.toString(), migrations, migrationsTableName: "migrations" });
    await ds.initialize();
    try {
      await ds.runMigrations({ transaction: "each" });
      const { organizationId } = await new OrganizationService(ds).create("Initech", `admin@${suffix}.test`, "Ida Admin");
      const service = new BiAccessService(ds);
      const tenant = `bi_initech_${suffix}`;
      const refused = await service.grant(tenant, organizationId).catch((e: unknown) => e as { code: string; message: string });
      expect(refused).toMatchObject({ code: "FORBIDDEN" });
      expect((refused as { message: string }).message).toContain(`CREATE ROLE ${tenant} LOGIN PASSWORD`);
      expect((await ds.query(`SELECT 1 FROM reporting.bi_access WHERE role_name = $1`, [tenant])).length).toBe(0);

      await adminQuery(adminUrl(), `CREATE ROLE "${tenant}" LOGIN PASSWORD '${DBA_PASSWORD}'`);
      passwords.set(tenant, DBA_PASSWORD);
      try {
        expect(await service.grant(tenant, organizationId)).toMatchObject({ created: false, organizationId });
        expect(await service.refreshRollup()).toBe(true);
        const client = await loginAs(tenant, name);
        try {
          const users = await client.query<{ organization_id: string }>(`SELECT organization_id FROM bi.users`);
          expect(users.rows).toEqual([{ organization_id: organizationId }]);
        } finally {
          await client.end();
        }
      } finally {
        await ds.destroy();
        await adminQuery(adminUrl(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await adminQuery(adminUrl(), `DROP ROLE IF EXISTS "${tenant}"`);
      }
    } finally {
      if (ds.isInitialized) await ds.destroy();
      await adminQuery(adminUrl(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  }, 60_000);
});

describe("bi.handover_daily", () => {
  it("counts each day's handovers by kind and status with median and p90 response, refreshed concurrently", async () => {
    const rows = await db.dataSource.query<Array<{ kind: string; status: string; handovers: number; median: string | null; timeouts: number }>>(
      `SELECT kind, status, handovers, median_response_seconds AS median, timeouts FROM bi.handover_daily WHERE organization_id = $1 ORDER BY kind, status`,
      [acme.organizationId],
    );
    expect(rows.map((r) => `${r.kind}/${r.status}/${r.handovers}/${r.timeouts}`)).toEqual([
      "ASSIGN_REQUEST/ACCEPTED/1/0",
      "ASSIGN_REQUEST/REJECTED/1/0",
      "ASSIGN_REQUEST/TIMED_OUT/1/1",
    ]);
    expect(rows.find((r) => r.status === "TIMED_OUT")!.median).toBeNull(); // nobody responded
    expect(Number(rows.find((r) => r.status === "ACCEPTED")!.median)).toBeGreaterThanOrEqual(0);
    // New activity shows after the next refresh, and readers are never blocked by it.
    await activity(acme);
    const reader = await loginAs(roles.acme);
    try {
      await reader.query("BEGIN");
      await reader.query(`SELECT count(*) FROM bi.handover_daily`);
      expect(await bi.refreshRollup()).toBe(true);
      await reader.query("COMMIT");
      const after = await reader.query<{ n: number }>(`SELECT sum(handovers)::int AS n FROM bi.handover_daily`);
      expect(after.rows[0].n).toBe(6);
    } finally {
      await reader.end();
    }
  });
});
