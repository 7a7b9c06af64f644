import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AssignDiscussSettingsDocument,
  AssignmentRequestDocument,
  NotificationsDocument,
  UpdateAssignDiscussSettingsDocument,
} from "../../schema/generated/graphql";
import { audience } from "../../src/events/pubsub";
import { TIMEOUT_JOB } from "../../src/jobs/timeout-scheduler";
import { type AssignmentEvent, AssignmentEventType } from "../../src/modules/assignments/assignment-event.entity";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";
import { sleep } from "../support/wait";

let db: TestDatabase;
let server: TestServer;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  // The sweeper is slowed down here so these tests see the Agenda job itself act.
  server = await startTestServer(db.dataSource, { schedulerUrl: db.url, sweepEveryMs: 600_000 });
  w = await createWorld(db.dataSource);
  const set = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { assignRequestTimeoutSeconds: 5 } }, w.token(w.admin));
  expect(set.data!.updateAssignDiscussSettings.assignRequestTimeoutSeconds).toBe(5);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const jobsFor = async (requestId: string): Promise<number> =>
  (await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM agenda_jobs WHERE name = $1 AND data->>'requestId' = $2`, [TIMEOUT_JOB, requestId]))[0].n;


describe("scheduled timeouts", () => {
  it("a 5 s request times out between 5 and 6.5 s with no client action; both told, record and event", async () => {
    const events: AssignmentEvent[] = [];
    const sub = server.app.pubsub.subscribe("ASSIGNMENT_EVENT", audience.organization(w.organizationId));
    const collecting = (async () => {
      for await (const { event: e } of sub) {
        events.push(e);
        if (e.type === AssignmentEventType.TIMED_OUT) break;
      }
    })();

    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const request = sent.data!.assignChat;
    expect(request.timeoutSeconds).toBe(5);
    expect(await jobsFor(request.id)).toBe(1);

    await Promise.race([collecting, sleep(8_000)]);
    const timedOut = events.find((e) => e.type === AssignmentEventType.TIMED_OUT && e.requestId === request.id);
    expect(timedOut).toBeDefined();
    const row = (await db.dataSource.query<Array<{ status: string; late_ms: number }>>(
      `SELECT status, extract(epoch FROM responded_at - created_at) * 1000 AS late_ms FROM assignment_requests WHERE id = $1`,
      [request.id],
    ))[0];
    expect(row.status).toBe("TIMED_OUT");
    expect(Number(row.late_ms)).toBeGreaterThanOrEqual(5_000);
    expect(Number(row.late_ms)).toBeLessThan(6_500);

    const after = await server.gql(AssignmentRequestDocument, { id: request.id }, w.token(w.mark));
    expect(after.data!.assignmentRequest!.trackingRecord.status).toBe("TIMED_OUT");
    expect(after.data!.assignmentRequest!.respondedBy).toBeNull();
    const marks = await server.gql(NotificationsDocument, { first: 1 }, w.token(w.mark));
    expect(marks.data!.notifications.edges[0].node.message).toBe("Your chat assignment request to Martha timed out.");
    const marthas = await server.gql(NotificationsDocument, { first: 1 }, w.token(w.martha));
    expect(marthas.data!.notifications.edges[0].node.message).toBe("The chat assignment request from Mark timed out.");
    expect(await jobsFor(request.id)).toBe(0);
  }, 15_000);

  it("an accept before the deadline leaves no job behind, and TIMED_OUT never appears", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const id = sent.data!.assignChat.id;
    const accepted = await server.gql(AcceptAssignmentDocument, { requestId: id }, w.token(w.martha));
    expect(accepted.data!.acceptAssignment.status).toBe("ACCEPTED");
    expect(await jobsFor(id)).toBe(0);
    await sleep(5_800);
    const types = await db.dataSource.query<Array<{ type: string }>>(`SELECT type FROM assignment_events WHERE request_id = $1 ORDER BY sequence`, [id]);
    expect(types.map((t) => t.type)).toEqual(["CREATED", "ACCEPTED"]);
  }, 15_000);

  it("accept against the deadline, raced 50 times at the boundary: never both", async () => {
    const chats = await Promise.all(Array.from({ length: 50 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
    const sent = await Promise.all(chats.map((c) => server.gql(AssignChatDocument, { input: assignInput(c.id, w.martha.id) }, w.token(w.mark))));
    const requests = sent.map((s) => s.data!.assignChat);
    // Fire each accept near its own deadline: 30 within 30 ms of it, 10 well before, 10 well after
    // (so both outcomes happen even on a loaded machine).
    const offset = (i: number) => (i < 10 ? -500 + i * 40 : i < 40 ? (i - 25) * 2 : 100 + (i - 40) * 40);
    const outcomes = await Promise.all(
      requests.map(async (r, i) => {
        const at = new Date(r.expiresAt).getTime() + offset(i);
        await sleep(Math.max(0, at - Date.now()));
        const res = await server.gql(AcceptAssignmentDocument, { requestId: r.id }, w.token(w.martha));
        return { id: r.id, code: codeOf(res), status: res.data?.acceptAssignment.status };
      }),
    );
    await sleep(1_500);
    for (const o of outcomes) {
      const types = (await db.dataSource.query<Array<{ type: string }>>(`SELECT type FROM assignment_events WHERE request_id = $1 ORDER BY sequence`, [o.id])).map((t) => t.type);
      if (o.status === "ACCEPTED") {
        expect(types).toEqual(["CREATED", "ACCEPTED"]);
      } else {
        expect(["REQUEST_EXPIRED", "REQUEST_NOT_PENDING"]).toContain(o.code);
        expect(types).toEqual(["CREATED", "TIMED_OUT"]);
      }
    }
    // Whichever way each ended, no timeout job is left behind.
    expect(await countRows(db.dataSource, `agenda_jobs WHERE name = $1 AND data->>'requestId' = ANY($2)`, [TIMEOUT_JOB, outcomes.map((o) => o.id)])).toBe(0);
    // Both outcomes really happened: the boundary was exercised.
    expect(outcomes.some((o) => o.status === "ACCEPTED")).toBe(true);
    expect(outcomes.some((o) => o.status !== "ACCEPTED")).toBe(true);
  }, 20_000);

  it("settings: bounds, admins only, and pending requests keep their deadline", async () => {
    for (const bad of [4, 86_401]) {
      const res = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { assignRequestTimeoutSeconds: bad } }, w.token(w.admin));
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
    }
    const byManager = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { assignRequestTimeoutSeconds: 60 } }, w.token(w.maria));
    expect(codeOf(byManager)).toBe("FORBIDDEN");
    const read = await server.gql(AssignDiscussSettingsDocument, {}, w.token(w.mark));
    expect(read.data!.assignDiscussSettings.assignRequestTimeoutSeconds).toBe(5);
  });
});
