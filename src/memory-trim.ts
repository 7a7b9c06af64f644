import { performance } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Logger } from "./logger";

export interface MemoryTrimOptions {
  /** How often the event loop's use is sampled (ms). */
  everyMs: number;
  /** A sample at least this busy (share of the loop's time) marks a busy spell. */
  busy: number;
  /** A sample at most this busy, after a busy spell, counts as idle. */
  idle: number;
  /** Idle samples in a row before the trim. */
  idleSamples: number;
  /**
   * Once the loop has been idle this long after the collection, a young-generation collection
   * runs: V8 gives the young generation's pages back (32 MB once grown) only at a collection after
   * several seconds of little allocation, which the first was not.
   */
  shrinkAfterMs: number;
}

export const DEFAULT_MEMORY_TRIM: MemoryTrimOptions = { everyMs: 5_000, busy: 0.15, idle: 0.05, idleSamples: 2, shrinkAfterMs: 6_000 };

type Gc = (options?: { type?: "major" | "minor" }) => void;

/**
 * Gives memory back once a busy spell is over. Under load V8 lets garbage pile up to a limit it
 * raises with the live heap (a contact centre's 10,000 sockets and a minute of handovers took
 * the committed heap from 236 to 326-516 MB), and its own memory reducer, which would collect
 * it once the process idles, never decided it did: ten thousand idle sockets keep allocating a
 * little (keep-alive pings, the slow-reader sweep). So when the event loop, busy a moment ago,
 * has been idle for `idleSamples` samples, one full collection is run, on a loop with nothing
 * else to do, compacting as it goes (see `compactingGc`), and once the loop has stayed idle
 * idle `shrinkAfterMs` more (a sample neither idle nor busy only delays it), a young-generation
 * collection, which gives back what the young generation grew to (V8 keeps it at its largest
 * until a collection sees the allocation rate low; tried again at later idle samples until it does).
 * Never while busy, and at most once per busy spell; a log line for each step.
 * Returns the function that stops it.
 */
export function startMemoryTrim(logger: Logger, opts: MemoryTrimOptions = DEFAULT_MEMORY_TRIM, onTrim?: (freedBytes: number) => void): () => void {
  const gc = exposedGc();
  if (!gc) {
    logger.warn("memory trim off: the garbage collector could not be reached");
    return () => {};
  }
  let last = performance.eventLoopUtilization();
  let busySpell = false;
  let idleInARow = 0;
  /** Since when the loop has been idle after the last trim's collection, while its young-generation step is still to come. */
  let pending: number | null = null;
  /** Young-generation collections run since that trim that left the young generation as it was. */
  let tries = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const used = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (pending !== null && used < opts.busy) {
      // A sample neither idle nor busy (a keep-alive round, a scrape) starts the wait again: V8
      // shrinks the young generation only after seconds of little allocation.
      if (used > opts.idle) pending = performance.now();
      if (performance.now() - pending < opts.shrinkAfterMs) return;
      const before = process.memoryUsage().rss;
      const started = performance.now();
      gc({ type: "minor" });
      last = performance.eventLoopUtilization();
      const young = getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0;
      tries++;
      // V8 gives the pages back only when it judges the recent allocation rate low, which a
      // collection soon after a spike of allocation may not: the next idle samples try again, for
      // up to SHRINK_TRIES of them.
      if (young > SHRUNK_BYTES && tries < SHRINK_TRIES) return;
      logger.info({ ms: Math.round(performance.now() - started), youngGenerationMb: mb(young), freedRssMb: mb(before - process.memoryUsage().rss), tries }, "young generation collected after a trim");
      pending = null;
      tries = 0;
      return;
    }
    // Busy again before the young-generation step: the next spell's trim will do.
    pending = null;
    tries = 0;
    if (used >= opts.busy) {
      busySpell = true;
      idleInARow = 0;
      return;
    }
    if (!busySpell) return;
    idleInARow = used <= opts.idle ? idleInARow + 1 : 0;
    if (idleInARow < opts.idleSamples) return;
    busySpell = false;
    idleInARow = 0;
    const before = process.memoryUsage();
    const started = performance.now();
    compactingGc(gc);
    const after = process.memoryUsage();
    // The collection's own time is not the next sample's load.
    last = performance.eventLoopUtilization();
    const freed = before.rss - after.rss;
    logger.info(
      { ms: Math.round(performance.now() - started), rssMb: mb(after.rss), freedRssMb: mb(freed), heapCommittedMb: mb(after.heapTotal), heapUsedMb: mb(after.heapUsed) },
      "memory trimmed after a busy spell",
    );
    onTrim?.(freed);
    pending = performance.now();
  }, opts.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
/** The young generation counts as given back at this size or less (V8 starts it at 1 MB; it grows to 32 MB). */
const SHRUNK_BYTES = 8 * 2 ** 20;
/** Idle samples that try the young-generation collection before it is left at the size it is. */
const SHRINK_TRIES = 12;

/**
 * One full collection that also compacts the old generation. A plain one frees the garbage but
 * keeps the pages it was spread over (measured: 173 MB used in 273 MB committed after the
 * contact centre's load); V8 moves at most a few megabytes per collection on its own. For this one
 * collection every page may be evacuated (V8's --stress-compaction, switched off again at once,
 * with what it implies); the emptied pages go back to the system within a second.
 */
function compactingGc(gc: Gc): void {
  setFlagsFromString("--stress-compaction");
  try {
    gc();
  } finally {
    setFlagsFromString("--no-stress-compaction");
    setFlagsFromString("--no-force-marking-deque-overflows");
  }
}

/** V8's `gc()`, reached without starting Node with --expose-gc (null if it cannot be). */
function exposedGc(): Gc | null {
  const existing = (globalThis as { gc?: Gc }).gc;
  if (typeof existing === "function") return existing;
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as Gc) : null;
  } catch {
    return null;
  }
}
