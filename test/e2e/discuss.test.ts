import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AssignmentRequestsDocument,
  BulkAssignChatsDocument,
  CloseChatSessionDocument,
  DiscussChatDocument,
  DiscussionDocument,
  DiscussionMessageAddedDocument,
  DiscussionsDocument,
  EndDiscussionDocument,
  NotificationsDocument,
  PostDiscussionMessageDocument,
  RejectAssignmentDocument,
  RequestWithDiscussionDocument,
  UpdateAssignDiscussSettingsDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";
import { connect, subscribe } from "../support/ws-client";
import { sleep, until } from "../support/wait";

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

const count = (sql: string, params: unknown[]) => countRows(db.dataSource, sql, params);

/** Mark asks Martha to discuss a new chat of his; Martha accepts. Returns the chat, request and discussion ids. */
async function openDiscussion(owner = w.mark, consultant = w.martha) {
  const chat = await createChat(db.dataSource, w.organizationId, owner.id);
  const sent = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, consultant.id) }, w.token(owner));
  expect(sent.errors).toBeUndefined();
  const requestId = sent.data!.discussChat.id;
  const accepted = await server.gql(AcceptAssignmentDocument, { requestId }, w.token(consultant));
  expect(accepted.errors).toBeUndefined();
  const read = await server.gql(RequestWithDiscussionDocument, { id: requestId }, w.token(owner));
  const discussionId = read.data!.assignmentRequest!.discussion!.id;
  return { chat, requestId, discussionId };
}

describe("Discuss: the story", () => {
  it("Mark discusses a chat with Martha: told, accepted, messages live, Maria reads, Tom cannot, Mark ends it; the chat stays Mark's", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await server.gql(DiscussChatDocument, { input: { ...assignInput(chat.id, w.martha.id), note: "Refund question" } }, w.token(w.mark));
    expect(sent.errors).toBeUndefined();
    const request = sent.data!.discussChat;
    expect(request).toMatchObject({ kind: "DISCUSS", status: "PENDING", discussion: null });
    expect(request.trackingRecord?.kind).toBe("DISCUSS_REQUEST");
    expect(request.timeoutSeconds).toBe(120);

    // Martha is told, in the feature page's words.
    const inbox = await server.gql(NotificationsDocument, { first: 5 }, w.token(w.martha));
    expect(inbox.data!.notifications.edges.map((e) => e.node.message)).toContain("Mark has requested to discuss with you.");

    const accepted = await server.gql(AcceptAssignmentDocument, { requestId: request.id }, w.token(w.martha));
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.acceptAssignment).toMatchObject({ kind: "DISCUSS", status: "ACCEPTED" });
    expect(accepted.data!.acceptAssignment.chatSession.owner.id).toBe(w.mark.id); // the owner does not change
    const read = await server.gql(RequestWithDiscussionDocument, { id: request.id }, w.token(w.mark));
    const discussion = read.data!.assignmentRequest!.discussion!;
    expect(discussion).toMatchObject({ status: "ACTIVE", requester: { id: w.mark.id }, consultant: { id: w.martha.id }, endedAt: null });
    expect(read.data!.assignmentRequest!.trackingRecord).toMatchObject({ status: "ACCEPTED", discussionId: discussion.id });

    // Messages, live over graphql-ws, to the participants and a manager following it.
    const mark = connect(server.url, w.token(w.mark));
    const maria = connect(server.url, w.token(w.maria));
    const tom = connect(server.url, w.token(w.tom));
    try {
      const markSub = subscribe(mark, DiscussionMessageAddedDocument, { discussionId: discussion.id });
      const mariaSub = subscribe(maria, DiscussionMessageAddedDocument, { discussionId: discussion.id });
      const tomSub = subscribe(tom, DiscussionMessageAddedDocument, { discussionId: discussion.id });
      const refused = await tomSub.next();
      expect(refused.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
      await until(() => server.app.websocket.connectionCount() >= 3);
      await sleep(100);

      const first = await server.gql(PostDiscussionMessageDocument, { discussionId: discussion.id, body: "  Can we refund this one?  " }, w.token(w.martha));
      expect(first.errors).toBeUndefined();
      expect(first.data!.postDiscussionMessage).toMatchObject({ body: "Can we refund this one?", author: { id: w.martha.id } });
      const second = await server.gql(PostDiscussionMessageDocument, { discussionId: discussion.id, body: "Yes, under 50 EUR." }, w.token(w.mark));
      expect(second.errors).toBeUndefined();

      for (const sub of [markSub, mariaSub]) {
        expect((await sub.next(2_000)).data?.discussionMessageAdded.body).toBe("Can we refund this one?");
        expect((await sub.next(2_000)).data?.discussionMessageAdded.body).toBe("Yes, under 50 EUR.");
      }
    } finally {
      await Promise.all([mark, maria, tom].map(async (c) => c.dispose()));
    }

    // Maria (manager) reads them, oldest first; Tom and another organization cannot.
    const mariaRead = await server.gql(DiscussionDocument, { id: discussion.id, first: 10 }, w.token(w.maria));
    expect(mariaRead.data!.discussion!.messages.edges.map((e) => e.node.body)).toEqual(["Can we refund this one?", "Yes, under 50 EUR."]);
    expect(codeOf(await server.gql(DiscussionDocument, { id: discussion.id }, w.token(w.tom)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(DiscussionDocument, { id: discussion.id }, other.token(other.maria)))).toBe("NOT_FOUND");
    const tomsList = await server.gql(DiscussionsDocument, {}, w.token(w.tom));
    expect(tomsList.data!.discussions.edges.map((e) => e.node.id)).not.toContain(discussion.id);
    const mariasList = await server.gql(DiscussionsDocument, { filter: { status: "ACTIVE", chatSessionId: chat.id } }, w.token(w.maria));
    expect(mariasList.data!.discussions.edges.map((e) => e.node.id)).toEqual([discussion.id]);

    // Mark ends it with a reason; Martha is told; the record is ENDED with the messages counted.
    const ended = await server.gql(EndDiscussionDocument, { discussionId: discussion.id, reason: "Sorted" }, w.token(w.mark));
    expect(ended.errors).toBeUndefined();
    expect(ended.data!.endDiscussion).toMatchObject({ status: "ENDED", endReason: "Sorted", endedBy: { id: w.mark.id }, messageCount: 2 });
    expect(ended.data!.endDiscussion.chatSession.owner.id).toBe(w.mark.id);
    const after = await server.gql(RequestWithDiscussionDocument, { id: request.id }, w.token(w.mark));
    expect(after.data!.assignmentRequest!.trackingRecord).toMatchObject({ status: "ENDED", endReason: "Sorted", messageCount: 2 });
    expect(await count(`notifications WHERE user_id = $1 AND type = 'DISCUSSION_ENDED' AND request_id = $2`, [w.martha.id, request.id])).toBe(1);
    expect(await count(`notifications WHERE user_id = $1 AND type = 'DISCUSSION_ENDED' AND request_id = $2`, [w.mark.id, request.id])).toBe(0);
    expect(await count(`assignment_events WHERE request_id = $1 AND type = 'DISCUSSION_ENDED'`, [request.id])).toBe(1);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chat.id, w.mark.id])).toBe(1);
  });
});

describe("Discuss: rules", () => {
  it("a chat may have a pending assign and a pending discuss at once, but one of each", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const discuss = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const assign = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark));
    expect(discuss.errors).toBeUndefined();
    expect(assign.errors).toBeUndefined();
    expect(codeOf(await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark)))).toBe("ASSIGNMENT_ALREADY_PENDING");
    const both = await server.gql(AssignmentRequestsDocument, { filter: { chatSessionId: chat.id, status: "PENDING" } }, w.token(w.mark));
    expect(both.data!.assignmentRequests.edges.map((e) => e.node.kind).sort()).toEqual(["ASSIGN", "DISCUSS"]);
    const onlyDiscuss = await server.gql(AssignmentRequestsDocument, { filter: { chatSessionId: chat.id, kind: "DISCUSS" } }, w.token(w.mark));
    expect(onlyDiscuss.data!.assignmentRequests.edges.map((e) => e.node.kind)).toEqual(["DISCUSS"]);
  });

  it("accepting the assign of a chat ends its discussion and cancels its pending discuss, in the same transaction", async () => {
    const { chat, discussionId } = await openDiscussion();
    const pendingDiscuss = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.maria.id, RecipientType.MANAGER) }, w.token(w.mark));
    expect(pendingDiscuss.errors).toBeUndefined();
    const assign = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark));
    const accepted = await server.gql(AcceptAssignmentDocument, { requestId: assign.data!.assignChat.id }, w.token(w.tom));
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.acceptAssignment.chatSession.owner.id).toBe(w.tom.id);
    const discussion = await server.gql(DiscussionDocument, { id: discussionId }, w.token(w.mark));
    expect(discussion.data!.discussion).toMatchObject({ status: "ENDED", endedBy: null });
    expect(discussion.data!.discussion!.endReason).toMatch(/took the chat over/);
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'CANCELLED'`, [pendingDiscuss.data!.discussChat.id])).toBe(1);
    // Both participants are told (nobody ended it).
    expect(await count(`notifications WHERE type = 'DISCUSSION_ENDED' AND user_id = ANY($1) AND request_id IN (SELECT request_id FROM discussions WHERE id = $2)`, [[w.mark.id, w.martha.id], discussionId])).toBe(2);
  });

  it("closing the chat ends its discussion by itself", async () => {
    const { chat, discussionId } = await openDiscussion();
    expect((await server.gql(CloseChatSessionDocument, { id: chat.id }, w.token(w.mark))).errors).toBeUndefined();
    const discussion = await server.gql(DiscussionDocument, { id: discussionId }, w.token(w.martha));
    expect(discussion.data!.discussion).toMatchObject({ status: "ENDED", endedBy: null, endReason: "The chat was closed" });
    expect(codeOf(await server.gql(PostDiscussionMessageDocument, { discussionId, body: "Still there?" }, w.token(w.martha)))).toBe("DISCUSSION_ENDED");
  });

  it("reject and withdraw act on DISCUSS requests with the same rules and codes", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const a = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    expect(codeOf(await server.gql(RejectAssignmentDocument, { requestId: a.data!.discussChat.id, reason: "x" }, w.token(w.tom)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(RejectAssignmentDocument, { requestId: a.data!.discussChat.id, reason: " " }, w.token(w.martha)))).toBe("BAD_USER_INPUT");
    const rejected = await server.gql(RejectAssignmentDocument, { requestId: a.data!.discussChat.id, reason: "In a meeting" }, w.token(w.martha));
    expect(rejected.data!.rejectAssignment).toMatchObject({ kind: "DISCUSS", status: "REJECTED" });
    expect(await count(`notifications WHERE user_id = $1 AND type = 'DISCUSSION_REJECTED' AND message LIKE '%In a meeting'`, [w.mark.id])).toBe(1);

    const b = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    expect(codeOf(await server.gql(WithdrawAssignmentDocument, { requestId: b.data!.discussChat.id, reason: "x" }, w.token(w.martha)))).toBe("FORBIDDEN");
    const withdrawn = await server.gql(WithdrawAssignmentDocument, { requestId: b.data!.discussChat.id, reason: "Solved it" }, w.token(w.mark));
    expect(withdrawn.data!.withdrawAssignment).toMatchObject({ kind: "DISCUSS", status: "WITHDRAWN" });
    expect(await count(`notifications WHERE user_id = $1 AND type = 'DISCUSSION_WITHDRAWN' AND request_id = $2`, [w.martha.id, b.data!.discussChat.id])).toBe(1);
    expect(codeOf(await server.gql(AcceptAssignmentDocument, { requestId: b.data!.discussChat.id }, w.token(w.martha)))).toBe("REQUEST_NOT_PENDING");
  });

  it("the discuss deadline comes from discussRequestTimeoutSeconds; bad values are refused", async () => {
    const org = await createWorld(db.dataSource, "Initech");
    const set = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { discussRequestTimeoutSeconds: 30 } }, org.token(org.admin));
    expect(set.errors).toBeUndefined();
    expect(set.data!.updateAssignDiscussSettings).toMatchObject({ discussRequestTimeoutSeconds: 30, assignRequestTimeoutSeconds: 120 });
    const sent = await server.gql(DiscussChatDocument, { input: assignInput(org.chat.id, org.martha.id) }, org.token(org.mark));
    expect(sent.data!.discussChat.timeoutSeconds).toBe(30);
    for (const bad of [4, 86_401, 1.5]) {
      expect(codeOf(await server.gql(UpdateAssignDiscussSettingsDocument, { input: { discussRequestTimeoutSeconds: bad } }, org.token(org.admin)))).toBe("BAD_USER_INPUT");
    }
  });

  it("a DISCUSS request times out like an assign request: TIMED_OUT, both told; a late accept is REQUEST_EXPIRED", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const a = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const b = await server.gql(DiscussChatDocument, { input: assignInput((await createChat(db.dataSource, w.organizationId, w.mark.id)).id, w.martha.id) }, w.token(w.mark));
    const [ida, idb] = [a.data!.discussChat.id, b.data!.discussChat.id];
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [ida]);
    expect(await server.app.services.handovers.timeOutDue()).toContain(ida);
    expect(await count(`notifications WHERE request_id = $1 AND type = 'DISCUSSION_TIMED_OUT'`, [ida])).toBe(2);
    expect(await count(`engagement_tracking_records WHERE request_id = $1 AND status = 'TIMED_OUT' AND kind = 'DISCUSS_REQUEST'`, [ida])).toBe(1);
    expect(codeOf(await server.gql(AcceptAssignmentDocument, { requestId: ida }, w.token(w.martha)))).toBe("REQUEST_NOT_PENDING");
    // Past its deadline and not yet timed out by anyone: the accept commits the time-out and fails.
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [idb]);
    expect(codeOf(await server.gql(AcceptAssignmentDocument, { requestId: idb }, w.token(w.martha)))).toBe("REQUEST_EXPIRED");
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'TIMED_OUT'`, [idb])).toBe(1);
    expect(await count(`discussions WHERE request_id = $1`, [idb])).toBe(0);
  });

  it("accept against withdraw, raced: one winner, and at most one discussion", async () => {
    for (let round = 0; round < 10; round++) {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const sent = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
      const id = sent.data!.discussChat.id;
      const [accept, withdraw] = await Promise.all([
        server.gql(AcceptAssignmentDocument, { requestId: id }, w.token(w.martha)),
        server.gql(WithdrawAssignmentDocument, { requestId: id, reason: "Never mind" }, w.token(w.mark)),
      ]);
      const winners = [accept, withdraw].filter((r) => !r.errors);
      expect(winners).toHaveLength(1);
      expect(codeOf([accept, withdraw].find((r) => r.errors)!)).toBe("REQUEST_NOT_PENDING");
      expect(await count(`discussions WHERE request_id = $1`, [id])).toBe(accept.errors ? 0 : 1);
      expect(await count(`assignment_events WHERE request_id = $1`, [id])).toBe(2);
    }
  });
});

describe("Discuss: races and chat changes", () => {
  it("accept against withdraw against the deadline: exactly one wins, with its record and events", async () => {
    for (let round = 0; round < 8; round++) {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const sent = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
      const id = sent.data!.discussChat.id;
      // The deadline falls while the three race.
      await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() + interval '15 milliseconds' WHERE id = $1`, [id]);
      await sleep(10);
      await Promise.allSettled([
        server.gql(AcceptAssignmentDocument, { requestId: id }, w.token(w.martha)),
        server.gql(WithdrawAssignmentDocument, { requestId: id, reason: "Never mind" }, w.token(w.mark)),
        sleep(8).then(() => server.app.services.handovers.timeOutDue()),
      ]);
      await sleep(20);
      await server.app.services.handovers.timeOutDue();
      const [row] = await db.dataSource.query<Array<{ status: string }>>(`SELECT status FROM assignment_requests WHERE id = $1`, [id]);
      expect(["ACCEPTED", "WITHDRAWN", "TIMED_OUT"]).toContain(row.status);
      expect(await count(`engagement_tracking_records WHERE request_id = $1 AND status = $2`, [id, row.status])).toBe(1);
      expect(await count(`assignment_events WHERE request_id = $1`, [id])).toBe(2);
      expect(await count(`discussions WHERE request_id = $1`, [id])).toBe(row.status === "ACCEPTED" ? 1 : 0);
    }
  });

  it("a bulk assignment of the chat ends its discussion and cancels its pending discuss", async () => {
    const { chat, discussionId } = await openDiscussion();
    const pending = await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark));
    const moved = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId: w.tom.id } }, w.token(w.maria));
    expect(moved.data!.bulkAssignChats.assignedCount).toBe(1);
    const discussion = await server.gql(DiscussionDocument, { id: discussionId }, w.token(w.maria));
    expect(discussion.data!.discussion).toMatchObject({ status: "ENDED", endedBy: null });
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'CANCELLED'`, [pending.data!.discussChat.id])).toBe(1);
  });
});

describe("Discuss: bad input", () => {
  it("messages: empty and 4,001 characters are BAD_USER_INPUT; a manager may read but not write; a stranger gets NOT_FOUND", async () => {
    const { discussionId } = await openDiscussion();
    for (const body of ["", "   ", "x".repeat(4_001)]) {
      expect(codeOf(await server.gql(PostDiscussionMessageDocument, { discussionId, body }, w.token(w.mark)))).toBe("BAD_USER_INPUT");
    }
    expect((await server.gql(PostDiscussionMessageDocument, { discussionId, body: "x".repeat(4_000) }, w.token(w.mark))).errors).toBeUndefined();
    expect(codeOf(await server.gql(PostDiscussionMessageDocument, { discussionId, body: "hi" }, w.token(w.maria)))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(PostDiscussionMessageDocument, { discussionId, body: "hi" }, w.token(w.tom)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(PostDiscussionMessageDocument, { discussionId, body: "hi" }, other.token(other.mark)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(PostDiscussionMessageDocument, { discussionId: "nope", body: "hi" }, w.token(w.mark)))).toBe("BAD_USER_INPUT");
    expect(await count(`discussion_messages WHERE discussion_id = $1`, [discussionId])).toBe(1);
  });

  it("ending: twice is DISCUSSION_ENDED; another organization's id is NOT_FOUND; a manager may end it; the reason is bounded", async () => {
    const { discussionId } = await openDiscussion();
    expect(codeOf(await server.gql(EndDiscussionDocument, { discussionId }, other.token(other.maria)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(EndDiscussionDocument, { discussionId }, w.token(w.tom)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(EndDiscussionDocument, { discussionId, reason: "x".repeat(501) }, w.token(w.maria)))).toBe("BAD_USER_INPUT");
    const ended = await server.gql(EndDiscussionDocument, { discussionId }, w.token(w.maria));
    expect(ended.data!.endDiscussion).toMatchObject({ status: "ENDED", endedBy: { id: w.maria.id }, endReason: null });
    expect(codeOf(await server.gql(EndDiscussionDocument, { discussionId }, w.token(w.mark)))).toBe("DISCUSSION_ENDED");
    expect(codeOf(await server.gql(PostDiscussionMessageDocument, { discussionId, body: "late" }, w.token(w.martha)))).toBe("DISCUSSION_ENDED");
    // Both participants were told: a manager ended it.
    expect(await count(`notifications WHERE type = 'DISCUSSION_ENDED' AND request_id IN (SELECT request_id FROM discussions WHERE id = $1)`, [discussionId])).toBe(2);
  });

  it("discussChat to oneself, to the owner, to an inactive user or across organizations is refused and writes nothing", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const inactive = await createUser(db.dataSource, w.organizationId, { name: "Gone", active: false });
    const cases: Array<[string, string, string]> = [
      [w.mark.id, "INVALID_RECIPIENT", "oneself (the owner)"],
      [inactive.id, "INVALID_RECIPIENT", "inactive"],
      [other.martha.id, "INVALID_RECIPIENT", "another organization's user"],
    ];
    for (const [recipientId, code] of cases) {
      expect(codeOf(await server.gql(DiscussChatDocument, { input: assignInput(chat.id, recipientId) }, w.token(w.mark)))).toBe(code);
    }
    // A manager discussing someone else's chat with themselves.
    expect(codeOf(await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.maria.id, RecipientType.MANAGER) }, w.token(w.maria)))).toBe("INVALID_RECIPIENT");
    expect(codeOf(await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.tom)))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(DiscussChatDocument, { input: assignInput(chat.id, w.martha.id) }, other.token(other.mark)))).toBe("NOT_FOUND");
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chat.id])).toBe(0);
  });
});
