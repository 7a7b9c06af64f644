import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcceptAssignmentDocument, AssignChatDocument, AssignmentChainDocument, type AssignmentChainQuery, NotificationsDocument } from "../../schema/generated/graphql";
import { TIMEOUT_JOB } from "../../src/jobs/timeout-scheduler";
import type { User } from "../../src/modules/users/user.entity";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { call } from "../support/http-client";
import { spawnServer, stopServer } from "../support/process";
import { codeOf, startTestServer, type TestServer } from "../support/server";
import { testServices } from "../support/services";
import { sleep, until } from "../support/wait";

// Issue #14: fallback chains through the public API, with the real deadline scheduler (Agenda on
// Postgres), across two instances and a SIGKILL.

let db: TestDatabase;
let server: TestServer;
let w: World;
let other: World;
let lisa: User;
let kim: User;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource, "Acme");
  other = await createWorld(db.dataSource, "Globex");
  lisa = await createUser(db.dataSource, w.organizationId, { name: "Lisa" });
  kim = await createUser(db.dataSource, w.organizationId, { name: "Kim" });
  await testServices(db.dataSource).settings.update(w.admin, { assignRequestTimeoutSeconds: 5, fallbackToManagers: true });
  // Maria is the one manager who can be the last resort (the admin is away).
  await db.dataSource.query(`UPDATE users SET availability = 'AWAY' WHERE id = $1`, [w.admin.id]);
  // The sweeper is slowed down: the hops' own Agenda jobs must fire them.
  server = await startTestServer(db.dataSource, { schedulerUrl: db.url, sweepEveryMs: 600_000 });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const count = (sql: string, params: unknown[]) => countRows(db.dataSource, sql, params);

/** The request, once the chain has made its next hop. */
async function nextOf(id: string): Promise<NonNullable<AssignmentChainQuery["assignmentRequest"]>> {
  let found: AssignmentChainQuery["assignmentRequest"] = null;
  await until(async () => {
    found = (await server.gql(AssignmentChainDocument, { id }, w.token(w.mark))).data?.assignmentRequest ?? null;
    return Boolean(found?.nextRequest);
  }, 8_000, 100);
  return found!;
}

describe("a fallback chain through the API", () => {
  it("a 3-hop chain on a 5 s timeout times out hop by hop and ends with the manager, who accepts", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await server.gql(AssignChatDocument, { input: { ...assignInput(chat.id, w.martha.id), fallbackRecipientIds: [lisa.id, kim.id] } }, w.token(w.mark));
    const first = sent.data!.assignChat;

    const one = await nextOf(first.id);
    expect(one).toMatchObject({ status: "TIMED_OUT", hop: 1, recipient: { name: "Martha" }, fallbackRecipients: [{ name: "Lisa" }, { name: "Kim" }], previousRequest: null });
    const hop2 = one.nextRequest!;
    expect(hop2).toMatchObject({ status: "PENDING", hop: 2, recipient: { name: "Lisa" }, fallbackRecipients: [{ name: "Kim" }], previousRequest: { id: first.id } });
    expect(hop2.trackingRecord).toEqual({ hop: 2, previousRequestId: first.id });
    // Each hop has its own deadline job, written with it.
    expect(await count(`agenda_jobs WHERE name = $1 AND data->>'requestId' = $2`, [TIMEOUT_JOB, hop2.id])).toBe(1);

    const two = await nextOf(hop2.id);
    const hop3 = two.nextRequest!;
    expect(hop3).toMatchObject({ hop: 3, recipient: { name: "Kim" }, fallbackRecipients: [], lastResort: false });
    const three = await nextOf(hop3.id);
    const hop4 = three.nextRequest!;
    expect(hop4).toMatchObject({ hop: 4, recipient: { name: "Maria" }, lastResort: true, recipientType: "MANAGER" });

    // Each hop came within a second and a half of the deadline before it.
    const lateness = await db.dataSource.query<Array<{ late_ms: string }>>(
      `SELECT extract(epoch FROM n.created_at - p.expires_at) * 1000 AS late_ms
         FROM assignment_requests n JOIN assignment_requests p ON p.id = n.previous_request_id WHERE n.chat_session_id = $1`,
      [chat.id],
    );
    expect(lateness).toHaveLength(3);
    for (const l of lateness) expect(Number(l.late_ms)).toBeLessThan(1_500);

    const accepted = await server.gql(AcceptAssignmentDocument, { requestId: hop4.id }, w.token(w.maria));
    expect(accepted.data!.acceptAssignment.status).toBe("ACCEPTED");
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chat.id, w.maria.id])).toBe(1);

    // Every hop: one request, one record; the sender told once per hop; events in order.
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chat.id])).toBe(4);
    const records = await db.dataSource.query<Array<{ hop: number; previous_request_id: string | null; status: string }>>(
      `SELECT hop, previous_request_id, status FROM bi.engagement_tracking_records WHERE chat_session_id = $1 ORDER BY hop`,
      [chat.id],
    );
    expect(records).toEqual([
      { hop: 1, previous_request_id: null, status: "TIMED_OUT" },
      { hop: 2, previous_request_id: first.id, status: "TIMED_OUT" },
      { hop: 3, previous_request_id: hop2.id, status: "TIMED_OUT" },
      { hop: 4, previous_request_id: hop3.id, status: "ACCEPTED" },
    ]);
    const marks = await server.gql(NotificationsDocument, { first: 10 }, w.token(w.mark));
    const about = new Set([first.id, hop2.id, hop3.id, hop4.id]);
    const messages = marks.data!.notifications.edges.filter((e) => about.has(e.node.request!.id)).map((e) => e.node.message).reverse();
    expect(messages).toEqual([
      "Martha did not respond in time; the request went to Lisa.",
      "Lisa did not respond in time; the request went to Kim.",
      "Kim did not respond in time; the request went to Maria.",
      "Maria accepted your chat assignment request.",
    ]);
    const events = await db.dataSource.query<Array<{ type: string; hop: number }>>(
      `SELECT e.type, r.hop FROM assignment_events e JOIN assignment_requests r ON r.id = e.request_id WHERE e.chat_session_id = $1 ORDER BY e.sequence`,
      [chat.id],
    );
    expect(events.map((e) => `${e.type}@${e.hop}`)).toEqual([
      "CREATED@1", "TIMED_OUT@1", "CREATED@2", "TIMED_OUT@2", "CREATED@3", "TIMED_OUT@3", "CREATED@4", "ACCEPTED@4",
    ]);
    expect(await count(`agenda_jobs WHERE data->>'requestId' = ANY($1)`, [[...about]])).toBe(0);

    // Who sees the links: Lisa sees her own hop but not Martha's request before it; Globex sees nothing.
    const lisas = await server.gql(AssignmentChainDocument, { id: hop2.id }, w.token(lisa));
    expect(lisas.data!.assignmentRequest).toMatchObject({ id: hop2.id, previousRequest: null });
    expect(codeOf(await server.gql(AssignmentChainDocument, { id: hop2.id }, other.token(other.maria)))).toBe("NOT_FOUND");
  }, 40_000);

  it("bad fallbacks over GraphQL: BAD_USER_INPUT or INVALID_RECIPIENT with the field and the id, nothing created", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const send = (ids: string[]) => server.gql(AssignChatDocument, { input: { ...assignInput(chat.id, w.martha.id), fallbackRecipientIds: ids } }, w.token(w.mark));
    const malformed = await send([lisa.id, "nope"]);
    expect(codeOf(malformed)).toBe("BAD_USER_INPUT");
    expect(malformed.errors![0].extensions).toMatchObject({ field: "fallbackRecipientIds", id: "nope" });
    const foreign = await send([other.tom.id]);
    expect(codeOf(foreign)).toBe("INVALID_RECIPIENT");
    expect(foreign.errors![0].extensions).toMatchObject({ field: "fallbackRecipientIds", id: other.tom.id });
    expect(codeOf(await send([lisa.id, kim.id, w.tom.id, lisa.id]))).toBe("BAD_USER_INPUT");
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chat.id])).toBe(0);
  });
});

describe("a chain across crashes and instances", () => {
  async function assign(url: string, chatId: string, fallbacks: string[]): Promise<string> {
    const answer = await call(url, AssignChatDocument, { input: { ...assignInput(chatId, w.martha.id), fallbackRecipientIds: fallbacks } }, w.token(w.mark));
    if (!answer.data) throw new Error(JSON.stringify(answer.errors ?? answer.failure));
    return answer.data.assignChat.id;
  }

  const hopsOf = (ids: string[]) =>
    db.dataSource.query<Array<{ status: string; hops: number; forwarded: number; timed_out: number }>>(
      `SELECT r.status,
              (SELECT count(*)::int FROM assignment_requests n WHERE n.previous_request_id = r.id) AS hops,
              (SELECT count(*)::int FROM notifications m WHERE m.request_id = r.id AND m.type = 'ASSIGNMENT_FORWARDED') AS forwarded,
              (SELECT count(*)::int FROM assignment_events e WHERE e.request_id = r.id AND e.type = 'TIMED_OUT') AS timed_out
         FROM assignment_requests r WHERE r.id = ANY($1)`,
      [ids],
    );

  it("SIGKILL around the deadlines: after a restart every request timed out once and made exactly one hop", async () => {
    const first = await spawnServer(db.url);
    let second: Awaited<ReturnType<typeof spawnServer>> | undefined;
    try {
      const chats = await Promise.all(Array.from({ length: 12 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
      const ids: string[] = [];
      // Sent over 600 ms, so the kill lands while some deadlines have passed (and hopped) and others have not.
      for (const c of chats) {
        ids.push(await assign(first.url, c.id, [lisa.id, kim.id]));
        await sleep(50);
      }
      await sleep(5_000 - 300);
      first.child.kill("SIGKILL");
      expect(await first.exited).toBe("SIGKILL");
      second = await spawnServer(db.url);
      await until(async () => (await hopsOf(ids)).every((r) => r.hops === 1), 10_000, 100);
      const rows = await hopsOf(ids);
      expect(rows).toHaveLength(12);
      for (const r of rows) expect(r).toEqual({ status: "TIMED_OUT", hops: 1, forwarded: 1, timed_out: 1 });
      // Each hop pending (or already further along), with its job: nothing lost, nothing twice.
      expect(await count(`assignment_requests WHERE previous_request_id = ANY($1) AND hop = 2 AND recipient_id = $2`, [ids, lisa.id])).toBe(12);
    } finally {
      first.child.kill("SIGKILL");
      await stopServer(second);
    }
  }, 60_000);

  it("two instances with their schedulers: each hop made once", async () => {
    const a = await startTestServer(db.dataSource, { schedulerUrl: db.url, name: "a", sweepEveryMs: 600_000 });
    const b = await startTestServer(db.dataSource, { schedulerUrl: db.url, name: "b", sweepEveryMs: 600_000 });
    try {
      const chats = await Promise.all(Array.from({ length: 40 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
      const ids = await Promise.all(chats.map((c, i) => assign(i % 2 ? a.url : b.url, c.id, [lisa.id])));
      await until(async () => (await hopsOf(ids)).every((r) => r.hops === 1), 9_000, 100);
      await sleep(500);
      for (const r of await hopsOf(ids)) expect(r).toEqual({ status: "TIMED_OUT", hops: 1, forwarded: 1, timed_out: 1 });
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 30_000);
});
