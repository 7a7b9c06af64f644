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

/**
 * A Redis Cluster of this test's own: `masters` redis-server processes on free loopback ports
 * (each port + 10000 free too, for the cluster bus), joined with `redis-cli --cluster create`.
 * A master may be killed (SIGKILL) and started again on its port with its node file: it comes
 * back as the same master of the same slots (no replicas: the test heals the cluster this way).
 */
export interface OwnRedisCluster {
  /** host:port of each master, in the order they were started. */
  nodes: string[];
  /** REDIS_CLUSTER_NODES for them. */
  seeds: Array<{ host: string; port: number }>;
  kill(i: number): Promise<void>;
  start(i: number): Promise<void>;
  /** Resolves once every slot is served again (cluster_state:ok on every running node). */
  healthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

async function clusterPort(used: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (used.has(port) || used.has(port + 10_000)) continue;
    if ((await portTaken(port)) || (await portTaken(port + 10_000))) continue;
    used.add(port);
    used.add(port + 10_000);
    return port;
  }
  throw new Error("no free port pair for a cluster node");
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${out}`))));
  });
}

export async function ownRedisCluster(masters = 3): Promise<OwnRedisCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "baton-redis-cluster-"));
  const used = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) ports.push(await clusterPort(used));
  const children: Array<ChildProcess | null> = ports.map(() => null);

  const kill = async (i: number) => {
    const c = children[i];
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((resolve) => c.once("exit", resolve));
    c.kill("SIGKILL");
    await gone;
    children[i] = null;
  };
  const start = async (i: number) => {
    const port = ports[i];
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", "1000", "--cluster-require-full-coverage", "no", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-2_000)));
    child.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-2_000)));
    children[i] = child;
    for (let n = 0; n < 100; n++) {
      if (child.exitCode === null && (await portTaken(port))) return;
      if (child.exitCode !== null) break;
      await sleep(50);
    }
    await kill(i);
    throw new Error(`cluster node on ${port} did not start: ${output}`);
  };
  /** The first start of node i: on another free pair of ports if its own was taken meanwhile. */
  const firstStart = async (i: number) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await start(i);
      } catch (err) {
        if (attempt >= 5) throw err;
        ports[i] = await clusterPort(used);
      }
    }
  };

  const healthy = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let ok = true;
      for (let i = 0; i < ports.length; i++) {
        if (!children[i]) continue;
        const info = await run("redis-cli", ["-p", String(ports[i]), "cluster", "info"]).catch(() => "");
        if (!info.includes("cluster_state:ok")) ok = false;
      }
      if (ok) return;
      if (Date.now() > deadline) throw new Error("the cluster did not become healthy");
      await sleep(100);
    }
  };

  try {
    for (let i = 0; i < masters; i++) await firstStart(i);
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"]);
    await healthy();
  } catch (err) {
    for (let i = 0; i < masters; i++) await kill(i);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`),
    seeds: ports.map((port) => ({ host: "127.0.0.1", port })),
    kill,
    start,
    healthy,
    async destroy() {
      for (let i = 0; i < masters; i++) await kill(i);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
