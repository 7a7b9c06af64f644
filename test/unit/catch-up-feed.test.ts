import { describe, expect, it } from "vitest";
import { CatchUpFeed } from "../../src/events/catch-up-feed";

// The feed's hand-over between live messages and the event table, against an in-memory log that
// behaves as the table does (events after a sequence, in order): every event once, in order.

interface Message {
  event: { sequence: string };
}
type Row = { sequence: string };

function world(maxQueued: number, pageSize = 10) {
  const log: Row[] = [];
  let reads = 0;
  /** Called during each read: what commits (and is published) while the page is being read. */
  let duringRead: (() => void) | null = null;
  const feed = new CatchUpFeed<Message, Row>({
    maxQueued,
    pageSize,
    readAfter: async (after, first) => {
      reads++;
      const rows = log.filter((r) => BigInt(r.sequence) > BigInt(after)).slice(0, first);
      await Promise.resolve();
      duringRead?.();
      return rows;
    },
  });
  /** Commits an event: in the log, then published. */
  const commit = () => {
    const row = { sequence: String(log.length + 1) };
    log.push(row);
    feed.push({ event: { ...row } });
  };
  const take = async (n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await feed.next();
      if (r.done) break;
      out.push((r.value).event.sequence);
    }
    return out;
  };
  return { log, feed, commit, take, reads: () => reads, setDuringRead: (f: (() => void) | null) => (duringRead = f) };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe("CatchUpFeed", () => {
  it("a reader that keeps up gets the live messages and never reads the table", async () => {
    const w = world(5);
    for (let i = 0; i < 3; i++) w.commit();
    expect(await w.take(3)).toEqual(range(1, 3));
    const next = w.take(1);
    w.commit();
    expect(await next).toEqual(["4"]);
    expect(w.reads()).toBe(0);
  });

  it("a burst past the queue is read back from the table, every event once, in order, then live again", async () => {
    const w = world(5, 10);
    w.commit();
    expect(await w.take(1)).toEqual(["1"]);
    for (let i = 0; i < 95; i++) w.commit(); // 2..96
    expect(w.feed.catchingUpNow).toBe(true);
    expect(await w.take(95)).toEqual(range(2, 96));
    const reads = w.reads();
    const next = w.take(1);
    await Promise.resolve();
    w.commit();
    expect(await next).toEqual(["97"]);
    expect(w.feed.catchingUpNow).toBe(false);
    expect(w.reads()).toBe(reads); // live: no more reads
  });

  it("events committed while a page is read are delivered once, after it (the hand-over is gap-free)", async () => {
    const w = world(5, 10);
    for (let i = 0; i < 8; i++) w.commit(); // overflows before anything is read: catch up from 0
    let extra = 3;
    w.setDuringRead(() => {
      while (extra-- > 0) w.commit(); // 9, 10, 11 commit during the first read (the page may hold some of them too)
    });
    expect(await w.take(11)).toEqual(range(1, 11));
    w.setDuringRead(null);
    w.commit();
    expect(await w.take(1)).toEqual(["12"]);
  });

  it("more lost while reading than the queue holds: it reads again instead of going live with a gap", async () => {
    const w = world(3, 4);
    for (let i = 0; i < 5; i++) w.commit();
    let rounds = 0;
    w.setDuringRead(() => {
      if (rounds++ < 2) for (let i = 0; i < 5; i++) w.commit(); // overflow the tail during two reads
    });
    const all = await w.take(15);
    expect(all).toEqual(range(1, 15));
  });

  it("a reader that stops reading stops the reads: one page at most, memory bounded by the queue", async () => {
    const w = world(5, 10);
    for (let i = 0; i < 1000; i++) w.commit();
    expect(w.reads()).toBe(0);
    expect(await w.take(1)).toEqual(["1"]);
    expect(w.reads()).toBe(1);
    await w.feed.return();
    expect((await w.feed.next()).done).toBe(true);
  });
});

describe("CatchUpFeed and messages published out of commit order", () => {
  // Two commits' messages may be published the other way round (each after its own commit, or
  // from two instances): the later one is delivered late, never dropped, and nothing twice.
  it("a message below the last delivered that was never delivered arrives late; one heard twice once", async () => {
    const w = world(5);
    w.log.push({ sequence: "1" }, { sequence: "2" });
    w.feed.push({ event: { sequence: "2" } }); // 2 published first
    w.feed.push({ event: { sequence: "1" } });
    w.feed.push({ event: { sequence: "2" } }); // and heard again
    expect(await w.take(2)).toEqual(["2", "1"]);
    const next = w.take(1);
    w.commit(); // 3
    expect(await next).toEqual(["3"]);
    const waiting = w.feed.next();
    w.feed.push({ event: { sequence: "1" } });
    w.feed.push({ event: { sequence: "4" } });
    expect(((await waiting) as IteratorResult<Message>).value?.event.sequence).toBe("4");
  });

  it("remembers the last 4,096 sequences delivered, no more: a repeat among them is dropped, the memory stays bounded", async () => {
    const w = world(5);
    for (let i = 0; i < 10_000; i++) {
      w.commit();
      expect(await w.take(1)).toEqual([String(i + 1)]);
    }
    const remembered = (w.feed as unknown as { delivered: Set<bigint>; deliveredOrder: bigint[] });
    expect(remembered.delivered.size).toBe(4_096);
    expect(remembered.deliveredOrder.length).toBe(4_096);
    const waiting = w.feed.next();
    w.feed.push({ event: { sequence: "9990" } }); // heard twice, still remembered: dropped
    w.commit(); // 10001
    expect(((await waiting) as IteratorResult<Message>).value?.event.sequence).toBe("10001");
  });

  it("a feed resuming after a sequence reads the table from there, then goes live without repeating it", async () => {
    const log: Row[] = range(1, 6).map((sequence) => ({ sequence }));
    const feed = new CatchUpFeed<Message, Row>({
      maxQueued: 5,
      pageSize: 10,
      startAfter: "3",
      readAfter: async (after, first) => log.filter((r) => BigInt(r.sequence) > BigInt(after)).slice(0, first),
    });
    feed.push({ event: { sequence: "3" } }); // the previous feed's, not this one's
    feed.push({ event: { sequence: "6" } }); // live while the table is read
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push(((await feed.next()).value as Message).event.sequence);
    expect(got).toEqual(["4", "5", "6"]);
    const next = feed.next();
    log.push({ sequence: "7" });
    feed.push({ event: { sequence: "7" } });
    expect(((await next).value as Message).event.sequence).toBe("7");
  });
});

describe("CatchUpFeed when the table cannot be read", () => {
  it("a failed read ends the feed, says so (the socket is closed to catch up: 4503), and stops listening; nothing is delivered after a gap", async () => {
    const failures: unknown[] = [];
    let ended = 0;
    const feed = new CatchUpFeed<{ event: { sequence: string } }, { sequence: string }>({
      maxQueued: 2,
      readAfter: () => Promise.reject(new Error("connection terminated")),
      onReadFailed: (err) => failures.push(err),
      onEnd: () => ended++,
    });
    for (let i = 1; i <= 5; i++) feed.push({ event: { sequence: String(i) } }); // behind: it must read the table
    await expect(feed.next()).rejects.toThrow("connection terminated");
    expect(failures).toHaveLength(1);
    expect(ended).toBe(1);
    feed.push({ event: { sequence: "6" } });
    expect((await feed.next()).done).toBe(true);
  });
});
