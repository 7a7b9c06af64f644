import { TokenService } from "../../../src/modules/auth/token.service";
import { TEST_JWT_SECRET } from "../../support/factories";
import { type Bench, gql, settle } from "../support";
import { ms, percentile } from "../stats";

/**
 * recordCustomerMessage (issue #24) as the WhatsApp connector calls it: once per inbound
 * message, 16 calls in flight at once, over 1,000 chats, for 10 s (3 s with --quick).
 */
export async function window(bench: Bench): Promise<void> {
  const { quick, ds, s1, organizationId, agents, newChats, rows } = bench;
  const [admin] = await ds.query<Array<{ id: string }>>(`SELECT id FROM users WHERE organization_id = $1 AND role = 'ADMIN' LIMIT 1`, [organizationId]);
  const token = new TokenService(TEST_JWT_SECRET, ds).sign(admin.id, 3600);
  const chats = await newChats(agents[500].id, 1_000);
  // Each call commits: the earlier scenarios' bulk loads (a year of records, twice) written out
  // first, not by the checkpointer during the timed calls (a full run gave 799 calls/s, p99 92 ms,
  // against 1,280 with --only=window).
  await settle(ds);
  const mutation = `mutation($chat: ID!, $at: DateTime!) { recordCustomerMessage(chatSessionId: $chat, at: $at) { id } }`;
  const seconds = quick ? 3 : 10;
  const times: number[] = [];
  let calls = 0;
  let next = 0;
  const run = async (until: number, record: boolean) => {
    while (performance.now() < until) {
      const chat = chats[next++ % chats.length];
      const t = performance.now();
      await gql(s1.url, token, mutation, { chat, at: new Date().toISOString() });
      if (record) {
        times.push(performance.now() - t);
        calls++;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, () => run(performance.now() + 1_000, false))); // warm-up
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, () => run(started + seconds * 1_000, true)));
  const rate = calls / ((performance.now() - started) / 1_000);
  const [check] = await ds.query<Array<{ n: number }>>(
    `SELECT count(*)::int AS n FROM chat_sessions WHERE id = ANY($1::uuid[]) AND last_customer_message_at > now() - interval '1 minute'`,
    [chats],
  );
  rows.push({
    scenario: `recordCustomerMessage (the connector, per inbound message), 16 calls in flight over 1,000 chats, ${seconds} s`,
    figure: `${rate.toFixed(0)} calls/s; p50 ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))}; ${check.n} of 1000 chats recorded`,
    floor: "none",
    ratio: "",
    target: ">= 1,000 calls/s",
    met: rate >= 1_000 && check.n === 1_000 ? "yes" : "no",
  });
}
