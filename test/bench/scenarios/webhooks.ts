import { RecipientType } from "../../../src/modules/assignments/assignment-request.entity";
import { WebhookReceiver } from "../../support/webhook-receiver";
import { type Bench, gql, log, sleep } from "../support";
import { ms, percentile } from "../stats";

/**
 * Webhooks (issue #22): 1,000 handovers (assign, then accept: two events each) by 16 clients, with
 * two endpoints on loopback receivers answering 204, beside the same handovers with no endpoint,
 * in alternating passes of the same run. Latency runs from the event's `occurredAt` (the moment
 * the engine decided, before the transaction's writes and commit, so it overstates commit-to-
 * receiver) to the message's arrival at the receiver.
 */
export async function webhooks(bench: Bench): Promise<void> {
  const { quick, s1, agents, token, newChats, organizationId, ds, rows } = bench;
  const HANDOVERS = quick ? 200 : 1_000;
  const CONC = 16;
  const adminId = (await ds.query<Array<{ id: string }>>(`SELECT id FROM users WHERE organization_id = $1 AND role = 'ADMIN' LIMIT 1`, [organizationId]))[0].id;
  const pairs = await Promise.all(
    Array.from({ length: CONC }, async (_, i) => ({ a: agents[100 + 2 * i], b: agents[101 + 2 * i], chat: (await newChats(agents[100 + 2 * i].id, 1))[0] })),
  );
  const owner = pairs.map((p) => p.a);
  const assignQ = `mutation($input: AssignChatInput!) { assignChat(input: $input) { id status } }`;
  const acceptQ = `mutation($id: ID!) { acceptAssignment(requestId: $id) { id status } }`;
  /** `n` handovers across the 16 clients; handovers per second. */
  const pass = async (n: number): Promise<number> => {
    let left = n;
    const t0 = performance.now();
    await Promise.all(
      pairs.map(async (p, i) => {
        while (left > 0) {
          left--;
          const from = owner[i];
          const to = from.id === p.a.id ? p.b : p.a;
          const sent = (await gql(s1.url, token.get(from.id)!, assignQ, { input: { chatSessionId: p.chat, recipientType: RecipientType.USER, recipientId: to.id } })) as {
            assignChat: { id: string };
          };
          await gql(s1.url, token.get(to.id)!, acceptQ, { id: sent.assignChat.id });
          owner[i] = to;
        }
      }),
    );
    return n / ((performance.now() - t0) / 1000);
  };

  const receivers = [new WebhookReceiver(), new WebhookReceiver()];
  for (const r of receivers) await r.start();
  const createQ = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`;
  const deleteQ = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`;
  const adminToken = token.get(adminId)!;

  await pass(quick ? 50 : 200); // warm-up, no endpoints
  const without: number[] = [];
  const withHooks: number[] = [];
  const latencies: number[] = [];
  let delivered = 0;
  let deliverySeconds = 0;
  const rounds = 2;
  for (let round = 0; round < rounds; round++) {
    without.push(await pass(HANDOVERS / rounds));
    const ids: string[] = [];
    for (const r of receivers) {
      const d = (await gql(s1.url, adminToken, createQ, { input: { url: r.url, eventTypes: [] } })) as { createWebhookEndpoint: { endpoint: { id: string } } };
      ids.push(d.createWebhookEndpoint.endpoint.id);
    }
    for (const r of receivers) r.all.length = 0;
    const t0 = performance.now();
    const t0Wall = Date.now();
    withHooks.push(await pass(HANDOVERS / rounds));
    const expected = (HANDOVERS / rounds) * 2; // two events per handover, to each receiver
    const deadline = Date.now() + 60_000;
    while (receivers.some((r) => r.accepted().length < expected) && Date.now() < deadline) await sleep(20);
    const last = Math.max(...receivers.map((r) => Math.max(...r.all.map((m) => m.at))));
    deliverySeconds += (last - t0Wall) / 1000;
    for (const r of receivers) {
      const got = r.accepted();
      delivered += new Set(got.map((m) => m.id)).size;
      for (const m of got) latencies.push(Math.max(0, m.at - Date.parse(m.json.data.occurredAt)));
      if (got.length < expected) log(`webhooks: a receiver got ${got.length} of ${expected}`);
    }
    for (const id of ids) await gql(s1.url, adminToken, deleteQ, { id });
    log(`webhooks round ${round + 1}: ${without[round].toFixed(1)} handovers/s without, ${withHooks[round].toFixed(1)} with; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  for (const r of receivers) await r.stop();

  const expectedAll = HANDOVERS * 2 * receivers.length;
  const rateWithout = without.reduce((a, b) => a + b, 0) / rounds;
  const rateWith = withHooks.reduce((a, b) => a + b, 0) / rounds;
  const ratio = rateWith / rateWithout;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  rows.push({
    scenario: `webhooks: ${HANDOVERS} handovers (assign + accept, 16 clients) to 2 endpoints`,
    figure: `${rateWith.toFixed(1)} handovers/s; ${delivered} of ${expectedAll} messages delivered, ${(delivered / deliverySeconds).toFixed(0)} deliveries/s; event to receiver p50 ${ms(p50)}, p99 ${ms(p99)}`,
    floor: `${rateWithout.toFixed(1)} handovers/s without endpoints`,
    ratio: ratio.toFixed(2),
    target: "throughput >= 0.9 of no endpoints; p99 < 250 ms; all delivered",
    met: ratio >= 0.9 && p99 < 250 && delivered === expectedAll ? "yes" : "no",
  });
}
