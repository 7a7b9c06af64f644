import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcceptAssignmentDocument, AssignChatDocument, CreateWebhookEndpointDocument } from "../../schema/generated/graphql";
import { call } from "../support/http-client";
import { assignInput, createChat, createWorld, loopRulesOff, type World } from "../support/factories";
import { ownPostgres, type OwnPostgres } from "../support/own-servers";
import { type ServerProcess, spawnServer, stopServer } from "../support/process";
import { sleep, until } from "../support/wait";
import { type Received, WebhookReceiver } from "../support/webhook-receiver";

// Issue #22, the faults webhooks invite: the process killed with deliveries pending, and its
// database stopped and started under load. Everything on things this test owns: its own embedded
// Postgres, its own server processes, its own receiver on loopback.

let pg: OwnPostgres;
let w: World;
let receiver: WebhookReceiver;
const servers: ServerProcess[] = [];

const ENV = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
  WEBHOOK_RETRY_SCHEDULE_SECONDS: Array(30).fill("0.3").join(","),
  WEBHOOK_TIMEOUT_SECONDS: "1",
};

async function server(): Promise<ServerProcess> {
  const s = await spawnServer(pg.url, ENV);
  servers.push(s);
  return s;
}

interface EventRow {
  sequence: string;
  chat_session_id: string;
}
const eventsSince = async (after: string): Promise<EventRow[]> =>
  pg.dataSource.query(`SELECT sequence::text, chat_session_id FROM assignment_events WHERE organization_id = $1 AND sequence > $2 ORDER BY assignment_events.sequence`, [w.organizationId, after]);
const lastSequence = async (): Promise<string> =>
  ((await pg.dataSource.query<Array<{ s: string }>>(`SELECT coalesce(max(sequence), 0)::text AS s FROM assignment_events WHERE organization_id = $1`, [w.organizationId]))[0]?.s ?? "0");
const deliveryCounts = async (endpointId: string): Promise<Record<string, number>> => {
  const rows = await pg.dataSource.query<Array<{ status: string; n: number }>>(`SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY status`, [endpointId]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
};

/**
 * Every committed event after `after` reached the receiver with a valid signature and a 2xx, and
 * for each chat the first acceptances came in sequence order; nothing was sent that was not committed.
 */
function expectAllDelivered(events: EventRow[], accepted: Received[], secret: string): void {
  const verifier = new Webhook(secret);
  const firstAt = new Map<string, number>();
  accepted.forEach((m, i) => {
    verifier.verify(m.body, m.headers); // throws on a bad signature
    if (!firstAt.has(m.json.data.sequence)) firstAt.set(m.json.data.sequence, i);
  });
  const committed = new Set(events.map((e) => e.sequence));
  const missing = events.filter((e) => !firstAt.has(e.sequence)).map((e) => e.sequence);
  expect(missing, "committed events never delivered").toEqual([]);
  const strays = [...firstAt.keys()].filter((s) => !committed.has(s));
  expect(strays, "messages for events that never committed").toEqual([]);
  const byChat = new Map<string, number[]>();
  for (const e of events) byChat.set(e.chat_session_id, [...(byChat.get(e.chat_session_id) ?? []), firstAt.get(e.sequence)!]);
  for (const order of byChat.values()) expect(order).toEqual([...order].sort((x, y) => x - y));
}

async function endpoint(s: ServerProcess): Promise<{ id: string; secret: string }> {
  const res = await call(s.url, CreateWebhookEndpointDocument, { input: { url: receiver.url, eventTypes: [] } }, w.token(w.admin));
  expect(res.errors).toBeUndefined();
  return { id: res.data!.createWebhookEndpoint.endpoint.id, secret: res.data!.createWebhookEndpoint.secret };
}

beforeAll(async () => {
  pg = await ownPostgres();
  w = await createWorld(pg.dataSource);
  await loopRulesOff(pg.dataSource, w); // the load hands each chat back and forth
  receiver = new WebhookReceiver();
  await receiver.start();
}, 60_000);

afterAll(async () => {
  for (const s of servers) await stopServer(s);
  await receiver?.stop();
  await pg?.destroy();
});

describe("webhooks under faults", () => {
  it("SIGKILL with deliveries pending (some in flight): a new process sends every one, each chat in order", async () => {
    const first = await server();
    const ep = await endpoint(first);
    const from = await lastSequence();
    // The receiver is down (503 at once) for the first messages and hangs on some: at the kill,
    // deliveries wait for a retry and others are leased to a request the kill cuts off.
    let n = 0;
    receiver.behaviour = () => (++n % 5 === 0 ? "hang" : 503);
    const chats = await Promise.all(Array.from({ length: 4 }, () => createChat(pg.dataSource, w.organizationId, w.mark.id)));
    for (const chat of chats) {
      const sent = await call(first.url, AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
      expect(sent.errors).toBeUndefined();
      const accepted = await call(first.url, AcceptAssignmentDocument, { requestId: sent.data!.assignChat.id }, w.token(w.martha));
      expect(accepted.errors).toBeUndefined();
    }
    await until(() => receiver.all.length >= 10, 10_000);
    first.child.kill("SIGKILL");
    await first.exited;
    const before = await deliveryCounts(ep.id);
    expect(before.PENDING ?? 0).toBeGreaterThan(0);
    expect(receiver.accepted()).toHaveLength(0);

    receiver.behaviour = () => 204;
    const second = await server();
    // In-flight ones wait for their lease (timeout + 15 s); the rest go at the next sweep.
    await until(async () => (await deliveryCounts(ep.id)).PENDING === undefined, 40_000, 100);
    const events = await eventsSince(from);
    expect(events.length).toBe(8); // per chat: the request and its acceptance
    expectAllDelivered(events, receiver.accepted(), ep.secret);
    expect(await deliveryCounts(ep.id)).toEqual({ DELIVERED: events.length });
    // The compiled server sends from a thread of its own: what it did reaches the server's metrics.
    const metric = async (line: string): Promise<number> => {
      const text = await (await fetch(second.metricsUrl!)).text();
      return Number(new RegExp(`^${line.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
    };
    await until(async () => (await metric('baton_webhook_deliveries_total{status="DELIVERED"}')) === events.length, 5_000, 100);
    expect(await metric('baton_webhook_attempts_total{outcome="delivered"}')).toBe(events.length);
    expect(await metric("baton_webhook_delivery_latency_seconds_count")).toBe(events.length);
    // The next test's endpoint posts to the same receiver: this one goes.
    await pg.dataSource.query(`DELETE FROM webhook_endpoints WHERE id = $1`, [ep.id]);
  }, 90_000);

  it("Postgres stopped and started under load: every committed event is delivered, none that was not, each chat in order", async () => {
    const s = servers.find((x) => x.child.exitCode === null && x.child.signalCode === null) ?? (await server());
    const from = await lastSequence();
    receiver.all.length = 0;
    receiver.behaviour = () => 204;
    const ep = await endpoint(s);
    let running = true;
    const workers = Array.from({ length: 6 }, async () => {
      const chat = await createChat(pg.dataSource, w.organizationId, w.mark.id);
      let owner = w.mark;
      let other = w.martha;
      while (running) {
        const sent = await call(s.url, AssignChatDocument, { input: assignInput(chat.id, other.id) }, w.token(owner));
        const requestId = sent.data?.assignChat.id;
        if (!requestId) {
          await sleep(100);
          // After an outage the database says who owns the chat now.
          const rows = await pg.dataSource.query<Array<{ owner_id: string }>>(`SELECT owner_id FROM chat_sessions WHERE id = $1`, [chat.id]).catch(() => null);
          if (rows && rows[0]?.owner_id !== owner.id) [owner, other] = [other, owner];
          continue;
        }
        const accepted = await call(s.url, AcceptAssignmentDocument, { requestId }, w.token(other));
        if (accepted.data) [owner, other] = [other, owner];
      }
    });
    await sleep(1_500);
    await pg.stop();
    await sleep(3_000);
    await pg.start();
    await sleep(2_000);
    running = false;
    await Promise.all(workers);
    expect(s.child.exitCode).toBeNull();
    expect(s.child.signalCode).toBeNull();

    const events = await eventsSince(from);
    expect(events.length).toBeGreaterThan(20);
    await until(async () => (await deliveryCounts(ep.id)).PENDING === undefined, 40_000, 100);
    // The endpoint was created after `from`: its deliveries are exactly the events after it.
    expect(await deliveryCounts(ep.id)).toEqual({ DELIVERED: events.length });
    expectAllDelivered(events, receiver.accepted(), ep.secret);
  }, 90_000);
});
