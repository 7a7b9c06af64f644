import { readdirSync, readFileSync } from "node:fs";

/** Percentiles from every sample (sorted), not from averages. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const ms = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 2 : 1)} ms` : "n/a");

/** Runs `work` on `concurrency` workers until `durationMs` passes; returns each call's latency. */
export async function closedLoop(concurrency: number, durationMs: number, work: (worker: number) => Promise<void>): Promise<{ latencies: number[]; elapsedMs: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await work(worker);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - start, errors };
}

/** Resident set size of a process, from /proc (Linux), in MB. */
export async function rssMb(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

/** CPU time (ms) used so far by each process of interest, by pid: see `cpuSpent`. */
export type CpuSnapshot = Map<number, { name: string; ms: number }>;

/**
 * The CPU time so far of the given processes and of every Postgres process of this machine, from
 * /proc (Linux; empty elsewhere).
 */
export function cpuTimes(pids: Record<string, number | undefined>): CpuSnapshot {
  const byPid = new Map(Object.entries(pids).flatMap(([name, pid]) => (pid ? [[pid, name] as const] : [])));
  const out: CpuSnapshot = new Map();
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const name = byPid.get(Number(d)) ?? (comm === "postgres" ? "postgres" : null);
    // utime and stime, in clock ticks (100 per second on Linux).
    if (name) out.set(Number(d), { name, ms: (Number(fields[11]) + Number(fields[12])) * 10 });
  }
  return out;
}

/**
 * CPU spent between two snapshots, by name: per process, so that connections opened or closed
 * meanwhile (a pool's idle ones) count only what they spent in between.
 */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const spent: Record<string, number> = {};
  for (const [pid, { name, ms }] of after) spent[name] = (spent[name] ?? 0) + ms - (before.get(pid)?.ms ?? 0);
  return spent;
}
