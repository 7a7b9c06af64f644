import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { Webhook } from "standardwebhooks";
import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  type AssignmentEventType,
  BulkAssignChatsDocument,
  CloseChatSessionDocument,
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  DiscussChatDocument,
  EndDiscussionDocument,
  RedeliverWebhooksDocument,
  RejectAssignmentDocument,
  RotateWebhookSecretDocument,
  UpdateWebhookEndpointDocument,
  WebhookDeliveriesDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import type { User } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createChat, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";
import { until, WebhookReceiver } from "../support/webhook-receiver";

// Issue #22: webhooks delivered. Real HTTP receivers on loopback (so private networks are allowed
// here; the connect-time refusal is tested in test/unit/webhook-sender.test.ts), signatures
// verified with the `standardwebhooks` package, never with Baton's code.

let db: TestDatabase;
let a: TestServer; // two instances on one database: deliveries are claimed by either
let b: TestServer;
const receivers: WebhookReceiver[] = [];

const FAST = { allowPrivateNetworks: true, retryScheduleSeconds: Array(20).fill(0.3), timeoutSeconds: 1 };

type Vars<D> = D extends TypedDocumentNode<unknown, infer V> ? V : never;

/** The operation's data, failing the test on any error. */
async function ok<T, V>(doc: TypedDocumentNode<T, V>, variables: V, token: string, server: TestServer = a): Promise<T> {
  const res = await server.gql(doc, variables, token);
  expect(res.errors).toBeUndefined();
  return res.data!;
}
async function receiver(): Promise<WebhookReceiver> {
  const r = new WebhookReceiver();
  await r.start();
  receivers.push(r);
  return r;
}
async function endpoint(w: World, url: string, eventTypes: AssignmentEventType[] = [], server: TestServer = a): Promise<{ id: string; secret: string }> {
  const d = await ok(CreateWebhookEndpointDocument, { input: { url, eventTypes } }, w.token(w.admin), server);
  return { id: d.createWebhookEndpoint.endpoint.id, secret: d.createWebhookEndpoint.secret };
}
async function assign(w: World, chatSessionId: string, from: User, to: User, server: TestServer = a, note?: string): Promise<string> {
  return (await ok(AssignChatDocument, { input: { chatSessionId, recipientId: to.id, recipientType: "USER", note } }, w.token(from), server)).assignChat.id;
}
const deliveries = async (w: World, variables: Vars<typeof WebhookDeliveriesDocument>, server: TestServer = a) =>
  (await ok(WebhookDeliveriesDocument, variables, w.token(w.admin), server)).webhookDeliveries;
const eventsOf = async (ds: DataSource, w: World): Promise<Array<{ sequence: string; type: string; chat_session_id: string }>> =>
  ds.query(`SELECT sequence::text, type, chat_session_id FROM assignment_events WHERE organization_id = $1 ORDER BY assignment_events.sequence`, [w.organizationId]);
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

beforeAll(async () => {
  db = await createTestDatabase();
  a = await startTestServer(db.dataSource, { webhooks: FAST });
  b = await startTestServer(db.dataSource, { webhooks: FAST });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  for (const r of receivers) await r.stop();
  await db?.drop();
});

describe("webhook delivery", () => {
  it("every event type arrives once, signed (standardwebhooks verifies it), with what the CRM needs", async () => {
    const w = await createWorld(db.dataSource, "Every type");
    const r = await receiver();
    const hook = await endpoint(w, r.url);
    const second = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const third = await createChat(db.dataSource, w.organizationId, w.mark.id);
    // CREATED, ACCEPTED
    const r1 = await assign(w, w.chat.id, w.mark, w.martha, a, "Wants a refund");
    await ok(AcceptAssignmentDocument, { requestId: r1 }, w.token(w.martha));
    // CREATED, REJECTED; CREATED, WITHDRAWN; CREATED, CANCELLED (the chat closed)
    await ok(RejectAssignmentDocument, { requestId: await assign(w, second.id, w.mark, w.tom), reason: "Busy" }, w.token(w.tom));
    await ok(WithdrawAssignmentDocument, { requestId: await assign(w, second.id, w.mark, w.tom), reason: "Sorted" }, w.token(w.mark));
    await assign(w, third.id, w.mark, w.tom);
    await ok(CloseChatSessionDocument, { id: third.id }, w.token(w.mark));
    // CREATED, TIMED_OUT (its deadline passed; the engine's sweep times it out)
    const r4 = await assign(w, second.id, w.mark, w.tom);
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [r4]);
    await a.app.services.handovers.timeOutDue();
    // ASSIGNED (bulk); CREATED, ACCEPTED (DISCUSS), DISCUSSION_ENDED
    await ok(BulkAssignChatsDocument, { input: { chatSessionIds: [second.id], toUserId: w.tom.id } }, w.token(w.maria));
    const d1 = (await ok(DiscussChatDocument, { input: { chatSessionId: w.chat.id, recipientId: w.tom.id, recipientType: "USER" } }, w.token(w.martha))).discussChat.id;
    await ok(AcceptAssignmentDocument, { requestId: d1 }, w.token(w.tom));
    const [discussion] = await db.dataSource.query(`SELECT id FROM discussions WHERE request_id = $1`, [d1]);
    await ok(EndDiscussionDocument, { discussionId: discussion.id, reason: "Done" }, w.token(w.martha));
    // A refused action writes no event and so sends nothing.
    expect(codeOf(await a.gql(AcceptAssignmentDocument, { requestId: r1 }, w.token(w.martha)))).toBe("REQUEST_NOT_PENDING");

    const events = await eventsOf(db.dataSource, w);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(["CREATED", "ACCEPTED", "REJECTED", "WITHDRAWN", "CANCELLED", "TIMED_OUT", "ASSIGNED", "DISCUSSION_ENDED"]));
    await until(() => r.accepted().length >= events.length, 10_000, "every event");
    await sleep(300);
    const got = r.accepted();
    expect(got.map((m) => m.json.data.sequence).sort()).toEqual(events.map((e) => e.sequence).sort()); // each once
    expect(new Set(got.map((m) => m.id)).size).toBe(events.length);
    const verifier = new Webhook(hook.secret);
    for (const m of got) {
      expect(verifier.verify(m.body, m.headers)).toEqual(m.json);
      expect(m.json.type).toBe(`handover.${m.json.data.type.toLowerCase()}`);
      expect(m.headers["content-type"]).toBe("application/json");
    }
    expect(got.map((m) => m.json.type)).toContain("handover.discussion_ended");
    const accepted = got.find((m) => m.json.data.type === "ACCEPTED" && m.json.data.request?.id === r1)!;
    expect(accepted.json.data).toMatchObject({
      organizationId: w.organizationId,
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      actor: { id: w.martha.id, name: "Martha" },
      fromUser: { id: w.mark.id },
      toUser: { id: w.martha.id },
      chat: { id: w.chat.id, customerName: "Ann Customer", customerPhone: "+14155550100", status: "OPEN" },
      request: { id: r1, kind: "ASSIGN", status: "ACCEPTED", sender: { id: w.mark.id }, recipient: { id: w.martha.id }, note: "Wants a refund", hop: 1 },
      trackingRecord: { status: "ACCEPTED", fromUserId: w.mark.id, toUserId: w.martha.id },
    });
    const created = got.find((m) => m.json.data.type === "CREATED" && m.json.data.request?.id === r1)!;
    expect(created.json.data.request).toMatchObject({ status: "PENDING", respondedAt: null }); // as of its event, though accepted since
    expect(got.find((m) => m.json.data.type === "REJECTED")!.json.data.request?.reason).toBe("Busy");
    const bulk = got.find((m) => m.json.data.type === "ASSIGNED")!;
    expect(bulk.json.data).toMatchObject({ request: null, toUser: { id: w.tom.id }, trackingRecord: { kind: "DIRECT_ASSIGN", status: "ASSIGNED" } });
    // The API shows each delivery DELIVERED, once.
    const list = await deliveries(w, { endpointId: hook.id, first: 100 });
    expect(list.edges).toHaveLength(events.length);
    for (const { node } of list.edges) expect(node).toMatchObject({ status: "DELIVERED", attempts: 1, lastResponseStatus: 204, lastError: null, nextAttemptAt: null });
  });

  it("sends only the types an endpoint asked for, and nothing for other organizations' events", async () => {
    const w = await createWorld(db.dataSource, "Filtered");
    const other = await createWorld(db.dataSource, "Other org");
    const r = await receiver();
    await endpoint(w, r.url, ["ACCEPTED"]);
    const id = await assign(w, w.chat.id, w.mark, w.martha);
    await assign(other, other.chat.id, other.mark, other.martha);
    await ok(AcceptAssignmentDocument, { requestId: id }, w.token(w.martha));
    await until(() => r.accepted().length >= 1);
    await sleep(500);
    expect(r.all.map((m) => m.json.type)).toEqual(["handover.accepted"]);
  });

  it("a receiver answering 500 for a while gets everything, each chat's events in sequence order, other chats not held back", async () => {
    const w = await createWorld(db.dataSource, "Flaky");
    const r = await receiver();
    const chats = [w.chat, await createChat(db.dataSource, w.organizationId, w.mark.id), await createChat(db.dataSource, w.organizationId, w.mark.id)];
    // The receiver fails everything about the first chat for 2 s (its CRM record locked, say).
    const failUntil = Date.now() + 2_000;
    r.behaviour = (m) => (m.json.data.chat.id === chats[0].id && Date.now() < failUntil ? 500 : 200);
    const hook = await endpoint(w, r.url);
    for (let round = 0; round < 2; round++) {
      for (const chat of chats) {
        const [from, to] = round % 2 === 0 ? [w.mark, w.martha] : [w.martha, w.tom]; // on to a third: never straight back (the loop rule)
        await ok(AcceptAssignmentDocument, { requestId: await assign(w, chat.id, from, to) }, w.token(to));
      }
    }
    const events = await eventsOf(db.dataSource, w);
    await until(() => new Set(r.accepted().map((m) => m.id)).size >= events.length, 15_000, "everything after the failures");
    expect(r.all.some((m) => m.answer === 500)).toBe(true);
    const accepted = r.accepted();
    expect(new Set(accepted.map((m) => m.id)).size).toBe(accepted.length); // none accepted twice
    for (const chat of chats) {
      // Per chat: accepted in sequence order, and nothing of the chat was sent while an earlier event of it was unaccepted.
      const mine = accepted.filter((m) => m.json.data.chat.id === chat.id);
      const seqs = mine.map((m) => BigInt(m.json.data.sequence));
      expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : 1)));
      expect(seqs).toHaveLength(4);
      for (const m of r.all.filter((x) => x.json.data.chat.id === chat.id)) {
        for (const earlier of mine.filter((x) => BigInt(x.json.data.sequence) < BigInt(m.json.data.sequence))) expect(earlier.at).toBeLessThanOrEqual(m.at);
      }
    }
    // The failing chat held back only itself: the other chats' events were all accepted while it was failing.
    for (const m of accepted.filter((x) => x.json.data.chat.id !== chats[0].id)) expect(m.at).toBeLessThan(failUntil);
    const list = await deliveries(w, { endpointId: hook.id, first: 50 });
    expect(list.edges.some((e) => e.node.attempts > 1)).toBe(true);
    expect(list.edges.every((e) => e.node.status === "DELIVERED")).toBe(true);
  });

  it("a receiver that hangs past the timeout is retried with the same webhook-id", async () => {
    const w = await createWorld(db.dataSource, "Hanging");
    const r = await receiver();
    let first = true;
    r.behaviour = () => {
      if (!first) return 200;
      first = false;
      return "hang";
    };
    const hook = await endpoint(w, r.url, ["CREATED"]);
    await assign(w, w.chat.id, w.mark, w.martha);
    await until(() => r.accepted().length === 1, 10_000, "the retry");
    expect(r.all).toHaveLength(2);
    expect(r.all[0].id).toBe(r.all[1].id); // the same webhook-id for every attempt
    expect(r.all[1].at - r.all[0].at).toBeGreaterThanOrEqual(1_000); // the 1 s timeout, then the retry
    // The 2xx is recorded just after the receiver has the message (with the worker's next claim): wait for it.
    await until(async () => (await deliveries(w, { endpointId: hook.id })).edges[0]?.node.status === "DELIVERED", 5_000, "the delivery recorded");
    const [delivery] = (await deliveries(w, { endpointId: hook.id })).edges;
    expect(delivery.node).toMatchObject({ status: "DELIVERED", attempts: 2, lastResponseStatus: 200 });
  });

  it("two instances never send one message twice", async () => {
    const w = await createWorld(db.dataSource, "Two instances");
    const r = await receiver();
    await endpoint(w, r.url);
    const chats = await Promise.all(Array.from({ length: 8 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
    // Half the handovers committed through each instance, so both are kicked and both sweep.
    await Promise.all(
      chats.map(async (chat, i) => {
        const server = i % 2 === 0 ? a : b;
        await ok(AcceptAssignmentDocument, { requestId: await assign(w, chat.id, w.mark, w.martha, server) }, w.token(w.martha), server);
      }),
    );
    const events = await eventsOf(db.dataSource, w);
    await until(() => r.all.length >= events.length, 10_000);
    await sleep(1_500); // a sweep more on each
    expect(r.all).toHaveLength(events.length);
    expect(new Set(r.all.map((m) => m.id)).size).toBe(events.length);
  });

  it("after a rotation, a receiver holding either secret verifies the message", async () => {
    const w = await createWorld(db.dataSource, "Rotation");
    const r = await receiver();
    const hook = await endpoint(w, r.url, ["CREATED"]);
    const rotated = (await ok(RotateWebhookSecretDocument, { id: hook.id }, w.token(w.admin))).rotateWebhookSecret.secret;
    await assign(w, w.chat.id, w.mark, w.martha);
    await until(() => r.accepted().length === 1);
    const [m] = r.accepted();
    expect(m.signature.split(" ")).toHaveLength(2);
    expect(new Webhook(hook.secret).verify(m.body, m.headers)).toEqual(m.json);
    expect(new Webhook(rotated).verify(m.body, m.headers)).toEqual(m.json);
  });

  it("an endpoint failing past WEBHOOK_DISABLE_AFTER_HOURS is disabled with a reason, its admins are told, and it resumes when enabled", async () => {
    // Its own database, so that this instance is the only one sending (the others never disable).
    const own = await createTestDatabase();
    const strict = await startTestServer(own.dataSource, { webhooks: { ...FAST, disableAfterHours: 1 / 3600 } }); // one second
    try {
      const w = await createWorld(own.dataSource, "Always failing");
      const r = await receiver();
      r.behaviour = () => 503;
      const hook = await endpoint(w, r.url, ["CREATED"], strict);
      await assign(w, w.chat.id, w.mark, w.martha, strict);
      const endpointRow = async () => {
        const [row]: Array<{ enabled: boolean; disabled_reason: string | null }> = await own.dataSource.query(
          `SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1`,
          [hook.id],
        );
        return row;
      };
      await until(async () => !(await endpointRow()).enabled, 10_000, "disabled");
      expect((await endpointRow()).disabled_reason).toMatch(/failed for .* hours \(last: HTTP 503: receiver said 503\)/);
      const told: Array<{ user_id: string; message: string }> = await own.dataSource.query(
        `SELECT user_id, message FROM notifications WHERE organization_id = $1 AND type = 'WEBHOOK_ENDPOINT_DISABLED'`,
        [w.organizationId],
      );
      expect(told.map((n) => n.user_id)).toEqual([w.admin.id]);
      expect(told[0].message).toContain(r.url);
      // Disabled: its pending delivery waits.
      const sent = r.all.length;
      await sleep(800);
      expect(r.all.length).toBe(sent);
      const [pending] = (await deliveries(w, { endpointId: hook.id, status: "PENDING" }, strict)).edges;
      expect(pending.node.lastError).toContain("HTTP 503");
      // Fixed and enabled again (the reason cleared): it is sent.
      r.behaviour = () => 200;
      const enabled = await ok(UpdateWebhookEndpointDocument, { id: hook.id, input: { enabled: true } }, w.token(w.admin), strict);
      expect(enabled.updateWebhookEndpoint).toMatchObject({ enabled: true, disabledReason: null });
      await until(() => r.accepted().length === 1, 10_000, "sent after enabling");
    } finally {
      await strict.stop();
      await own.drop();
    }
  });

  it("redeliverWebhooks queues again what it had and what it missed while disabled; bad input and other organizations are refused", async () => {
    const w = await createWorld(db.dataSource, "Redeliver");
    const other = await createWorld(db.dataSource, "Redeliver other");
    const r = await receiver();
    const hook = await endpoint(w, r.url);
    const id = await assign(w, w.chat.id, w.mark, w.martha);
    await until(() => r.accepted().length === 1);
    await ok(UpdateWebhookEndpointDocument, { id: hook.id, input: { enabled: false } }, w.token(w.admin));
    await ok(AcceptAssignmentDocument, { requestId: id }, w.token(w.martha)); // while disabled: not queued
    await sleep(300);
    expect(r.all).toHaveLength(1);
    await ok(UpdateWebhookEndpointDocument, { id: hook.id, input: { enabled: true } }, w.token(w.admin));
    const events = await eventsOf(db.dataSource, w);
    expect((await ok(RedeliverWebhooksDocument, { endpointId: hook.id, afterSequence: "0" }, w.token(w.admin))).redeliverWebhooks).toBe(2); // the one it had, the one it missed
    await until(() => r.accepted().length === 3);
    const [first, again, missed] = r.accepted();
    expect(again.id).toBe(first.id); // the same webhook-id again: a receiver can tell
    expect(missed.json.data.sequence).toBe(events[1].sequence);
    expect((await ok(RedeliverWebhooksDocument, { endpointId: hook.id, afterSequence: events[1].sequence }, w.token(w.admin))).redeliverWebhooks).toBe(0);
    // Refusals, each with its code (and field), queueing nothing.
    const bad = await a.gql(RedeliverWebhooksDocument, { endpointId: hook.id, afterSequence: "last week" }, w.token(w.admin));
    expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    expect(bad.errors?.[0]?.extensions?.field).toBe("afterSequence");
    expect(codeOf(await a.gql(RedeliverWebhooksDocument, { endpointId: hook.id, afterSequence: "0" }, other.token(other.admin)))).toBe("NOT_FOUND");
    expect(codeOf(await a.gql(WebhookDeliveriesDocument, { endpointId: hook.id }, other.token(other.admin)))).toBe("NOT_FOUND");
    expect(codeOf(await a.gql(RedeliverWebhooksDocument, { endpointId: hook.id, afterSequence: "0" }, w.token(w.maria)))).toBe("FORBIDDEN");
    expect(codeOf(await a.gql(WebhookDeliveriesDocument, { endpointId: hook.id }, w.token(w.mark)))).toBe("FORBIDDEN");
    expect(codeOf(await a.gql(WebhookDeliveriesDocument, { endpointId: "not-an-id" }, w.token(w.admin)))).toBe("BAD_USER_INPUT");
    await sleep(300);
    expect(r.all).toHaveLength(3);
  });

  it("deliveries page newest first; a deleted endpoint takes its deliveries with it", async () => {
    const w = await createWorld(db.dataSource, "Paging");
    const r = await receiver();
    const hook = await endpoint(w, r.url);
    await ok(RejectAssignmentDocument, { requestId: await assign(w, w.chat.id, w.mark, w.martha), reason: "No" }, w.token(w.martha));
    await until(() => r.accepted().length === 2);
    const page1 = await deliveries(w, { endpointId: hook.id, first: 1 });
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = await deliveries(w, { endpointId: hook.id, first: 1, after: page1.edges[0].cursor });
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(new Set([page1.edges[0].node.eventType, page2.edges[0].node.eventType])).toEqual(new Set(["CREATED", "REJECTED"]));
    const lost = await a.raw({ query: "query($id: ID!) { webhookDeliveries(endpointId: $id, status: LOST) { edges { cursor } } }", variables: { id: hook.id } }, w.token(w.admin));
    expect(lost.errors?.[0]?.message).toMatch(/LOST/);
    await ok(DeleteWebhookEndpointDocument, { id: hook.id }, w.token(w.admin));
    expect(await db.dataSource.query(`SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1`, [hook.id])).toHaveLength(0);
  });
});
