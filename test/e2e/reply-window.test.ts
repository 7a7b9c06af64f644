import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AssignWithWindowDocument,
  ChatReplyWindowDocument,
  NotificationsDocument,
  RecordCustomerMessageDocument,
  RejectAssignmentDocument,
  RequestReplyWindowDocument,
  UpdateAssignDiscussSettingsDocument,
} from "../../schema/generated/graphql";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { BiAccessService } from "../../src/modules/bi/bi-access.service";
import type { User } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";

// Issue #24, WhatsApp's reply window: recorded per inbound message, shown on the chat, kept on
// the request as it stood, capping deadlines (a person's request and a chain's hop), and told to
// the recipient when it matters.

let db: TestDatabase;
let server: TestServer;
let w: World;
let other: World;
let lisa: User;

const HOUR = 3_600_000;
const settings = (input: Record<string, unknown>) => server.gql(UpdateAssignDiscussSettingsDocument, { input }, w.token(w.admin));
/** A chat of Mark's whose customer last wrote `ago` ms ago (null: never). */
const chatLastWritten = (ago: number | null) =>
  createChat(db.dataSource, w.organizationId, w.mark.id, { lastCustomerMessageAt: ago === null ? null : new Date(Date.now() - ago) });
const messagesTo = async (user: User) =>
  (await server.gql(NotificationsDocument, { first: 20 }, w.token(user))).data!.notifications.edges.map((e) => e.node.message);

beforeAll(async () => {
  db = await createTestDatabase();
  // With the scheduler, so that a request's time-out job is there to check.
  server = await startTestServer(db.dataSource, { schedulerUrl: db.url, sweepEveryMs: 600_000 });
  w = await createWorld(db.dataSource, "Acme");
  other = await createWorld(db.dataSource, "Globex");
  lisa = await createUser(db.dataSource, w.organizationId, { name: "Lisa" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe("recordCustomerMessage and the chat's window", () => {
  it("keeps the latest message; the window ends replyWindowHours after it", async () => {
    const chat = await chatLastWritten(null);
    const before = await server.gql(ChatReplyWindowDocument, { id: chat.id }, w.token(w.mark));
    expect(before.data!.chatSession).toMatchObject({ lastCustomerMessageAt: null, replyWindowEndsAt: null, replyWindowOpen: false });

    const at = new Date(Date.now() - 25 * HOUR);
    const first = await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: at.toISOString() }, w.token(w.admin));
    expect(first.errors).toBeUndefined();
    expect(first.data!.recordCustomerMessage).toMatchObject({
      lastCustomerMessageAt: at.toISOString(),
      replyWindowEndsAt: new Date(at.getTime() + 24 * HOUR).toISOString(),
      replyWindowOpen: false,
    });
    const later = new Date(Date.now() - 60_000);
    await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: later.toISOString() }, w.token(w.admin));
    // An older message (out of order from the connector) changes nothing.
    const older = await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: at.toISOString() }, w.token(w.admin));
    expect(older.data!.recordCustomerMessage).toMatchObject({
      lastCustomerMessageAt: later.toISOString(),
      replyWindowEndsAt: new Date(later.getTime() + 24 * HOUR).toISOString(),
      replyWindowOpen: true,
    });

    // A channel without a window: always open, no end.
    await settings({ replyWindowHours: 0 });
    try {
      const none = await server.gql(ChatReplyWindowDocument, { id: chat.id }, w.token(w.mark));
      expect(none.data!.chatSession).toMatchObject({ replyWindowEndsAt: null, replyWindowOpen: true });
    } finally {
      await settings({ replyWindowHours: 24 });
    }
  });

  it("refuses non-admins, times far ahead, bad settings, malformed and foreign ids", async () => {
    const chat = await chatLastWritten(null);
    const now = new Date().toISOString();
    expect(codeOf(await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: now }, w.token(w.mark)))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: now }, w.token(w.maria)))).toBe("FORBIDDEN");
    const ahead = new Date(Date.now() + 6 * 60_000).toISOString();
    expect(codeOf(await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: ahead }, w.token(w.admin)))).toBe("BAD_USER_INPUT");
    // Slightly ahead (a connector's clock): accepted.
    const skew = new Date(Date.now() + 60_000).toISOString();
    expect((await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: skew }, w.token(w.admin))).errors).toBeUndefined();
    expect(codeOf(await server.gql(RecordCustomerMessageDocument, { chatSessionId: "x", at: now }, w.token(w.admin)))).toBe("BAD_USER_INPUT");
    expect(codeOf(await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: now }, other.token(other.admin)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(RecordCustomerMessageDocument, { chatSessionId: randomUUID(), at: now }, w.token(w.admin)))).toBe("NOT_FOUND");
    const [row] = await db.dataSource.query<Array<{ last_customer_message_at: Date }>>(`SELECT last_customer_message_at FROM chat_sessions WHERE id = $1`, [chat.id]);
    expect(new Date(row.last_customer_message_at).toISOString()).toBe(skew);
    for (const bad of [-1, 169]) expect(codeOf(await settings({ replyWindowHours: bad }))).toBe("BAD_USER_INPUT");
  });
});

describe("recordCustomerMessage under load", () => {
  it("calls in the same moment are written together: each chat keeps its latest message, each organization only its own chats", async () => {
    const chats = [await chatLastWritten(null), await chatLastWritten(null)];
    const theirs = await createChat(db.dataSource, other.organizationId, other.mark.id, { lastCustomerMessageAt: null });
    const base = Date.now() - 10 * 60_000;
    const times = Array.from({ length: 40 }, (_, i) => new Date(base + ((i * 7919) % 40) * 1000));
    const chatsService = server.app.services.chats;
    // One turn of the event loop: one statement for all of them (and, were it split, the same answers).
    const answers = await Promise.allSettled([
      ...times.map((at, i) => chatsService.recordCustomerMessage(w.admin, chats[i % 2].id, at)),
      chatsService.recordCustomerMessage(other.admin, chats[0].id, new Date()), // another organization's chat: not found
      chatsService.recordCustomerMessage(other.admin, theirs.id, new Date(base)),
    ]);
    expect(answers.slice(0, 40).every((a) => a.status === "fulfilled")).toBe(true);
    const foreign = answers[40];
    expect(foreign.status === "rejected" && (foreign.reason as { code?: string }).code).toBe("NOT_FOUND");
    expect(answers[41].status).toBe("fulfilled");
    for (const [k, chat] of chats.entries()) {
      const latest = Math.max(...times.filter((_, i) => i % 2 === k).map((t) => t.getTime()));
      const [row] = await db.dataSource.query<Array<{ at: Date }>>(`SELECT last_customer_message_at AS at FROM chat_sessions WHERE id = $1`, [chat.id]);
      expect(new Date(row.at).getTime()).toBe(latest);
    }
    const [mine] = await db.dataSource.query<Array<{ at: Date }>>(`SELECT last_customer_message_at AS at FROM chat_sessions WHERE id = $1`, [theirs.id]);
    expect(new Date(mine.at).getTime()).toBe(base);
  });
});

describe("deadlines and notifications", () => {
  it("a request's deadline is capped at the window's end, kept on the request, and the recipient is told", async () => {
    const chat = await chatLastWritten(24 * HOUR - 60_000); // the window ends in a minute
    const sent = await server.gql(AssignWithWindowDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    expect(sent.errors).toBeUndefined();
    const req = sent.data!.assignChat;
    const windowEnd = (await server.gql(ChatReplyWindowDocument, { id: chat.id }, w.token(w.mark))).data!.chatSession!.replyWindowEndsAt;
    expect(req.replyWindowEndsAt).toBe(windowEnd);
    expect(req.expiresAt).toBe(windowEnd); // 120 s timeout, 60 s of window: the window wins
    expect(req.timeoutSeconds).toBe(120);
    // As stored, not only as answered.
    const read = await server.gql(RequestReplyWindowDocument, { id: req.id }, w.token(w.mark));
    expect(read.data!.assignmentRequest).toMatchObject({ expiresAt: windowEnd, replyWindowEndsAt: windowEnd });
    const [job] = await db.dataSource.query<Array<{ next_run_at: Date }>>(`SELECT next_run_at FROM agenda_jobs WHERE data->>'requestId' = $1`, [req.id]);
    expect(new Date(job.next_run_at).toISOString()).toBe(windowEnd); // the time-out job runs then
    expect((await messagesTo(w.martha))[0]).toMatch(/^Mark has sent you a chat assignment request\. \(reply window closes in (0|1) min\)$/);
  });

  it("never under 5 s; the cap off, or a window far away, leaves the timeout; a closed window is allowed and said", async () => {
    const soon = await chatLastWritten(24 * HOUR - 2_000); // 2 s left
    const a = (await server.gql(AssignWithWindowDocument, { input: assignInput(soon.id, w.tom.id) }, w.token(w.mark))).data!.assignChat;
    expect(Date.parse(a.expiresAt) - Date.parse(a.createdAt)).toBe(5_000);

    await settings({ capDeadlineAtReplyWindow: false });
    try {
      const off = await chatLastWritten(24 * HOUR - 60_000);
      const b = (await server.gql(AssignWithWindowDocument, { input: assignInput(off.id, lisa.id) }, w.token(w.mark))).data!.assignChat;
      expect(Date.parse(b.expiresAt) - Date.parse(b.createdAt)).toBe(120_000);
      expect(b.replyWindowEndsAt).not.toBeNull();
    } finally {
      await settings({ capDeadlineAtReplyWindow: true });
    }

    const fresh = await chatLastWritten(60_000);
    const c = (await server.gql(AssignWithWindowDocument, { input: assignInput(fresh.id, w.maria.id, RecipientType.MANAGER) }, w.token(w.mark))).data!.assignChat;
    expect(Date.parse(c.expiresAt) - Date.parse(c.createdAt)).toBe(120_000);
    expect((await messagesTo(w.maria))[0]).toBe("Mark has sent you a chat assignment request."); // 24 h left: nothing to say

    const closed = await chatLastWritten(30 * HOUR);
    const before = (await messagesTo(lisa)).length;
    const e = (await server.gql(AssignWithWindowDocument, { input: assignInput(closed.id, lisa.id) }, w.token(w.maria))).data!.assignChat;
    expect(Date.parse(e.expiresAt) - Date.parse(e.createdAt)).toBe(120_000);
    const told = await messagesTo(lisa);
    expect(told.length).toBe(before + 1);
    expect(told[0]).toBe("Maria has sent you a chat assignment request. (reply window closed: templates only)");
  });

  it("a chain's hop is capped by the window as it stands when the hop is made", async () => {
    await settings({ fallbackOnReject: true });
    try {
      const chat = await chatLastWritten(24 * HOUR - 90_000); // 90 s left
      const sent = await server.gql(AssignWithWindowDocument, { input: { ...assignInput(chat.id, w.martha.id), fallbackRecipientIds: [lisa.id] } }, w.token(w.mark));
      expect(sent.errors).toBeUndefined();
      const first = sent.data!.assignChat;
      expect(first.expiresAt).toBe(first.replyWindowEndsAt);
      // The customer writes again: the window moves on, and the hop is capped by the new one.
      const stale = new Date(Date.now() - (24 * HOUR - 30_000)); // would leave 30 s, but is older than the last: ignored
      await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: stale.toISOString() }, w.token(w.admin));
      const last = new Date(Date.now() - (24 * HOUR - 100_000)); // 100 s left
      await server.gql(RecordCustomerMessageDocument, { chatSessionId: chat.id, at: last.toISOString() }, w.token(w.admin));
      const rejected = await server.gql(RejectAssignmentDocument, { requestId: first.id, reason: "In a meeting" }, w.token(w.martha));
      expect(rejected.errors).toBeUndefined();
      const hopId = (await server.gql(RequestReplyWindowDocument, { id: first.id }, w.token(w.mark))).data!.assignmentRequest!.nextRequest!.id;
      const hop = (await server.gql(RequestReplyWindowDocument, { id: hopId }, w.token(w.mark))).data!.assignmentRequest!;
      const windowEnd = new Date(last.getTime() + 24 * HOUR).toISOString();
      expect(hop).toMatchObject({ hop: 2, recipient: { id: lisa.id }, replyWindowEndsAt: windowEnd, expiresAt: windowEnd });
      expect((await messagesTo(lisa))[0]).toMatch(/^Mark has sent you a chat assignment request\. \(reply window closes in 1 min\)$/);
    } finally {
      await settings({ fallbackOnReject: false });
    }
  });

  it("BI: each record's window when sent, and whether it closed while pending; the daily rollup counts those lost", async () => {
    await settings({ capDeadlineAtReplyWindow: false });
    let lost: string;
    let kept: string;
    let late: string;
    try {
      const closing = await chatLastWritten(24 * HOUR - 2_000); // 2 s left
      lost = (await server.gql(AssignWithWindowDocument, { input: assignInput(closing.id, lisa.id) }, w.token(w.mark))).data!.assignChat.id;
      const calm = await chatLastWritten(60_000);
      kept = (await server.gql(AssignWithWindowDocument, { input: assignInput(calm.id, lisa.id) }, w.token(w.mark))).data!.assignChat.id;
      const closed = await chatLastWritten(30 * HOUR);
      late = (await server.gql(AssignWithWindowDocument, { input: assignInput(closed.id, lisa.id) }, w.token(w.mark))).data!.assignChat.id;
    } finally {
      await settings({ capDeadlineAtReplyWindow: true });
    }
    await new Promise((r) => setTimeout(r, 2_200));
    for (const id of [lost, kept, late]) {
      expect((await server.gql(RejectAssignmentDocument, { requestId: id, reason: "In a meeting" }, w.token(lisa))).errors).toBeUndefined();
    }
    const rows = await db.dataSource.query<Array<{ request_id: string; reply_window_ends_at: Date | null; reply_window_seconds_left: number | null; reply_window_closed_while_pending: boolean | null }>>(
      `SELECT request_id, reply_window_ends_at, reply_window_seconds_left, reply_window_closed_while_pending
         FROM reporting.engagement_tracking_records WHERE request_id = ANY($1)`,
      [[lost, kept, late]],
    );
    const by = new Map(rows.map((r) => [r.request_id, r]));
    expect(by.get(lost)).toMatchObject({ reply_window_seconds_left: 2, reply_window_closed_while_pending: true });
    expect(by.get(kept)!.reply_window_seconds_left).toBeGreaterThan(23 * 3600);
    expect(by.get(kept)!.reply_window_closed_while_pending).toBe(false);
    expect(by.get(late)!.reply_window_seconds_left).toBeLessThan(-5 * 3600); // closed already when sent
    expect(by.get(late)!.reply_window_closed_while_pending).toBe(false);

    await new BiAccessService(db.dataSource).refreshRollup();
    const [daily] = await db.dataSource.query<Array<{ lost: number }>>(
      `SELECT sum(window_lost)::int AS lost FROM reporting.handover_daily WHERE organization_id = $1 AND status = 'REJECTED'`,
      [w.organizationId],
    );
    const [direct] = await db.dataSource.query<Array<{ lost: number }>>(
      `SELECT count(*)::int AS lost FROM reporting.engagement_tracking_records WHERE organization_id = $1 AND status = 'REJECTED' AND reply_window_closed_while_pending`,
      [w.organizationId],
    );
    expect(daily.lost).toBe(direct.lost);
    expect(daily.lost).toBeGreaterThanOrEqual(1);
  });
});
