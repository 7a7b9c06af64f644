import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import path from "node:path";
import { TEST_JWT_SECRET } from "./factories";

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Where /metrics is (its own loopback listener), if served. */
  metricsUrl: string | null;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<number | string | null>;
}

/** The compiled entry point, found from the project root (this file runs from test/ or dist/test/). */
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}
const MAIN = path.join(projectRoot(), "dist/src/main.js");

/** Starts the compiled server (`npm run build` output) as its own process, on a free port. */
export async function spawnServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the server process.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      AGENDA_PROCESS_EVERY_MS: "200",
      // Loads from one loopback address would spend the default budgets; the operations test and
      // the benchmark set them as they need.
      RATE_LIMIT_PER_MINUTE: "0",
      RATE_LIMIT_PER_IP_PER_MINUTE: "0",
      // Many servers run at once: each takes a free port for its metrics (the default is 9464).
      METRICS_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | string | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  let output = "";
  let metricsUrl: string | null = null;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    const onStdout = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"([^"]+)","msg":"Baton is listening"/.exec(output);
      if (match?.[1]) {
        metricsUrl = /"metricsUrl":"([^"]+)"/.exec(output)?.[1] ?? null;
        clearTimeout(timer);
        // Stop collecting (a line per request would pile up here, searched again on every chunk)
        // but keep the pipe drained, or the server would block writing its logs.
        child.stdout?.off("data", onStdout);
        // SERVER_LOG_FILE keeps the server's log lines from here on (investigating a bench run).
        if (process.env.SERVER_LOG_FILE) child.stdout?.pipe(createWriteStream(process.env.SERVER_LOG_FILE, { flags: "a" }));
        else child.stdout?.resume();
        output = "";
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", onStdout);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${String(how)}) before listening:\n${output}`));
    });
  });
  return { child, url, metricsUrl, exited };
}

/** SIGTERM, then wait for the process to be gone (nothing to do if it already is). */
export async function stopServer(s: ServerProcess | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill("SIGTERM");
  await s.exited;
}

/** Two instances of the compiled server on one database, their log lines kept (fault tests read them). */
export interface ServerPair {
  a: ServerProcess;
  b: ServerProcess;
  logs: { a: string; b: string };
  /** SIGTERM to both; resolves once both are gone. */
  stop(): Promise<void>;
}

export async function spawnPair(databaseUrl: string, env: Record<string, string>): Promise<ServerPair> {
  const a = await spawnServer(databaseUrl, env);
  const b = await spawnServer(databaseUrl, env);
  const logs = { a: "", b: "" };
  a.child.stdout?.on("data", (c: Buffer) => (logs.a += c.toString()));
  b.child.stdout?.on("data", (c: Buffer) => (logs.b += c.toString()));
  return {
    a,
    b,
    logs,
    async stop() {
      for (const s of [a, b]) s.child.kill("SIGTERM");
      await Promise.all([a.exited, b.exited]);
    },
  };
}
