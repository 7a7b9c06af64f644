import path from "node:path";
import { Client } from "pg";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { CONNECT_TIMEOUT_MS, createDataSource, QueryCounter } from "./data-source";
import { oncePer } from "../kernel/time";
import { databaseStartupError } from "./faults";
import { startEmbeddedPostgres } from "./embedded-postgres";

export interface Database {
  dataSource: DataSource;
  url: string;
  /** True when Baton started its own Postgres (no DATABASE_URL): the demo organization lives here. */
  embedded: boolean;
  counter: QueryCounter;
  close(): Promise<void>;
}

/** A short-lived client: its `error` is handled (an unhandled one would end the process). */
async function connectClient(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on("error", () => {}); // the pending query, if any, rejects with it
  await client.connect();
  return client;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = await connectClient(adminUrl);
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** Instances starting together take turns: the first migrates, the others find it done. */
async function withMigrationLock(url: string, work: () => Promise<void>): Promise<void> {
  const client = await connectClient(url);
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
    const pg = await startEmbeddedPostgres(dir, { onNote: (msg, details, level) => logger[level](details, msg) });
    stopEmbedded = pg.stop;
    try {
      await ensureDatabase(pg.adminUrl, "baton");
    } catch (err) {
      await pg.stop();
      throw databaseStartupError(err, pg.adminUrl);
    }
    url = pg.adminUrl.replace(/\/postgres$/, "/baton");
  }
  const counter = new QueryCounter();
  const dataSource = createDataSource({ url, poolSize: config.dbPoolSize, idleSeconds: config.dbPoolIdleSeconds, counter, onPoolError: poolErrorLogger(logger, "api") });
  try {
    await dataSource.initialize();
    await withMigrationLock(url, async () => {
      const applied = await dataSource.runMigrations({ transaction: "each" });
      for (const m of applied) logger.info({ migration: m.name }, "migration applied");
    });
  } catch (err) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    if (stopEmbedded) await stopEmbedded();
    throw databaseStartupError(err, url);
  }
  return {
    dataSource,
    url,
    embedded: stopEmbedded !== undefined,
    counter,
    async close() {
      // Closing connections Postgres already dropped is not a failure of the stop.
      await dataSource.destroy().catch((err: unknown) => logger.debug({ err }, "closing the pool"));
      if (stopEmbedded) await stopEmbedded();
    },
  };
}

/**
 * For a pool's `error` event: an idle connection died. Logged once per burst (a restart kills
 * every idle connection at once), never thrown: the pool makes a new connection when next needed.
 */
export function poolErrorLogger(logger: Logger, pool: string): (err: Error) => void {
  const gate = oncePer(5_000);
  return (err) => {
    if (!gate()) return;
    logger.warn({ pool, err: err.message }, "an idle database connection was closed; it will be replaced");
  };
}
