import { RecipientType } from "../../../src/modules/assignments/assignment-request.entity";
import { spawnServer } from "../../support/process";
import { type Bench, gql, listenForCreated, sleep, minimalAssign } from "../support";
import { ms, percentile } from "../stats";

/** Cross-instance delivery through Redis. */
export async function cross(bench: Bench): Promise<void> {
  const { dbUrl, agents, token, newChats, servers, rows } = bench;
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const mine: typeof servers = [];
  try {
    const a = await spawnServer(dbUrl, { REDIS_URL: redisUrl });
    servers.push(a);
    mine.push(a);
    const b = await spawnServer(dbUrl, { REDIS_URL: redisUrl });
    servers.push(b);
    mine.push(b);
    const listeners3 = agents.slice(100, 300);
    const sockets3 = listenForCreated(a.url, listeners3, token);
    const arrived3 = sockets3.arrivals;
    await sleep(2_000);
    const sender3 = agents[997];
    const measure = async (via: string, group: typeof listeners3): Promise<number[]> => {
      const chats = await newChats(sender3.id, group.length);
      const out: number[] = [];
      for (let k = 0; k < group.length; k++) {
        const target = group[k];
        arrived3.delete(target.id);
        await gql(via, token.get(sender3.id)!, minimalAssign, { input: { chatSessionId: chats[k], recipientType: RecipientType.USER, recipientId: target.id } });
        const t = performance.now();
        while (!arrived3.has(target.id) && performance.now() < t + 5_000) await sleep(1);
        out.push(arrived3.has(target.id) ? Math.max(0, arrived3.get(target.id)! - t) : 5_000);
      }
      return out;
    };
    const single = await measure(a.url, listeners3.slice(0, 100));
    const cross = await measure(b.url, listeners3.slice(100, 200));
    await sockets3.close();
    const c99 = percentile(cross, 99);
    rows.push({
      scenario: "cross-instance delivery, 2 instances + Redis (100 events each way)",
      figure: `p50 ${ms(percentile(cross, 50))}, p99 ${ms(c99)}`,
      floor: `same instance: p50 ${ms(percentile(single, 50))}, p99 ${ms(percentile(single, 99))}`,
      ratio: (c99 / Math.max(0.001, percentile(single, 99))).toFixed(2),
      target: "p99 < 150 ms",
      met: c99 < 150 ? "yes" : "no",
    });
  } catch (err) {
    rows.push({ scenario: "cross-instance delivery, 2 instances + Redis", figure: `not measured: ${(err as Error).message}`, floor: "", ratio: "", target: "p99 < 150 ms", met: "n/a" });
  } finally {
    // The two instances stop with the scenario: left running, they took their share of every later
    // scenario's background work (timeouts, webhook claims to endpoints they may not call) and CPU.
    for (const s of mine) {
      s.child.kill("SIGTERM");
      await s.exited;
      servers.splice(servers.indexOf(s), 1);
    }
  }
}
