import { describe, expect, it } from "vitest";
import { CoalescingFeed } from "../../src/events/coalescing-feed";

// A feed of states: a reader that falls behind gets every thing that changed, in its latest state.

interface State {
  id: string;
  version: number;
}

function world(maxQueued: number, maxPending = 1_000) {
  const now = new Map<string, number>();
  let reads = 0;
  let overflowed = false;
  const feed = new CoalescingFeed<State, string>({
    maxQueued,
    maxPending,
    pageSize: 3,
    keyOf: (m) => m.id,
    compact: (m) => m.id,
    expand: async (ids) => {
      reads++;
      return ids.map((id) => ({ id, version: now.get(id)! }));
    },
    onOverflow: () => (overflowed = true),
  });
  const change = (id: string) => {
    const version = (now.get(id) ?? 0) + 1;
    now.set(id, version);
    feed.push({ id, version });
  };
  const take = async (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await feed.next();
      if (r.done) break;
      out.push(`${r.value.id}@${r.value.version}`);
    }
    return out;
  };
  return { feed, change, take, reads: () => reads, overflowed: () => overflowed };
}

describe("CoalescingFeed", () => {
  it("a reader that keeps up gets every message as published", async () => {
    const w = world(5);
    w.change("a");
    w.change("a");
    expect(await w.take(2)).toEqual(["a@1", "a@2"]);
    expect(w.reads()).toBe(0);
  });

  it("behind: every thing that changed once, in its latest state, read again; then live", async () => {
    const w = world(3);
    for (const id of ["a", "b", "c", "d", "a", "e", "b"]) w.change(id);
    const got = await w.take(5);
    expect(got.sort()).toEqual(["a@2", "b@2", "c@1", "d@1", "e@1"]);
    expect(w.reads()).toBe(2); // pages of 3
    const next = w.take(1);
    w.change("f");
    expect(await next).toEqual(["f@1"]);
  });

  it("a reader gone for good: past maxPending distinct things it ends and says so, memory bounded", async () => {
    const w = world(2, 10);
    for (let i = 0; i < 20; i++) w.change(`c${i}`);
    expect(w.overflowed()).toBe(true);
    expect((await w.feed.next()).done).toBe(true);
  });
});

describe("CoalescingFeed when the chats cannot be read again", () => {
  it("a failed read ends the feed and says so (the socket is closed to catch up: 4503)", async () => {
    const failures: unknown[] = [];
    let ended = 0;
    const feed = new CoalescingFeed<{ id: string }, string>({
      maxQueued: 1,
      maxPending: 100,
      keyOf: (m) => m.id,
      compact: (m) => m.id,
      expand: () => Promise.reject(new Error("connection terminated")),
      onReadFailed: (err) => failures.push(err),
      onEnd: () => ended++,
    });
    for (const id of ["a", "b", "c"]) feed.push({ id });
    await expect(feed.next()).rejects.toThrow("connection terminated");
    expect(failures).toHaveLength(1);
    expect(ended).toBe(1);
    expect((await feed.next()).done).toBe(true);
  });
});
