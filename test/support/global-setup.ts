import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres";
import { migrateTemplate } from "./template";

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
  }
}

/**
 * One migrated template database per run; each test file clones it (CREATE DATABASE ... TEMPLATE),
 * so files run in parallel on databases of their own. Uses TEST_DATABASE_URL's server when set,
 * else an embedded Postgres in a temporary directory.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let tmp: string | undefined;
  if (!adminUrl) {
    tmp = await mkdtemp(path.join(os.tmpdir(), "baton-test-pg-"));
    await chmod(tmp, 0o755); // the embedded server runs as a non-root user when we are root
    const pg = await startEmbeddedPostgres(path.join(tmp, "data"));
    adminUrl = pg.adminUrl;
    stopEmbedded = pg.stop;
  }
  const templateDb = `baton_tpl_${process.pid}_${Date.now()}`;
  await migrateTemplate(adminUrl, templateDb);
  project.provide("adminUrl", adminUrl);
  project.provide("templateDb", templateDb);

  return async () => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${templateDb}" WITH (FORCE)`);
    await client.end();
    if (stopEmbedded) await stopEmbedded();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  };
}
