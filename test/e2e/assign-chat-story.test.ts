import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AssignmentRequestsDocument,
  ChatSessionDocument,
  EngagementTrackingRecordsDocument,
  NotificationsDocument,
  RejectAssignmentDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";

let db: TestDatabase;
let server: TestServer;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe("the feature page's story, over HTTP", () => {
  it("Mark assigns a chat to Martha, she is told, accepts, and the chat is hers", async () => {
    const assigned = await server.gql(AssignChatDocument, { input: { ...assignInput(w.chat.id, w.martha.id), note: "Customer wants a refund" } }, w.token(w.mark));
    expect(assigned.errors).toBeUndefined();
    const request = assigned.data!.assignChat;
    expect(request.status).toBe("PENDING");
    expect(request.sender.name).toBe("Mark");
    expect(request.recipient.name).toBe("Martha");
    expect(request.timeoutSeconds).toBe(120);
    expect(new Date(request.expiresAt).getTime() - new Date(request.createdAt).getTime()).toBe(120_000);
    expect(request.trackingRecord.status).toBe("PENDING");
    expect(request.trackingRecord.kind).toBe("ASSIGN_REQUEST");
    expect(request.trackingRecord.fromUser.name).toBe("Mark");

    const inbox = await server.gql(NotificationsDocument, { unreadOnly: true }, w.token(w.martha));
    expect(inbox.data!.notifications.edges.map((e) => e.node.message)).toEqual(["Mark has sent you a chat assignment request."]);
    expect(inbox.data!.notifications.edges[0].node.request!.id).toBe(request.id);

    const incoming = await server.gql(AssignmentRequestsDocument, { filter: { direction: "INCOMING", status: "PENDING" } }, w.token(w.martha));
    expect(incoming.data!.assignmentRequests.edges.map((e) => e.node.id)).toEqual([request.id]);

    const accepted = await server.gql(AcceptAssignmentDocument, { requestId: request.id }, w.token(w.martha));
    expect(accepted.errors).toBeUndefined();
    const done = accepted.data!.acceptAssignment;
    expect(done.status).toBe("ACCEPTED");
    expect(done.respondedAt).not.toBeNull();
    expect(done.chatSession.owner.name).toBe("Martha");
    expect(done.trackingRecord.status).toBe("ACCEPTED");
    expect(done.trackingRecord.respondedBy!.name).toBe("Martha");
    expect(done.trackingRecord.responseSeconds).toBeGreaterThanOrEqual(0);
    expect(done.trackingRecord.responseSeconds).toBeCloseTo(
      (new Date(done.respondedAt!).getTime() - new Date(done.createdAt).getTime()) / 1000,
      3,
    );

    const chat = await server.gql(ChatSessionDocument, { id: w.chat.id }, w.token(w.martha));
    expect(chat.data!.chatSession!.owner.id).toBe(w.martha.id);
    expect(chat.data!.chatSession!.pendingRequest).toBeNull();

    const marksInbox = await server.gql(NotificationsDocument, {}, w.token(w.mark));
    expect(marksInbox.data!.notifications.edges.map((e) => e.node.message)).toEqual(["Martha accepted your chat assignment request."]);
  });

  it("a reject without a reason is BAD_USER_INPUT and changes nothing; with one, Mark is told why", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const id = sent.data!.assignChat.id;
    const before = await db.dataSource.query(`SELECT count(*)::int AS n FROM assignment_events WHERE request_id = $1`, [id]);

    for (const reason of ["", "   ", "x".repeat(501)]) {
      const bad = await server.gql(RejectAssignmentDocument, { requestId: id, reason }, w.token(w.martha));
      expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    }
    const missing = await server.raw({ query: `mutation($id: ID!) { rejectAssignment(requestId: $id) { id } }`, variables: { id } }, w.token(w.martha));
    expect(codeOf(missing)).toBe("GRAPHQL_VALIDATION_FAILED");

    const still = await server.gql(ChatSessionDocument, { id: chat.id }, w.token(w.martha));
    expect(still.data!.chatSession!.pendingRequest!.id).toBe(id);
    const after = await db.dataSource.query(`SELECT count(*)::int AS n FROM assignment_events WHERE request_id = $1`, [id]);
    expect(after).toEqual(before);

    const rejected = await server.gql(RejectAssignmentDocument, { requestId: id, reason: "  In a meeting  " }, w.token(w.martha));
    expect(rejected.data!.rejectAssignment.status).toBe("REJECTED");
    expect(rejected.data!.rejectAssignment.reason).toBe("In a meeting");
    expect(rejected.data!.rejectAssignment.chatSession.owner.id).toBe(w.mark.id);
    expect(rejected.data!.rejectAssignment.trackingRecord.status).toBe("REJECTED");
    expect(rejected.data!.rejectAssignment.trackingRecord.reason).toBe("In a meeting");

    const inbox = await server.gql(NotificationsDocument, { first: 1 }, w.token(w.mark));
    expect(inbox.data!.notifications.edges[0].node.message).toBe("Martha rejected your chat assignment request: In a meeting");
  });

  it("a withdraw without a reason is BAD_USER_INPUT; with one, Martha is told and the record says WITHDRAWN", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const id = sent.data!.assignChat.id;

    const bad = await server.gql(WithdrawAssignmentDocument, { requestId: id, reason: " " }, w.token(w.mark));
    expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    const pending = await server.gql(ChatSessionDocument, { id: chat.id }, w.token(w.mark));
    expect(pending.data!.chatSession!.pendingRequest!.status).toBe("PENDING");

    const withdrawn = await server.gql(WithdrawAssignmentDocument, { requestId: id, reason: "No longer needed" }, w.token(w.mark));
    expect(withdrawn.data!.withdrawAssignment.status).toBe("WITHDRAWN");
    expect(withdrawn.data!.withdrawAssignment.trackingRecord.status).toBe("WITHDRAWN");

    const inbox = await server.gql(NotificationsDocument, { first: 1 }, w.token(w.martha));
    expect(inbox.data!.notifications.edges[0].node.message).toBe("Mark withdrew the chat assignment request: No longer needed");

    const records = await server.gql(EngagementTrackingRecordsDocument, { filter: { chatSessionId: chat.id } }, w.token(w.maria));
    expect(records.data!.engagementTrackingRecords.edges.map((e) => e.node.status)).toEqual(["WITHDRAWN"]);
  });
});
