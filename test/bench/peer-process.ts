import { spawn } from "node:child_process";
import path from "node:path";
import { TEST_JWT_SECRET } from "../support/factories";
import type { ServerProcess } from "../support/process";

/**
 * Starts the lean peer (lean-peer.ts, compiled beside this file) as its own process, on a free
 * port; `orgLock`: the variant whose event takes the organization's lock, as Baton's does.
 */
export async function spawnLeanPeer(databaseUrl: string, opts: { orgLock?: boolean } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [path.join(__dirname, "lean-peer.js")], {
    env: { ...process.env, DATABASE_URL: databaseUrl, JWT_SECRET: TEST_JWT_SECRET, DB_POOL_SIZE: "20", LEAN_PEER_ORG_LOCK: opts.orgLock ? "1" : "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | string | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  const url = await new Promise<string>((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    void exited.then((how) => reject(new Error(`lean peer exited (${String(how)}): ${output}`)));
  });
  return { child, url, metricsUrl: null, exited };
}
