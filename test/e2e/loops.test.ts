import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AssignmentChainDocument,
  BulkAssignChatsDocument,
  DiscussChatDocument,
  RejectAssignmentDocument,
  SuggestedRecipientsDocument,
  UpdateAssignDiscussSettingsDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import type { ChatSession } from "../../src/modules/chat-sessions/chat-session.entity";
import type { User } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";

// Issue #24, loops: a chat sent straight back (HANDOVER_LOOP), a chat moved too often in a day
// (HANDOVER_LIMIT_REACHED), a manager's override and its record, and where the rule applies
// besides a request: fallback chains, suggestions, bulk moves (with capacity per item).

let db: TestDatabase;
let server: TestServer;
let w: World;
let zoe: User;

const settings = (input: Record<string, unknown>) => server.gql(UpdateAssignDiscussSettingsDocument, { input }, w.token(w.admin));
const assign = (chat: ChatSession | string, to: User, by: User, extra: Record<string, unknown> = {}) =>
  server.gql(AssignChatDocument, { input: { ...assignInput(typeof chat === "string" ? chat : chat.id, to.id), ...extra } }, w.token(by));
/** A request sent and accepted: the chat moves. Returns the request's tracking record id. */
async function hand(chat: ChatSession, from: User, to: User): Promise<string> {
  const sent = await assign(chat, to, from);
  expect(sent.errors).toBeUndefined();
  const accepted = await server.gql(AcceptAssignmentDocument, { requestId: sent.data!.assignChat.id }, w.token(to));
  expect(accepted.errors).toBeUndefined();
  return accepted.data!.acceptAssignment.trackingRecord.id;
}
const requestsOf = async (chat: ChatSession) =>
  (await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM assignment_requests WHERE chat_session_id = $1`, [chat.id]))[0].n;
/** Moves a chat's handovers back in time, as if they had happened `minutes` earlier. */
const age = (chat: ChatSession, minutes: number) =>
  db.dataSource.query(
    `UPDATE engagement_tracking_records SET requested_at = requested_at - make_interval(mins => $2), responded_at = responded_at - make_interval(mins => $2)
      WHERE chat_session_id = $1`,
    [chat.id, minutes],
  );
const ownerOf = async (chat: ChatSession) =>
  (await db.dataSource.query<Array<{ owner_id: string }>>(`SELECT owner_id FROM chat_sessions WHERE id = $1`, [chat.id]))[0].owner_id;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
  zoe = await createUser(db.dataSource, w.organizationId, { name: "Zoe" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe("loop settings", () => {
  it("default to 10 handovers a day and 30 minutes; out-of-range values are BAD_USER_INPUT and change nothing", async () => {
    const now = await settings({});
    expect(now.data!.updateAssignDiscussSettings).toMatchObject({ maxHandoversPerChatPerDay: 10, pingPongMinutes: 30 });
    for (const input of [{ maxHandoversPerChatPerDay: -1 }, { maxHandoversPerChatPerDay: 1001 }, { pingPongMinutes: 1441 }, { pingPongMinutes: -5 }]) {
      const bad = await settings(input);
      expect(codeOf(bad)).toBe("BAD_USER_INPUT");
      expect(bad.errors![0].extensions).toMatchObject({ field: Object.keys(input)[0] });
    }
    expect((await settings({})).data!.updateAssignDiscussSettings).toMatchObject({ maxHandoversPerChatPerDay: 10, pingPongMinutes: 30 });
    const byUser = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { pingPongMinutes: 0 } }, w.token(w.mark));
    expect(codeOf(byUser)).toBe("FORBIDDEN");
  });
});

describe("ping-pong", () => {
  it("sending a chat straight back to who handed it over is HANDOVER_LOOP, with that handover's id and time; nothing is written", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const first = await hand(chat, w.mark, w.martha);
    const back = await assign(chat, w.mark, w.martha);
    expect(codeOf(back)).toBe("HANDOVER_LOOP");
    const [row] = await db.dataSource.query<Array<{ responded_at: Date }>>(`SELECT responded_at FROM engagement_tracking_records WHERE id = $1`, [first]);
    expect(back.errors![0].extensions).toMatchObject({ field: "recipientId", trackingRecordId: first, handedOverAt: new Date(row.responded_at).toISOString() });
    expect(back.errors![0].message).toMatch(/^The recipient handed this chat to its owner moments ago: sending it straight back within 30 min is a loop$/);
    expect(await requestsOf(chat)).toBe(1); // only the first request
    // A manager sending it back is the same bounce (the rule is about the chat, not who sends).
    expect(codeOf(await assign(chat, w.mark, w.maria))).toBe("HANDOVER_LOOP");
    // Anyone else may take it; a discussion with the sender is not a handover.
    const onward = await assign(chat, w.tom, w.martha);
    expect(onward.errors).toBeUndefined();
    expect((await server.gql(WithdrawAssignmentDocument, { requestId: onward.data!.assignChat.id, reason: "No longer needed" }, w.token(w.martha))).errors).toBeUndefined();
    const discuss = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.mark.id) }, w.token(w.martha));
    expect(discuss.errors).toBeUndefined();
  });

  it("a user may not override (FORBIDDEN); a manager may, and the tracking record keeps the rule overridden", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    await hand(chat, w.mark, w.martha);
    const byUser = await assign(chat, w.mark, w.martha, { override: true });
    expect(codeOf(byUser)).toBe("FORBIDDEN");
    expect(byUser.errors![0].message).toBe("Only managers and admins may override the loop rule");
    const byManager = await assign(chat, w.mark, w.maria, { override: true });
    expect(byManager.errors).toBeUndefined();
    expect(byManager.data!.assignChat.trackingRecord.overriddenRule).toBe("HANDOVER_LOOP");
    const [stored] = await db.dataSource.query<Array<{ overridden_rule: string }>>(`SELECT overridden_rule FROM engagement_tracking_records WHERE request_id = $1`, [
      byManager.data!.assignChat.id,
    ]);
    expect(stored.overridden_rule).toBe("HANDOVER_LOOP");
    // BI sees it too: the records view behind the tenant's bi view and the CSV.
    const [bi] = await db.dataSource.query<Array<{ overridden_rule: string }>>(`SELECT overridden_rule FROM reporting.engagement_tracking_records WHERE request_id = $1`, [
      byManager.data!.assignChat.id,
    ]);
    expect(bi.overridden_rule).toBe("HANDOVER_LOOP");
    // An override where no rule refuses records nothing.
    const other = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const plain = await assign(other, w.tom, w.maria, { override: true });
    expect(plain.errors).toBeUndefined();
    expect(plain.data!.assignChat.trackingRecord.overriddenRule).toBeNull();
  });

  it("after pingPongMinutes it may go back; with pingPongMinutes 0 the rule is off", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    await hand(chat, w.mark, w.martha);
    await age(chat, 31);
    await hand(chat, w.martha, w.mark);
    expect(await ownerOf(chat)).toBe(w.mark.id);
    expect(codeOf(await assign(chat, w.martha, w.mark))).toBe("HANDOVER_LOOP");
    await settings({ pingPongMinutes: 0 });
    try {
      const sent = await assign(chat, w.martha, w.mark);
      expect(sent.errors).toBeUndefined();
      expect(sent.data!.assignChat.trackingRecord.overriddenRule).toBeNull();
    } finally {
      await settings({ pingPongMinutes: 30 });
    }
  });

  it("a bulk move back to who handed a chat over: HANDOVER_LOOP for that item, the others move; with override it moves and records it", async () => {
    const bounced = await createChat(db.dataSource, w.organizationId, w.tom.id);
    await hand(bounced, w.tom, w.martha);
    const fresh = await createChat(db.dataSource, w.organizationId, w.martha.id);
    const input = { chatSessionIds: [bounced.id, fresh.id], toUserId: w.tom.id };
    const refused = await server.gql(BulkAssignChatsDocument, { input }, w.token(w.maria));
    expect(refused.errors).toBeUndefined();
    expect(refused.data!.bulkAssignChats.results.map((r) => r.outcome)).toEqual(["HANDOVER_LOOP", "ASSIGNED"]);
    expect(await ownerOf(bounced)).toBe(w.martha.id);
    const forced = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [bounced.id], toUserId: w.tom.id, override: true } }, w.token(w.maria));
    expect(forced.data!.bulkAssignChats.results[0]).toMatchObject({ outcome: "ASSIGNED", trackingRecord: { overriddenRule: "HANDOVER_LOOP" } });
    expect(await ownerOf(bounced)).toBe(w.tom.id);
    // A user moving their own chats may not override.
    const own = await createChat(db.dataSource, w.organizationId, w.tom.id);
    const byUser = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [own.id], toUserId: w.mark.id, override: true } }, w.token(w.tom));
    expect(codeOf(byUser)).toBe("FORBIDDEN");
    expect(await ownerOf(own)).toBe(w.tom.id);
  });

  it("a fallback chain's hop skips the one the chat would bounce back to", async () => {
    await settings({ fallbackOnReject: true });
    try {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      await hand(chat, w.mark, w.martha);
      const sent = await assign(chat, w.tom, w.martha, { fallbackRecipientIds: [w.mark.id, zoe.id] });
      expect(sent.errors).toBeUndefined();
      const first = sent.data!.assignChat.id;
      expect((await server.gql(RejectAssignmentDocument, { requestId: first, reason: "In a meeting" }, w.token(w.tom))).errors).toBeUndefined();
      const chain = await server.gql(AssignmentChainDocument, { id: first }, w.token(w.martha));
      expect(chain.data!.assignmentRequest!.nextRequest).toMatchObject({ hop: 2, recipient: { id: zoe.id } });
    } finally {
      await settings({ fallbackOnReject: false });
    }
  });

  it("suggestions leave out the one the chat would bounce back to", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const ask = () => server.gql(SuggestedRecipientsDocument, { chatSessionId: chat.id, first: 50 }, w.token(w.martha));
    expect((await ask()).errors).toBeDefined(); // Martha does not own it yet: FORBIDDEN
    await hand(chat, w.mark, w.martha);
    const ids = (await ask()).data!.suggestedRecipients.map((s) => s.user.id);
    expect(ids).toContain(w.tom.id);
    expect(ids).not.toContain(w.mark.id);
    await age(chat, 31);
    expect((await ask()).data!.suggestedRecipients.map((s) => s.user.id)).toContain(w.mark.id);
  });
});

describe("handovers per chat per day", () => {
  it("past the limit in 24 h a request is HANDOVER_LIMIT_REACHED; older moves do not count; a manager may override", async () => {
    await settings({ maxHandoversPerChatPerDay: 2 });
    try {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      await hand(chat, w.mark, w.martha);
      await hand(chat, w.martha, w.tom);
      const third = await assign(chat, zoe, w.tom);
      expect(codeOf(third)).toBe("HANDOVER_LIMIT_REACHED");
      expect(third.errors![0].extensions).toMatchObject({ handovers: 2, limit: 2 });
      expect(third.errors![0].message).toBe("This chat was handed over 2 times in the last 24 hours, the organization's limit");
      // Suggestions: nobody, while the chat may not move.
      expect((await server.gql(SuggestedRecipientsDocument, { chatSessionId: chat.id, first: 5 }, w.token(w.tom))).data!.suggestedRecipients).toEqual([]);
      // Bulk: per item.
      const bulk = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId: zoe.id } }, w.token(w.maria));
      expect(bulk.data!.bulkAssignChats.results[0].outcome).toBe("HANDOVER_LIMIT_REACHED");
      // A discussion is not a handover.
      expect((await server.gql(DiscussChatDocument, { input: assignInput(chat.id, zoe.id) }, w.token(w.tom))).errors).toBeUndefined();
      // The manager's override goes through and is recorded.
      const forced = await assign(chat, zoe, w.maria, { override: true });
      expect(forced.errors).toBeUndefined();
      expect(forced.data!.assignChat.trackingRecord.overriddenRule).toBe("HANDOVER_LIMIT_REACHED");
      expect((await server.gql(WithdrawAssignmentDocument, { requestId: forced.data!.assignChat.id, reason: "No longer needed" }, w.token(w.maria))).errors).toBeUndefined();
      // A day later the earlier moves no longer count.
      await age(chat, 24 * 60 + 1);
      const later = await assign(chat, zoe, w.tom);
      expect(later.errors).toBeUndefined();
    } finally {
      await settings({ maxHandoversPerChatPerDay: 10 });
    }
  });
});

describe("capacity in a bulk move", () => {
  it("with enforceCapacity, the chats fill the target's room in the order given; the rest are RECIPIENT_AT_CAPACITY", async () => {
    const ivy = await createUser(db.dataSource, w.organizationId, { name: "Ivy" });
    await createChat(db.dataSource, w.organizationId, ivy.id);
    await db.dataSource.query(`UPDATE users SET max_open_chats = 3 WHERE id = $1`, [ivy.id]); // holds 1: room for 2
    const chats = await Promise.all([0, 1, 2, 3].map(() => createChat(db.dataSource, w.organizationId, w.mark.id)));
    const input = { chatSessionIds: chats.map((c) => c.id), toUserId: ivy.id };
    await settings({ enforceCapacity: true });
    try {
      const moved = await server.gql(BulkAssignChatsDocument, { input }, w.token(w.maria));
      expect(moved.errors).toBeUndefined();
      expect(moved.data!.bulkAssignChats.results.map((r) => r.outcome)).toEqual(["ASSIGNED", "ASSIGNED", "RECIPIENT_AT_CAPACITY", "RECIPIENT_AT_CAPACITY"]);
      expect(moved.data!.bulkAssignChats).toMatchObject({ assignedCount: 2, skippedCount: 2 });
      const [n] = await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM chat_sessions WHERE owner_id = $1 AND status = 'OPEN'`, [ivy.id]);
      expect(n.n).toBe(3);
    } finally {
      await settings({ enforceCapacity: false });
    }
    // Not enforced: capacity only ranks, the bulk move takes them all.
    const rest = await server.gql(BulkAssignChatsDocument, { input }, w.token(w.maria));
    expect(rest.data!.bulkAssignChats.results.map((r) => r.outcome)).toEqual(["ALREADY_OWNER", "ALREADY_OWNER", "ASSIGNED", "ASSIGNED"]);
  });
});
