import pino from "pino";
import { getHeapSpaceStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import { startMemoryTrim } from "../../src/memory-trim";

const logger = pino({ level: process.env.TRIM_LOG ? "info" : "silent" });
// Samples every 100 ms: a shorter window is too easily made busy by another process on a loaded machine.
const OPTS = { everyMs: 100, busy: 0.5, idle: 0.2, idleSamples: 2, shrinkAfterMs: 0 };

/** Keeps the event loop busy for `ms`, a few milliseconds at a time (timers still fire between). */
async function busyFor(ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const slice = Date.now() + 8;
    while (Date.now() < slice) {
      /* busy */
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Keeps the event loop about a fifth busy for `ms`: 2 ms of work, then 8 ms of nothing. */
async function partlyBusyFor(ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const slice = Date.now() + 2;
    while (Date.now() < slice) {
      /* busy */
    }
    await new Promise((resolve) => setTimeout(resolve, 8));
  }
}

const young = (): number => getHeapSpaceStatistics().find((space) => space.space_name === "new_space")!.space_size;

/** Survivors among much garbage grow the young generation (to 32 MB on 64-bit Node 20); its size then. */
function growYoungGeneration(): number {
  let survivors: object[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    survivors.push({ i, s: `x${i}` });
    if (survivors.length > 200_000) survivors = [];
  }
  survivors = [];
  const grown = young();
  expect(grown).toBeGreaterThanOrEqual(16 * 2 ** 20);
  return grown;
}

/** Waits up to `ms` for the young generation to be a quarter of `grown` or less (on a loaded machine the samples come late). */
async function shrunk(grown: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (young() > grown / 4 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 250));
}

describe("memory trim", () => {
  it("collects once when the loop turns idle after a busy spell, never while busy, and not again until the next spell", async () => {
    const trims: number[] = [];
    const stop = startMemoryTrim(logger, OPTS, (freed) => trims.push(freed));
    try {
      await new Promise((resolve) => setTimeout(resolve, 600)); // idle from the start: nothing to give back
      expect(trims).toHaveLength(0);
      await busyFor(800);
      expect(trims).toHaveLength(0); // busy: never
      await new Promise((resolve) => setTimeout(resolve, 800)); // idle after the spell: once
      expect(trims).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(trims).toHaveLength(1); // still idle: not again
      await busyFor(600);
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(trims).toHaveLength(2); // the next spell's end
    } finally {
      stop();
    }
  });

  it("gives back what a spell's garbage left committed: the heap is compacted, not only collected", async () => {
    // Long-lived objects spread over pages full of garbage, as sockets among a load's results.
    const keep: object[] = [];
    let junk: object[] = [];
    for (let i = 0; i < 1_500_000; i++) {
      const o = { i, s: `x${i}`, a: [i] };
      if (i % 10 === 0) keep.push(o);
      else junk.push(o);
      if (junk.length > 100_000) junk = [];
    }
    junk = [];
    // The old generation, where the load's survivors went and the compaction works (the young
    // generation's size is V8's own choice, and the step after the trim's).
    const oldSpace = (): number => getHeapSpaceStatistics().find((space) => space.space_name === "old_space")!.space_size;
    const committedBefore = oldSpace();
    // 50 ms samples here: the trim and the young generation's step both come within the wait.
    const stop = startMemoryTrim(logger, { ...OPTS, everyMs: 50 });
    try {
      await busyFor(300);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const committedAfter = oldSpace();
      // Most of the committed old generation was garbage: at least a third of it goes.
      expect(committedAfter).toBeLessThan(committedBefore * 0.67);
      expect(keep).toHaveLength(150_000);
    } finally {
      stop();
    }
  });

  it("gives back the young generation a spell grew, once the loop has stayed idle a few seconds after the collection", async () => {
    const grown = growYoungGeneration();
    const trims: number[] = [];
    const stop = startMemoryTrim(logger, { everyMs: 250, busy: 0.5, idle: 0.2, idleSamples: 1, shrinkAfterMs: 6_000 }, (freed) => trims.push(freed));
    try {
      await busyFor(600);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(trims).toHaveLength(1); // collected and compacted; the young generation kept its size
      expect(young()).toBe(grown);
      await shrunk(grown, 12_000);
      expect(young()).toBeLessThanOrEqual(grown / 4);
    } finally {
      stop();
    }
  }, 25_000);

  it("a sample neither idle nor busy after the collection (a keep-alive round, a scrape) delays the young generation's step, and does not call it off", async () => {
    const grown = growYoungGeneration();
    const trims: number[] = [];
    const stop = startMemoryTrim(logger, { everyMs: 250, busy: 0.6, idle: 0.1, idleSamples: 1, shrinkAfterMs: 6_000 }, (freed) => trims.push(freed));
    try {
      await busyFor(600);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(trims).toHaveLength(1);
      await partlyBusyFor(5_500); // about a fifth of the loop, between idle and busy, past the 6 s after the collection
      expect(young()).toBe(grown); // not while the loop is that busy
      await shrunk(grown, 12_000); // idle now: the step comes once 6 s have passed without a busier sample
      expect(trims).toHaveLength(1);
      expect(young()).toBeLessThanOrEqual(grown / 4);
    } finally {
      stop();
    }
  }, 30_000);
});
