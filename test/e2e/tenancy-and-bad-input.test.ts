import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AssignmentRequestDocument,
  AssignmentRequestsDocument,
  ChatSessionDocument,
  ChatSessionsDocument,
  CloseChatSessionDocument,
  EngagementTrackingRecordsDocument,
  MarkNotificationsReadDocument,
  MeDocument,
  UpsertUserDocument,
  NotificationsDocument,
  OpenChatSessionDocument,
  RejectAssignmentDocument,
  UsersDocument,
  WithdrawAssignmentDocument,
  RecordCustomerMessageDocument,
  SetMaxOpenChatsDocument,
  SuggestedRecipientsDocument,
} from "../../schema/generated/graphql";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createUser, createWorld, TEST_JWT_SECRET, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";

let db: TestDatabase;
let server: TestServer;
let w: World;
let other: World;
let requestId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource, { bodyLimitBytes: 20_000 });
  w = await createWorld(db.dataSource, "Acme");
  other = await createWorld(db.dataSource, "Globex");
  const sent = await server.gql(AssignChatDocument, { input: assignInput(other.chat.id, other.martha.id) }, other.token(other.mark));
  requestId = sent.data!.assignChat.id;
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe("another organization's ids behave like ids that do not exist", () => {
  it("on every query and mutation that takes an id", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    const asAdmin = w.token(w.admin);
    const probes = (id: { chat: string; request: string; user: string }) => [
      server.gql(ChatSessionDocument, { id: id.chat }, asAdmin),
      server.gql(CloseChatSessionDocument, { id: id.chat }, asAdmin),
      server.gql(AssignChatDocument, { input: assignInput(id.chat, w.martha.id) }, asAdmin),
      server.gql(AssignmentRequestDocument, { id: id.request }, asAdmin),
      server.gql(AcceptAssignmentDocument, { requestId: id.request }, asAdmin),
      server.gql(RejectAssignmentDocument, { requestId: id.request, reason: "x" }, asAdmin),
      server.gql(WithdrawAssignmentDocument, { requestId: id.request, reason: "x" }, asAdmin),
      server.gql(OpenChatSessionDocument, { input: { customerName: "C", customerPhone: "+14155550100", ownerId: id.user } }, asAdmin),
      // Issue #24.
      server.gql(SuggestedRecipientsDocument, { chatSessionId: id.chat }, asAdmin),
      server.gql(SetMaxOpenChatsDocument, { userId: id.user, maxOpenChats: 3 }, asAdmin),
      server.gql(RecordCustomerMessageDocument, { chatSessionId: id.chat, at: new Date().toISOString() }, asAdmin),
    ];
    const foreign = await Promise.all(probes({ chat: other.chat.id, request: requestId, user: other.mark.id }));
    const absent = await Promise.all(probes({ chat: missing, request: missing, user: missing }));
    expect(foreign.map(codeOf)).toEqual(absent.map(codeOf));
    expect(new Set(foreign.map(codeOf))).toEqual(new Set(["NOT_FOUND"]));
    expect(foreign.map((r) => r.errors?.[0]?.message)).toEqual(absent.map((r) => r.errors?.[0]?.message));

    // Recipients from elsewhere are simply not valid recipients, like unknown ones.
    const foreignRecipient = await server.gql(AssignChatDocument, { input: assignInput(w.chat.id, other.martha.id) }, w.token(w.mark));
    const unknownRecipient = await server.gql(AssignChatDocument, { input: assignInput(w.chat.id, missing) }, w.token(w.mark));
    expect(codeOf(foreignRecipient)).toBe("INVALID_RECIPIENT");
    expect(foreignRecipient.errors?.[0]?.message).toBe(unknownRecipient.errors?.[0]?.message);

    // Lists and filters never reach across.
    const lists = await Promise.all([
      server.gql(ChatSessionsDocument, { filter: { ownerId: other.mark.id } }, asAdmin),
      server.gql(AssignmentRequestsDocument, { filter: { chatSessionId: other.chat.id } }, asAdmin),
      server.gql(EngagementTrackingRecordsDocument, { filter: { userId: other.mark.id } }, asAdmin),
    ]);
    expect(lists[0].data!.chatSessions.edges).toEqual([]);
    expect(lists[1].data!.assignmentRequests.edges).toEqual([]);
    expect(lists[2].data!.engagementTrackingRecords.edges).toEqual([]);
    const users = await server.gql(UsersDocument, {}, asAdmin);
    expect(users.data!.users.map((u) => u.id)).not.toContain(other.mark.id);

    // Marking someone else's notification read changes nothing.
    const theirs = await server.gql(NotificationsDocument, {}, other.token(other.martha));
    const ids = theirs.data!.notifications.edges.map((e) => e.node.id);
    expect(ids.length).toBeGreaterThan(0);
    const marked = await server.gql(MarkNotificationsReadDocument, { ids }, asAdmin);
    expect(marked.data!.markNotificationsRead).toBe(0);
    const still = await server.gql(NotificationsDocument, { unreadOnly: true }, other.token(other.martha));
    expect(still.data!.notifications.edges).toHaveLength(ids.length);

    // Nothing of theirs was touched.
    const request = await server.gql(AssignmentRequestDocument, { id: requestId }, other.token(other.martha));
    expect(request.data!.assignmentRequest!.status).toBe("PENDING");
  });
});

describe("authentication", () => {
  it("no token, a forged token, an expired token, a deactivated user: UNAUTHENTICATED", async () => {
    const forged = jwt.sign({}, "not-the-secret-at-all", { subject: w.mark.id, algorithm: "HS256" });
    const expired = jwt.sign({ exp: Math.floor(Date.now() / 1000) - 10 }, TEST_JWT_SECRET, { subject: w.mark.id });
    const noneAlg = jwt.sign({}, "", { subject: w.mark.id, algorithm: "none" });
    const badSub = jwt.sign({}, TEST_JWT_SECRET, { subject: "42" });
    for (const token of [undefined, forged, expired, noneAlg, badSub, "garbage"]) {
      const res = await server.gql(MeDocument, {}, token);
      expect(codeOf(res)).toBe("UNAUTHENTICATED");
      expect(res.data).toBeNull();
    }
    const ok = await server.gql(MeDocument, {}, w.token(w.mark));
    expect(ok.data!.me.name).toBe("Mark");
  });

  it("an admin's change to a user holds from their next request: the authentication cache drops them", async () => {
    const user = await createUser(db.dataSource, w.organizationId, { name: "Cached Carl" });
    const token = w.token(user);
    expect((await server.gql(MeDocument, {}, token)).data!.me.role).toBe("USER"); // now cached
    const promote = await server.gql(UpsertUserDocument, { input: { email: user.email, name: "Cached Carl", role: "MANAGER" } }, w.token(w.admin));
    expect(promote.errors).toBeUndefined();
    expect((await server.gql(MeDocument, {}, token)).data!.me.role).toBe("MANAGER");
    const deactivate = await server.gql(UpsertUserDocument, { input: { email: user.email, name: "Cached Carl", role: "MANAGER", active: false } }, w.token(w.admin));
    expect(deactivate.errors).toBeUndefined();
    expect(codeOf(await server.gql(MeDocument, {}, token))).toBe("UNAUTHENTICATED");
  });
});

describe("bad input", () => {
  it("malformed ids, page sizes and cursors are BAD_USER_INPUT", async () => {
    const t = w.token(w.maria);
    const results = await Promise.all([
      server.gql(ChatSessionDocument, { id: "42" }, t),
      server.gql(AcceptAssignmentDocument, { requestId: "'; DROP TABLE users; --" }, t),
      server.gql(AssignChatDocument, { input: assignInput("nope", w.martha.id) }, t),
      server.gql(ChatSessionsDocument, { first: 0 }, t),
      server.gql(ChatSessionsDocument, { first: 101 }, t),
      server.gql(AssignmentRequestsDocument, { after: "bm90LWEtY3Vyc29y" }, t),
      server.gql(MarkNotificationsReadDocument, { ids: ["x"] }, t),
      server.gql(OpenChatSessionDocument, { input: { customerName: "C", customerPhone: "555-0100", ownerId: w.mark.id } }, w.token(w.admin)),
      server.gql(OpenChatSessionDocument, { input: { customerName: "  ", customerPhone: "+14155550100", ownerId: w.mark.id } }, w.token(w.admin)),
      server.gql(AssignChatDocument, { input: { ...assignInput(w.chat.id, w.martha.id), note: "x".repeat(1001) } }, w.token(w.mark)),
    ]);
    expect(results.map(codeOf)).toEqual(Array(results.length).fill("BAD_USER_INPUT"));
    const chats = await server.gql(ChatSessionsDocument, { first: 100 }, t);
    expect(chats.data!.chatSessions.edges).toHaveLength(1);
    expect(chats.data!.chatSessions.edges[0].node.pendingRequest).toBeNull();
  });

  it("an enum value that does not exist is refused before any resolver runs", async () => {
    const res = await server.raw(
      { query: `mutation { assignChat(input: { chatSessionId: "${w.chat.id}", recipientId: "${w.martha.id}", recipientType: BOSS }) { id } }` },
      w.token(w.mark),
    );
    expect(codeOf(res)).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("queries nested too deep or too wide are QUERY_TOO_COMPLEX", async () => {
    const deep = `{ chatSessions { edges { node { pendingRequest { chatSession { pendingRequest { chatSession { pendingRequest { chatSession { owner { id } } } } } } } } } } }`; // 11 levels
    const res = await server.raw({ query: deep }, w.token(w.mark));
    expect(codeOf(res)).toBe("QUERY_TOO_COMPLEX");
    const wide = `{ ${Array.from({ length: 2001 }, (_, i) => `a${i}: me { id }`).join(" ")} }`;
    const big = await server.raw({ query: wide }, w.token(w.mark));
    expect(["QUERY_TOO_COMPLEX", "PAYLOAD_TOO_LARGE"]).toContain(codeOf(big));
    const fine = await server.raw({ query: `{ me { id } }` }, w.token(w.mark));
    expect(fine.errors).toBeUndefined();
  });

  it("a body over the limit is PAYLOAD_TOO_LARGE (413); broken JSON is BAD_USER_INPUT", async () => {
    const huge = await server.raw({ query: `{ me { id } }`, variables: { pad: "x".repeat(30_000) } }, w.token(w.mark));
    expect(huge.status).toBe(413);
    expect(codeOf(huge)).toBe("PAYLOAD_TOO_LARGE");
    const broken = await server.raw(`{"query": "{ me { id } }"`, w.token(w.mark));
    expect(broken.status).toBe(400);
    expect(codeOf(broken)).toBe("BAD_USER_INPUT");
  });
});
