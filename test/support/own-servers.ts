import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import type { DataSource } from "typeorm";
import { createDataSource } from "../../src/db/data-source";
import { type EmbeddedDatabase, freePort, startEmbeddedPostgres } from "../../src/db/embedded-postgres";
import { databaseUrl, migrateTemplate } from "./template";
import { sleep } from "./wait";

/**
 * A Postgres of this test's own (embedded, in a temporary directory), which the test may stop
 * and start under a running server: never the machine's shared one.
 */
export interface OwnPostgres {
  url: string;
  /** A pool for the test's own reads and setup; survives restarts (connections are replaced). */
  dataSource: DataSource;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function ownPostgres(): Promise<OwnPostgres> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "baton-fault-pg-"));
  await chmod(tmp, 0o755); // as root the server runs as `postgres`
  const dir = path.join(tmp, "data");
  let pg: EmbeddedDatabase | null = await startEmbeddedPostgres(dir);
  const port = pg.port;
  await migrateTemplate(pg.adminUrl, "baton");
  const url = databaseUrl(pg.adminUrl, "baton");
  const dataSource = createDataSource({ url, poolSize: 5 });
  await dataSource.initialize();
  return {
    url,
    dataSource,
    async stop() {
      await pg?.stop();
      pg = null;
    },
    async start() {
      pg = await startEmbeddedPostgres(dir, { port });
    },
    async destroy() {
      await dataSource.destroy().catch(() => undefined);
      await pg?.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** A redis-server of this test's own on a free port, which the test may kill and restart. */
export interface OwnRedis {
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(port, "127.0.0.1");
        s.once("connect", () => (s.destroy(), resolve(true)));
        s.once("error", () => resolve(false));
      });
      if (up) return;
      await sleep(50);
    }
    throw new Error("redis-server did not start");
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const gone = new Promise((resolve) => c.once("exit", resolve));
      c.kill("SIGKILL");
      await gone;
      child = null;
    },
    start,
  };
}
