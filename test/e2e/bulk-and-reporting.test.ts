import { randomUUID } from "node:crypto";
import { parse } from "csv-parse/sync";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AssignmentRequestDocument,
  BulkAssignChatsDocument,
  EngagementTrackingRecordsDocument,
  type EngagementTrackingRecordsQuery,
  NotificationsDocument,
  RejectAssignmentDocument,
  UpdateAssignDiscussSettingsDocument,
} from "../../schema/generated/graphql";
import { ChatStatus } from "../../src/modules/chat-sessions/chat-session.entity";
import { EVENT_EXPORT_COLUMNS, EXPORT_COLUMNS } from "../../src/repositories/tracking.repository";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOf, type GqlResult, startTestServer, type TestServer } from "../support/server";

let db: TestDatabase;
let server: TestServer;
let w: World;
let other: World;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
  other = await createWorld(db.dataSource, "Globex");
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const count = (sql: string, params: unknown[]): Promise<number> => countRows(db.dataSource, sql, params);

const chatsOf = (owner: { id: string }, n: number, overrides = {}) =>
  Promise.all(Array.from({ length: n }, () => createChat(db.dataSource, w.organizationId, owner.id, overrides)));

describe("bulk assignment", () => {
  it("50 chats: 50 records, one notification to the target, an event for each", async () => {
    const leaver = await createUser(db.dataSource, w.organizationId, { name: "Leaving Lee" });
    const chats = await chatsOf(leaver, 50);
    const res = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: chats.map((c) => c.id), toUserId: w.martha.id } }, w.token(w.maria));
    expect(res.errors).toBeUndefined();
    const r = res.data!.bulkAssignChats;
    expect(r.assignedCount).toBe(50);
    expect(r.skippedCount).toBe(0);
    expect(r.results.map((i) => i.chatSessionId)).toEqual(chats.map((c) => c.id));
    expect(r.results.every((i) => i.outcome === "ASSIGNED" && i.trackingRecord!.kind === "DIRECT_ASSIGN" && i.trackingRecord!.status === "ASSIGNED")).toBe(true);
    expect(r.results.every((i) => i.trackingRecord!.fromUser.id === leaver.id && i.trackingRecord!.toUser.id === w.martha.id)).toBe(true);

    expect(await count(`engagement_tracking_records WHERE bulk_operation_id = $1`, [r.operationId])).toBe(50);
    expect(await count(`chat_sessions WHERE id = ANY($1) AND owner_id = $2`, [chats.map((c) => c.id), w.martha.id])).toBe(50);
    expect(await count(`assignment_events WHERE type = 'ASSIGNED' AND chat_session_id = ANY($1) AND actor_id = $2`, [chats.map((c) => c.id), w.maria.id])).toBe(50);
    const notes = await server.gql(NotificationsDocument, { first: 5 }, w.token(w.martha));
    const bulkNotes = notes.data!.notifications.edges.filter((e) => e.node.type === "CHATS_ASSIGNED");
    expect(bulkNotes.map((e) => e.node.message)).toEqual(["Maria assigned you 50 chats."]);
    const leavers = await server.gql(NotificationsDocument, {}, w.token(leaver));
    expect(leavers.data!.notifications.edges.map((e) => e.node.message)).toEqual(["Maria moved 50 chats of yours to Martha."]);

    const records = await server.gql(EngagementTrackingRecordsDocument, { filter: { bulkOperationId: r.operationId }, first: 100 }, w.token(w.maria));
    expect(records.data!.engagementTrackingRecords.edges).toHaveLength(50);
  });

  it("a mixed batch: each item's outcome is right and the good ones move", async () => {
    const [own1, own2] = await chatsOf(w.mark, 2);
    const [closed] = await chatsOf(w.mark, 1, { status: ChatStatus.CLOSED });
    const [already] = await chatsOf(w.tom, 1);
    const unknown = randomUUID();
    const ids = [own1.id, other.chat.id, closed.id, unknown, own1.id, already.id, "not-an-id", own2.id];
    const res = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: ids, toUserId: w.tom.id } }, w.token(w.maria));
    const outcome = new Map(res.data!.bulkAssignChats.results.map((i) => [i.chatSessionId, i.outcome]));
    expect(res.data!.bulkAssignChats.results).toHaveLength(7); // the duplicate counts once
    expect(Object.fromEntries(outcome)).toEqual({
      [own1.id]: "ASSIGNED",
      [other.chat.id]: "NOT_FOUND",
      [closed.id]: "CHAT_CLOSED",
      [unknown]: "NOT_FOUND",
      [already.id]: "ALREADY_OWNER",
      "not-an-id": "NOT_FOUND",
      [own2.id]: "ASSIGNED",
    });
    expect(res.data!.bulkAssignChats.assignedCount).toBe(2);
    expect(res.data!.bulkAssignChats.skippedCount).toBe(5);
    expect(await count(`chat_sessions WHERE id = ANY($1) AND owner_id = $2`, [[own1.id, own2.id], w.tom.id])).toBe(2);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [other.chat.id, other.mark.id])).toBe(1);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [closed.id, w.mark.id])).toBe(1);
  });

  it("a user moves only chats they own; the rest are FORBIDDEN items", async () => {
    const [mine] = await chatsOf(w.mark, 1);
    const [toms] = await chatsOf(w.tom, 1);
    const res = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [mine.id, toms.id], toUserId: w.martha.id } }, w.token(w.mark));
    expect(res.data!.bulkAssignChats.results.map((i) => i.outcome)).toEqual(["ASSIGNED", "FORBIDDEN"]);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [toms.id, w.tom.id])).toBe(1);
  });

  it("a pending request on a moved chat is cancelled and its parties told", async () => {
    const [chat] = await chatsOf(w.mark, 1);
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const res = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId: w.tom.id } }, w.token(w.maria));
    expect(res.data!.bulkAssignChats.assignedCount).toBe(1);
    const req = await server.gql(AssignmentRequestDocument, { id: sent.data!.assignChat.id }, w.token(w.mark));
    expect(req.data!.assignmentRequest!.status).toBe("CANCELLED");
    expect(req.data!.assignmentRequest!.trackingRecord.status).toBe("CANCELLED");
    expect(await count(`notifications WHERE request_id = $1 AND type = 'ASSIGNMENT_CANCELLED'`, [sent.data!.assignChat.id])).toBe(2);
  });

  it("the same idempotencyKey returns the first result and changes nothing; another request under it is refused", async () => {
    const chats = await chatsOf(w.mark, 3);
    const input = { chatSessionIds: chats.map((c) => c.id), toUserId: w.martha.id, idempotencyKey: "shift-change-42" };
    const first = await server.gql(BulkAssignChatsDocument, { input }, w.token(w.maria));
    expect(first.data!.bulkAssignChats.replayed).toBe(false);
    const records = await count(`engagement_tracking_records WHERE chat_session_id = ANY($1)`, [input.chatSessionIds]);
    const notes = await count(`notifications WHERE user_id = $1`, [w.martha.id]);
    // Meanwhile the chats move on; a replay must not move them back.
    await db.dataSource.query(`UPDATE chat_sessions SET owner_id = $2 WHERE id = $1`, [chats[0].id, w.tom.id]);

    const again = await server.gql(BulkAssignChatsDocument, { input }, w.token(w.maria));
    expect(again.data!.bulkAssignChats.replayed).toBe(true);
    expect(again.data!.bulkAssignChats.operationId).toBe(first.data!.bulkAssignChats.operationId);
    expect(again.data!.bulkAssignChats.results).toEqual(first.data!.bulkAssignChats.results);
    expect(await count(`engagement_tracking_records WHERE chat_session_id = ANY($1)`, [input.chatSessionIds])).toBe(records);
    expect(await count(`notifications WHERE user_id = $1`, [w.martha.id])).toBe(notes);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chats[0].id, w.tom.id])).toBe(1);

    const different = await server.gql(BulkAssignChatsDocument, { input: { ...input, toUserId: w.tom.id } }, w.token(w.maria));
    expect(codeOf(different)).toBe("BAD_USER_INPUT");
  });

  it("bad input: 10,001 ids or none are BAD_USER_INPUT; an inactive or foreign target is INVALID_RECIPIENT; nothing moves", async () => {
    const [chat] = await chatsOf(w.mark, 1);
    const tooMany = Array.from({ length: 10_001 }, () => randomUUID());
    const results = await Promise.all([
      server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: tooMany, toUserId: w.martha.id } }, w.token(w.maria)),
      server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [], toUserId: w.martha.id } }, w.token(w.maria)),
      server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId: "x" } }, w.token(w.maria)),
    ]);
    expect(results.map(codeOf)).toEqual(["BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT"]);
    const gone = await createUser(db.dataSource, w.organizationId, { name: "Gone", active: false });
    for (const toUserId of [gone.id, other.martha.id, randomUUID()]) {
      const res = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId } }, w.token(w.maria));
      expect(codeOf(res)).toBe("INVALID_RECIPIENT");
    }
    const unauth = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId: w.martha.id } });
    expect(codeOf(unauth)).toBe("UNAUTHENTICATED");
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chat.id, w.mark.id])).toBe(1);
    expect(await count(`engagement_tracking_records WHERE chat_session_id = $1`, [chat.id])).toBe(0);
  });
});

describe("tracking records for reporting", () => {
  it("filters by user, kind, status and time; cursors stay stable while new records arrive", async () => {
    const before = new Date();
    const chats = await chatsOf(w.mark, 5);
    await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: chats.map((c) => c.id), toUserId: w.martha.id } }, w.token(w.maria));
    const t = w.token(w.maria);
    const page1 = await server.gql(EngagementTrackingRecordsDocument, { filter: { kind: "DIRECT_ASSIGN", from: before.toISOString() }, first: 2 }, t);
    const edges1 = page1.data!.engagementTrackingRecords.edges;
    expect(edges1).toHaveLength(2);
    // New records arrive between pages.
    const more = await chatsOf(w.mark, 2);
    await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: more.map((c) => c.id), toUserId: w.martha.id } }, t);
    const rest = await server.gql(
      EngagementTrackingRecordsDocument,
      { filter: { kind: "DIRECT_ASSIGN", from: before.toISOString() }, first: 100, after: page1.data!.engagementTrackingRecords.pageInfo.endCursor },
      t,
    );
    const seen = [...edges1, ...rest.data!.engagementTrackingRecords.edges].map((e) => e.node.chatSession.id);
    expect(seen.sort()).toEqual(chats.map((c) => c.id).sort());

    const byUser = await server.gql(EngagementTrackingRecordsDocument, { filter: { userId: w.martha.id, status: "ASSIGNED", from: before.toISOString() }, first: 100 }, t);
    expect(byUser.data!.engagementTrackingRecords.edges).toHaveLength(7);
    const future = await server.gql(EngagementTrackingRecordsDocument, { filter: { from: new Date(Date.now() + 60_000).toISOString() } }, t);
    expect(future.data!.engagementTrackingRecords.edges).toHaveLength(0);
    const backwards = await server.gql(EngagementTrackingRecordsDocument, { filter: { from: new Date().toISOString(), to: before.toISOString() } }, t);
    expect(codeOf(backwards)).toBe("BAD_USER_INPUT");
  });

  it("baton_bi reads the bi views and nothing else, and writes nothing", async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query("SET ROLE baton_bi");
      const rows = await client.query(`SELECT record_id, from_user_name, to_user_email FROM bi.engagement_tracking_records LIMIT 5`);
      expect(rows.rows.length).toBeGreaterThan(0);
      expect(rows.rows[0].from_user_name).toEqual(expect.any(String));
      const events = await client.query(`SELECT sequence, type, actor_name FROM bi.assignment_events LIMIT 5`);
      expect(events.rows.length).toBeGreaterThan(0);
      for (const sql of [
        "SELECT * FROM engagement_tracking_records LIMIT 1",
        "SELECT * FROM public.users LIMIT 1",
        "SELECT * FROM agenda_jobs LIMIT 1",
        "DELETE FROM bi.engagement_tracking_records",
        "UPDATE bi.assignment_events SET type = 'CREATED'",
        "INSERT INTO bi.assignment_events (sequence) VALUES (1)",
        "CREATE TABLE bi.mine (x int)",
      ]) {
        // Joined views are not updatable either: every write fails one way or the other.
        await expect(client.query(sql), sql).rejects.toThrow(/permission denied|cannot (delete from|update|insert into) view/);
      }
    } finally {
      await client.end();
    }
  });

  it("the CSV export parses back to the rows the GraphQL query returns, tricky names included", async () => {
    const tricky = await createUser(db.dataSource, w.organizationId, { name: 'O\'Brien, "Bob"\nSenior' });
    const chat = await createChat(db.dataSource, w.organizationId, tricky.id, { customerName: "Zoë, Ltd. \"Acme\"\r\nBranch" });
    await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId: w.martha.id } }, w.token(w.maria));
    // A request answered with a reason and a note: every column of the record is filled.
    const asked = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await server.gql(AssignChatDocument, { input: { ...assignInput(asked.id, w.martha.id), note: 'Line one\nline "two", three' } }, w.token(w.mark));
    await server.gql(RejectAssignmentDocument, { requestId: sent.data!.assignChat.id, reason: "Busy, sorry" }, w.token(w.martha));

    const res = await fetch(server.url.replace("/graphql", "/exports/engagement-tracking-records.csv"), {
      headers: { authorization: `Bearer ${w.token(w.maria)}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv; charset=utf-8/);
    const text = await res.text();
    expect(text.endsWith("\r\n")).toBe(true);
    // RFC 4180: records end in CRLF. A parser told to accept only CRLF must still find every row.
    const rows = parse<Record<string, string>>(text, { columns: true, record_delimiter: "\r\n" });
    expect(Object.keys(rows[0])).toEqual([...EXPORT_COLUMNS]);

    const all: Array<EngagementTrackingRecordsQuery["engagementTrackingRecords"]["edges"][number]["node"]> = [];
    let after: string | null | undefined = null;
    for (;;) {
      const page: GqlResult<EngagementTrackingRecordsQuery> = await server.gql(EngagementTrackingRecordsDocument, { first: 100, after }, w.token(w.maria));
      const connection = page.data!.engagementTrackingRecords;
      all.push(...connection.edges.map((e) => e.node));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(rows.map((r) => r.record_id).sort()).toEqual(all.map((r) => r.id).sort());
    const byId = new Map(all.map((r) => [r.id, r]));
    const text_ = (v: string | number | null | undefined): string => (v === null || v === undefined ? "" : String(v));
    for (const row of rows) {
      const node = byId.get(row.record_id)!;
      expect({
        kind: row.kind,
        status: row.status,
        recipientType: row.recipient_type,
        reason: row.reason,
        note: row.note,
        requestedAt: row.requested_at,
        respondedAt: row.responded_at,
        expiresAt: row.expires_at,
        timeoutSeconds: row.timeout_seconds,
        responseSeconds: row.response_seconds === "" ? "" : String(Number(row.response_seconds)),
        bulkOperationId: row.bulk_operation_id,
        initiatedBy: [row.initiated_by_id, row.initiated_by_name],
        fromUser: [row.from_user_id, row.from_user_name],
        toUser: [row.to_user_id, row.to_user_name],
        respondedBy: [row.responded_by_id, row.responded_by_name],
        chatSession: row.chat_session_id,
        request: row.request_id,
      }).toEqual({
        kind: node.kind,
        status: node.status,
        recipientType: text_(node.recipientType),
        reason: text_(node.reason),
        note: text_(node.note),
        requestedAt: text_(node.requestedAt),
        respondedAt: text_(node.respondedAt),
        expiresAt: text_(node.expiresAt),
        timeoutSeconds: text_(node.timeoutSeconds),
        responseSeconds: text_(node.responseSeconds),
        bulkOperationId: text_(node.bulkOperationId),
        initiatedBy: [node.initiatedBy.id, node.initiatedBy.name],
        fromUser: [node.fromUser.id, node.fromUser.name],
        toUser: [text_(node.toUser?.id), text_(node.toUser?.name)],
        respondedBy: [text_(node.respondedBy?.id), text_(node.respondedBy?.name)],
        chatSession: node.chatSession.id,
        request: text_(node.request?.id),
      });
    }
    const mine = rows.find((r) => r.chat_session_id === chat.id)!;
    expect(mine.from_user_name).toBe('O\'Brien, "Bob"\nSenior');
    expect(mine.customer_name).toBe("Zoë, Ltd. \"Acme\"\r\nBranch");
    const rejected = rows.find((r) => r.request_id === sent.data!.assignChat.id)!;
    expect([rejected.status, rejected.reason, rejected.note]).toEqual(["REJECTED", "Busy, sorry", 'Line one\nline "two", three']);
    expect(rows.some((r) => r.organization_name !== "Acme")).toBe(false);

    // A window [from, to) keeps exactly the rows created in it.
    const since = rejected.created_at;
    const windowed = await fetch(`${server.url.replace("/graphql", "/exports/engagement-tracking-records.csv")}?from=${since}&to=2999-01-01T00:00:00Z`, {
      headers: { authorization: `Bearer ${w.token(w.maria)}` },
    });
    const inWindow = parse<Record<string, string>>(await windowed.text(), { columns: true, record_delimiter: "\r\n" });
    expect(inWindow.map((r) => r.record_id)).toEqual(rows.filter((r) => r.created_at >= since).map((r) => r.record_id));
    expect(inWindow.length).toBeLessThan(rows.length);
  });

  it("the tracking export narrows as the list does: status, kind, user and chat; bad values refused; the events export takes none of them", async () => {
    const url = server.url.replace("/graphql", "/exports/engagement-tracking-records.csv");
    const auth = { headers: { authorization: `Bearer ${w.token(w.maria)}` } };
    const rowsOf = async (query: string) => {
      const res = await fetch(`${url}?${query}`, auth);
      expect(res.status, query).toBe(200);
      return parse<Record<string, string>>(await res.text(), { columns: true, record_delimiter: "\r\n" });
    };
    const all = await rowsOf("");
    const want = (keep: (r: Record<string, string>) => boolean) => all.filter(keep).map((r) => r.record_id);
    for (const [query, keep] of [
      ["status=REJECTED", (r: Record<string, string>) => r.status === "REJECTED"],
      ["kind=DIRECT_ASSIGN", (r: Record<string, string>) => r.kind === "DIRECT_ASSIGN"],
      [`userId=${w.tom.id}`, (r: Record<string, string>) => [r.initiated_by_id, r.from_user_id, r.to_user_id].includes(w.tom.id)],
      [`chatSessionId=${w.chat.id}`, (r: Record<string, string>) => r.chat_session_id === w.chat.id],
      [`status=ASSIGNED&userId=${w.tom.id}`, (r: Record<string, string>) => r.status === "ASSIGNED" && [r.initiated_by_id, r.from_user_id, r.to_user_id].includes(w.tom.id)],
    ] as const) {
      const got = (await rowsOf(query)).map((r) => r.record_id);
      expect(got, query).toEqual(want(keep));
    }
    expect(want((r) => r.status === "REJECTED").length).toBeGreaterThan(0);
    expect(want((r) => r.kind === "DIRECT_ASSIGN").length).toBeGreaterThan(0);
    // Another organization's user is one that does not exist here: no rows, not an error.
    const other = await createWorld(db.dataSource, "Elsewhere");
    expect(await rowsOf(`userId=${other.mark.id}`)).toEqual([]);
    for (const [query, field] of [
      ["status=DONE", "status"],
      ["kind=assign", "kind"],
      ["userId=42", "userId"],
      ["chatSessionId=x';--", "chatSessionId"],
    ] as const) {
      const bad = await fetch(`${url}?${query}`, auth);
      expect(bad.status, query).toBe(400);
      expect(((await bad.json()) as { errors: Array<{ extensions: { code: string; field: string } }> }).errors[0].extensions).toEqual({ code: "BAD_USER_INPUT", field });
    }
    const events = await fetch(`${url.replace("engagement-tracking-records", "assignment-events")}?status=ACCEPTED`, auth);
    expect(events.status).toBe(400);
  });

  it("the export refuses users, missing tokens and bad times", async () => {
    const url = server.url.replace("/graphql", "/exports/engagement-tracking-records.csv");
    const asUser = await fetch(url, { headers: { authorization: `Bearer ${w.token(w.mark)}` } });
    expect(asUser.status).toBe(403);
    expect(((await asUser.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe("FORBIDDEN");
    const anon = await fetch(url);
    expect(anon.status).toBe(401);
    const bad = await fetch(`${url}?from=yesterday`, { headers: { authorization: `Bearer ${w.token(w.maria)}` } });
    expect(bad.status).toBe(400);
    const backwards = await fetch(`${url}?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, { headers: { authorization: `Bearer ${w.token(w.maria)}` } });
    expect(backwards.status).toBe(400);
    expect(((await backwards.json()) as { errors: Array<{ extensions: { code: string; field: string } }> }).errors[0].extensions).toEqual({ code: "BAD_USER_INPUT", field: "from" });
    const injected = await fetch(`${url}?from=${encodeURIComponent("2026-01-01'; DROP TABLE users; --")}`, { headers: { authorization: `Bearer ${w.token(w.maria)}` } });
    expect(injected.status).toBe(400);
    const empty = await fetch(`${url}?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z`, { headers: { authorization: `Bearer ${w.token(w.maria)}` } });
    expect(await empty.text()).toBe(`${EXPORT_COLUMNS.join(",")}\r\n`);
  });

  it("format=excel: a byte-order mark, formulas and phone numbers kept as text; plain csv unchanged; an unknown format refused", async () => {
    const since = new Date().toISOString();
    const evil = '=HYPERLINK("http://evil.example","Click")';
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id, { customerName: evil, customerPhone: "+14155550199" });
    await server.gql(AssignChatDocument, { input: { ...assignInput(chat.id, w.martha.id), note: "-5 EUR refund" } }, w.token(w.mark));
    const semicolonChat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const semiSent = await server.gql(AssignChatDocument, { input: { ...assignInput(semicolonChat.id, w.martha.id), note: "y;=1+1;z,@x|-2 +3" } }, w.token(w.mark));
    expect(semiSent.errors).toBeUndefined();
    const url = server.url.replace("/graphql", "/exports/engagement-tracking-records.csv");
    const auth = { headers: { authorization: `Bearer ${w.token(w.maria)}` } };

    const excel = await fetch(`${url}?format=excel&from=${since}`, auth);
    expect(excel.status).toBe(200);
    const bytes = Buffer.from(await excel.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse<Record<string, string>>(bytes.subarray(3).toString("utf8"), { columns: true, record_delimiter: "\r\n" });
    const row = rows.find((r) => r.chat_session_id === chat.id)!;
    expect(row.customer_name).toBe(`'${evil}`);
    expect(row.customer_phone).toBe("'+14155550199");
    expect(row.note).toBe("'-5 EUR refund");
    expect(row.from_user_name).toBe("Mark"); // plain text is left alone
    expect(row.requested_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    // A semicolon-delimited reader (Excel in most of Europe): every text cell quoted, and a
    // formula after any delimiter neutralized too.
    const text = bytes.subarray(3).toString("utf8");
    const line = text.split("\r\n").find((l) => l.includes(chat.id))!;
    expect(line).toContain('"Mark"');
    const semi = rows.find((r) => r.chat_session_id === semicolonChat.id)!;
    expect(semi.note).toBe("y;'=1+1;z,'@x|'-2 +3");
    expect(text).toContain(`"y;'=1+1;z,'@x|'-2 +3"`);

    const plain = await fetch(`${url}?from=${since}`, auth);
    const plainText = await plain.text();
    expect(plainText.charCodeAt(0)).not.toBe(0xfeff);
    const plainRow = parse<Record<string, string>>(plainText, { columns: true, record_delimiter: "\r\n" }).find((r) => r.chat_session_id === chat.id)!;
    expect(plainRow.customer_name).toBe(evil);
    expect(plainRow.customer_phone).toBe("+14155550199");

    const bad = await fetch(`${url}?format=xlsx`, auth);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ extensions: { code: string; field: string } }> }).errors[0].extensions).toEqual({ code: "BAD_USER_INPUT", field: "format" });
  });

  it("the events export: the organization's events in sequence order, for managers only, excel-safe on demand", async () => {
    const since = new Date().toISOString();
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id, { customerName: "+Plus Customer" });
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    await server.gql(AcceptAssignmentDocument, { requestId: sent.data!.assignChat.id }, w.token(w.martha));
    await server.gql(AssignChatDocument, { input: assignInput((await createChat(db.dataSource, other.organizationId, other.mark.id)).id, other.martha.id) }, other.token(other.mark));
    const url = server.url.replace("/graphql", "/exports/assignment-events.csv");
    expect((await fetch(url, { headers: { authorization: `Bearer ${w.token(w.mark)}` } })).status).toBe(403);
    // The right is decided before the filters are read: a user's malformed filter is still FORBIDDEN.
    expect((await fetch(`${url}?from=yesterday&format=xlsx`, { headers: { authorization: `Bearer ${w.token(w.mark)}` } })).status).toBe(403);
    const res = await fetch(`${url}?from=${since}`, { headers: { authorization: `Bearer ${w.token(w.maria)}` } });
    expect(res.headers.get("content-disposition")).toContain("assignment-events.csv");
    const rows = parse<Record<string, string>>(await res.text(), { columns: true, record_delimiter: "\r\n" });
    expect(Object.keys(rows[0])).toEqual([...EVENT_EXPORT_COLUMNS]);
    expect(rows.every((r) => r.organization_name === rows[0].organization_name)).toBe(true);
    const mine = rows.filter((r) => r.chat_session_id === chat.id);
    expect(mine.map((r) => r.type)).toEqual(["CREATED", "ACCEPTED"]);
    expect(mine.map((r) => r.request_kind)).toEqual(["ASSIGN", "ASSIGN"]);
    const sequences = rows.map((r) => BigInt(r.sequence));
    expect(sequences).toEqual([...sequences].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const excel = await fetch(`${url}?from=${since}&format=excel`, { headers: { authorization: `Bearer ${w.token(w.maria)}` } });
    const excelRows = parse<Record<string, string>>((await excel.text()).replace(/^\uFEFF/, ""), { columns: true, record_delimiter: "\r\n" });
    expect(excelRows.find((r) => r.chat_session_id === chat.id)?.customer_name).toBe("'+Plus Customer");
  });

  it("the organization's time zone: validated, and the bi views give local dates and times in it", async () => {
    const org = await createWorld(db.dataSource, "Nakatomi");
    for (const bad of ["Mars/Olympus", "", "x".repeat(65)]) {
      const refused = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { timeZone: bad } }, org.token(org.admin));
      expect(codeOf(refused)).toBe("BAD_USER_INPUT");
      expect(refused.errors?.[0]?.extensions?.field).toBe("timeZone");
    }
    expect(codeOf(await server.gql(UpdateAssignDiscussSettingsDocument, { input: { timeZone: "Asia/Tokyo" } }, org.token(org.mark)))).toBe("FORBIDDEN");
    const set = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { timeZone: " Asia/Tokyo " } }, org.token(org.admin));
    expect(set.data!.updateAssignDiscussSettings.timeZone).toBe("Asia/Tokyo");

    const sent = await server.gql(AssignChatDocument, { input: assignInput(org.chat.id, org.martha.id) }, org.token(org.mark));
    const requestId = sent.data!.assignChat.id;
    await db.dataSource.query(`UPDATE engagement_tracking_records SET requested_at = '2026-11-26T20:30:00Z' WHERE request_id = $1`, [requestId]);
    const [row] = await db.dataSource.query<Array<{ time_zone: string; d: string; t: string }>>(
      `SELECT time_zone, requested_local_date::text AS d, requested_local_time::text AS t FROM bi.engagement_tracking_records WHERE request_id = $1`,
      [requestId],
    );
    expect(row).toEqual({ time_zone: "Asia/Tokyo", d: "2026-11-27", t: "05:30:00" });
    const [event] = await db.dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM bi.assignment_events WHERE request_id = $1 AND occurred_local_date IS NOT NULL`,
      [requestId],
    );
    expect(event.n).toBe(1);
  });

  it("dimension views: bi.users and bi.chat_sessions answer questions the facts alone cannot (agents who never received a handover)", async () => {
    const org = await createWorld(db.dataSource, "Cyberdyne");
    const idle = await createUser(db.dataSource, org.organizationId, { name: "Idle Ida" });
    const sent = await server.gql(AssignChatDocument, { input: assignInput(org.chat.id, org.martha.id) }, org.token(org.mark));
    expect(sent.errors).toBeUndefined();
    const never = await db.dataSource.query<Array<{ name: string }>>(
      `SELECT u.name FROM bi.users u
        WHERE u.organization_id = $1 AND u.role = 'USER'
          AND NOT EXISTS (SELECT 1 FROM bi.engagement_tracking_records t WHERE t.to_user_id = u.user_id)
        ORDER BY u.name`,
      [org.organizationId],
    );
    expect(never.map((r) => r.name)).toEqual(["Idle Ida", "Mark", "Tom"]);
    expect(idle.id).toBeTruthy();
    const chats = await db.dataSource.query<Array<{ owner_name: string; status: string }>>(
      `SELECT owner_name, status FROM bi.chat_sessions WHERE chat_session_id = $1`,
      [org.chat.id],
    );
    expect(chats).toEqual([{ owner_name: "Mark", status: "OPEN" }]);
  });
});
