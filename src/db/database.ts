import path from "node:path";
import { Client } from "pg";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { createDataSource, QueryCounter } from "./data-source";
import { startEmbeddedPostgres } from "./embedded-postgres";

export interface Database {
  dataSource: DataSource;
  url: string;
  /** True when Baton started its own Postgres (no DATABASE_URL): the demo organization lives here. */
  embedded: boolean;
  counter: QueryCounter;
  close(): Promise<void>;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** Instances starting together take turns: the first migrates, the others find it done. */
async function withMigrationLock(url: string, work: () => Promise<void>): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtextextended('baton:migrations', 0))");
    await work();
  } finally {
    await client.end(); // ending the session releases the lock
  }
}

/** Connects (starting embedded Postgres when no DATABASE_URL) and applies pending migrations. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (url === undefined) {
    const dir = path.join(config.dataDir, "pg");
    logger.info({ dir }, "starting embedded Postgres");
    const pg = await startEmbeddedPostgres(dir);
    stopEmbedded = pg.stop;
    await ensureDatabase(pg.adminUrl, "baton");
    url = pg.adminUrl.replace(/\/postgres$/, "/baton");
  }
  const counter = new QueryCounter();
  const dataSource = createDataSource({ url, poolSize: config.dbPoolSize, counter });
  try {
    await dataSource.initialize();
    await withMigrationLock(url, async () => {
      const applied = await dataSource.runMigrations({ transaction: "each" });
      for (const m of applied) logger.info({ migration: m.name }, "migration applied");
    });
  } catch (err) {
    if (dataSource.isInitialized) await dataSource.destroy();
    if (stopEmbedded) await stopEmbedded();
    throw err;
  }
  return {
    dataSource,
    url,
    embedded: stopEmbedded !== undefined,
    counter,
    async close() {
      await dataSource.destroy();
      if (stopEmbedded) await stopEmbedded();
    },
  };
}
