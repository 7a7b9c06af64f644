import { describe, expect, it } from "vitest";
import { Batcher } from "../../src/kernel/batcher";

// The group-commit batcher behind recordCustomerMessage: calls that arrive while a run is in
// flight go together in the next; a failed run (a lost connection, say) fails each of its calls
// with its error, and the batcher goes on with the next calls: nothing waits forever, nothing is lost.

describe("Batcher", () => {
  it("a lone call goes at once; calls during a run go together in the next, each with its own answer", async () => {
    const runs: number[][] = [];
    const b = new Batcher<number, number>(async (keys) => {
      runs.push(keys);
      await new Promise((r) => setTimeout(r, 10));
      return keys.map((k) => k * 2);
    });
    const answers = await Promise.all([1, 2, 3, 4].map((k) => b.load(k)));
    expect(answers).toEqual([2, 4, 6, 8]);
    expect(runs).toEqual([[1], [2, 3, 4]]);
  });

  it("a failed run fails each of its calls with its error, and the next calls are run", async () => {
    let fail = true;
    const b = new Batcher<number, number>(async (keys) => {
      if (fail) throw new Error("connection terminated");
      return keys;
    });
    const failed = await Promise.allSettled([b.load(1), b.load(2)]);
    expect(failed.map((f) => (f.status === "rejected" ? (f.reason as Error).message : "ok"))).toEqual(["connection terminated", "connection terminated"]);
    fail = false;
    expect(await Promise.all([b.load(3), b.load(4)])).toEqual([3, 4]);
  });

  it("a run that throws before returning a promise fails its calls the same way", async () => {
    const b = new Batcher<number, number>(() => {
      throw new Error("synchronous");
    });
    await expect(b.load(1)).rejects.toThrow("synchronous");
  });
});
