import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AssignmentChainDocument,
  DiscussChatDocument,
  RejectAssignmentDocument,
  SuggestedRecipientsDocument,
  UpdateAssignDiscussSettingsDocument,
} from "../../schema/generated/graphql";
import type { User } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";

// Issue #24, capacity enforced: a request to, an accept by, and a hop to someone at their limit.

let db: TestDatabase;
let server: TestServer;
let w: World;
let full: User; // limit 1, holds 1
let roomy: User; // no limit

const settings = (input: Record<string, unknown>) => server.gql(UpdateAssignDiscussSettingsDocument, { input }, w.token(w.admin));
const openChatsOf = async (u: User) =>
  (await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM chat_sessions WHERE owner_id = $1 AND status = 'OPEN'`, [u.id]))[0].n;
const setLimit = (u: User, limit: number | null) => db.dataSource.query(`UPDATE users SET max_open_chats = $2 WHERE id = $1`, [u.id, limit]);

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
  full = await createUser(db.dataSource, w.organizationId, { name: "Fay" });
  roomy = await createUser(db.dataSource, w.organizationId, { name: "Rob" });
  await createChat(db.dataSource, w.organizationId, full.id);
  await setLimit(full, 1);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe("capacity", () => {
  it("not enforced (the default), capacity only ranks: a full person may be sent a chat", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, full.id) }, w.token(w.mark));
    expect(sent.errors).toBeUndefined();
  });

  it("enforced: a request to someone at their limit is RECIPIENT_AT_CAPACITY; a discussion is not a handover", async () => {
    expect((await settings({ enforceCapacity: true })).data!.updateAssignDiscussSettings.enforceCapacity).toBe(true);
    try {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const refused = await server.gql(AssignChatDocument, { input: assignInput(chat.id, full.id) }, w.token(w.mark));
      expect(codeOf(refused)).toBe("RECIPIENT_AT_CAPACITY");
      expect(refused.errors![0].extensions).toMatchObject({ field: "recipientId" });
      expect(refused.errors![0].message).toBe("The recipient already holds 1 of 1 open chats");
      const [n] = await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM assignment_requests WHERE chat_session_id = $1`, [chat.id]);
      expect(n.n).toBe(0); // nothing half-written
      const discuss = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, full.id) }, w.token(w.mark));
      expect(discuss.errors).toBeUndefined();
      // The organization's default applies to those without a limit of their own.
      await settings({ defaultMaxOpenChats: 1 });
      await createChat(db.dataSource, w.organizationId, roomy.id);
      const other = await createChat(db.dataSource, w.organizationId, w.mark.id);
      expect(codeOf(await server.gql(AssignChatDocument, { input: assignInput(other.id, roomy.id) }, w.token(w.mark)))).toBe("RECIPIENT_AT_CAPACITY");
      // Suggestions leave them out too.
      const names = (await server.gql(SuggestedRecipientsDocument, { chatSessionId: other.id, first: 50 }, w.token(w.mark))).data!.suggestedRecipients.map((s) => s.user.name);
      expect(names).not.toContain("Fay");
      expect(names).not.toContain("Rob");
    } finally {
      await settings({ enforceCapacity: false, defaultMaxOpenChats: 0 });
    }
  });

  it("two accepts of the last free slot at once: one wins, the other is RECIPIENT_AT_CAPACITY", async () => {
    const lena = await createUser(db.dataSource, w.organizationId, { name: "Lena" });
    await createChat(db.dataSource, w.organizationId, lena.id);
    await setLimit(lena, 2); // holds 1: one slot left
    const a = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const b = await createChat(db.dataSource, w.organizationId, w.tom.id);
    const ra = (await server.gql(AssignChatDocument, { input: assignInput(a.id, lena.id) }, w.token(w.mark))).data!.assignChat.id;
    const rb = (await server.gql(AssignChatDocument, { input: assignInput(b.id, lena.id) }, w.token(w.tom))).data!.assignChat.id;
    await settings({ enforceCapacity: true });
    try {
      const [x, y] = await Promise.all([ra, rb].map((id) => server.gql(AcceptAssignmentDocument, { requestId: id }, w.token(lena))));
      const codes = [codeOf(x), codeOf(y)].sort();
      expect(codes).toEqual([undefined, "RECIPIENT_AT_CAPACITY"].sort());
      expect(await openChatsOf(lena)).toBe(2);
      const loser = codeOf(x) ? x : y;
      expect(loser.errors![0].message).toBe("You already hold 2 of 2 open chats");
      // The refused request is still pending: she may reject it, or accept once she has room.
      const [pending] = await db.dataSource.query<Array<{ status: string }>>(`SELECT status FROM assignment_requests WHERE id = $1`, [codeOf(x) ? ra : rb]);
      expect(pending.status).toBe("PENDING");
    } finally {
      await settings({ enforceCapacity: false });
    }
  });

  it("a fallback chain's hop skips someone at capacity", async () => {
    await settings({ enforceCapacity: true, fallbackOnReject: true });
    try {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const sent = await server.gql(AssignChatDocument, { input: { ...assignInput(chat.id, w.martha.id), fallbackRecipientIds: [full.id, roomy.id] } }, w.token(w.mark));
      expect(sent.errors).toBeUndefined();
      const first = sent.data!.assignChat.id;
      expect((await server.gql(RejectAssignmentDocument, { requestId: first, reason: "In a meeting" }, w.token(w.martha))).errors).toBeUndefined();
      const chain = await server.gql(AssignmentChainDocument, { id: first }, w.token(w.mark));
      const hop = chain.data!.assignmentRequest!.nextRequest!;
      expect(hop).toMatchObject({ hop: 2, recipient: { id: roomy.id } });
    } finally {
      await settings({ enforceCapacity: false, fallbackOnReject: false });
    }
  });
});
