import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  AssignmentEventsDocument,
  AssignmentEventsSinceDocument,
  BulkAssignChatsDocument,
  ChatSessionUpdatedDocument,
  NotificationReceivedDocument,
  RejectAssignmentDocument,
  UpsertUserDocument,
  UsersOnlineDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, TEST_JWT_SECRET, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";
import { connect, rawSocket, subscribe } from "../support/ws-client";
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



describe("assignmentEvents over graphql-ws", () => {
  it("the recipient hears CREATED within a second, the sender ACCEPTED; nobody else hears anything", async () => {
    const martha = connect(server.url, w.token(w.martha));
    const mark = connect(server.url, w.token(w.mark));
    const tom = connect(server.url, w.token(w.tom));
    const globexBoss = connect(server.url, other.token(other.maria));
    try {
      const marthaSub = subscribe(martha, AssignmentEventsDocument, {});
      const markSub = subscribe(mark, AssignmentEventsDocument, {});
      const tomSub = subscribe(tom, AssignmentEventsDocument, {});
      const outsider = subscribe(globexBoss, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      const tomsOrgWide = subscribe(tom, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      const refused = await tomsOrgWide.next();
      expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect(await tomsOrgWide.ended).toBe("complete");
      await until(() => server.app.websocket.connectionCount() === 4);
      await sleep(100); // subscriptions registered on the server

      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const started = Date.now();
      const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
      const created = await marthaSub.next(1_000);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(created.data!.assignmentEvents.type).toBe("CREATED");
      expect(created.data!.assignmentEvents.request!.id).toBe(sent.data!.assignChat.id);
      expect(created.data!.assignmentEvents.request!.sender.name).toBe("Mark");
      expect(created.data!.assignmentEvents.trackingRecord.status).toBe("PENDING");
      expect((await markSub.next()).data!.assignmentEvents.type).toBe("CREATED");

      await server.gql(AcceptAssignmentDocument, { requestId: sent.data!.assignChat.id }, w.token(w.martha));
      const accepted = await markSub.next();
      expect(accepted.data!.assignmentEvents.type).toBe("ACCEPTED");
      expect(accepted.data!.assignmentEvents.actor!.name).toBe("Martha");
      expect(accepted.data!.assignmentEvents.request!.chatSession.owner.name).toBe("Martha");
      expect(accepted.data!.assignmentEvents.trackingRecord.status).toBe("ACCEPTED");
      expect(BigInt(accepted.data!.assignmentEvents.sequence)).toBeGreaterThan(BigInt(created.data!.assignmentEvents.sequence));

      expect(await tomSub.nothingWithin(300)).toBe(true);
      expect(await outsider.nothingWithin(0)).toBe(true);
    } finally {
      await Promise.all([martha.dispose(), mark.dispose(), tom.dispose(), globexBoss.dispose()]);
    }
  });

  it("a manager following the organization hears everyone's requests", async () => {
    const maria = connect(server.url, w.token(w.maria));
    try {
      const sub = subscribe(maria, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      await until(() => server.app.websocket.connectionCount() >= 1);
      await sleep(100);
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark));
      const got = await sub.next();
      expect(got.data!.assignmentEvents.type).toBe("CREATED");
      expect(got.data!.assignmentEvents.request!.recipient.name).toBe("Tom");
    } finally {
      await maria.dispose();
    }
  });

  it("a long-lived subscription resolves each event's people afresh: a rename shows in the next event", async () => {
    const nina = await createUser(db.dataSource, w.organizationId, { name: "Nina" });
    const maria = connect(server.url, w.token(w.maria));
    try {
      const sub = subscribe(maria, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      await until(() => server.app.websocket.connectionCount() >= 1);
      await sleep(100);
      const first = await createChat(db.dataSource, w.organizationId, nina.id);
      await server.gql(AssignChatDocument, { input: assignInput(first.id, w.tom.id) }, w.token(nina));
      expect((await sub.next()).data!.assignmentEvents.request!.sender.name).toBe("Nina");

      await db.dataSource.query(`UPDATE users SET name = 'Nina Lopez' WHERE id = $1`, [nina.id]);
      const second = await createChat(db.dataSource, w.organizationId, nina.id);
      await server.gql(AssignChatDocument, { input: assignInput(second.id, w.tom.id) }, w.token(nina));
      expect((await sub.next()).data!.assignmentEvents.request!.sender.name).toBe("Nina Lopez");
    } finally {
      await maria.dispose();
    }
  });

  it("a bulk assignment reaches subscribers: one ASSIGNED event per chat, and the chat updates", async () => {
    const maria = connect(server.url, w.token(w.maria));
    const martha = connect(server.url, w.token(w.martha));
    try {
      const events = subscribe(maria, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      const chatsForMartha = subscribe(martha, ChatSessionUpdatedDocument, {});
      await until(() => server.app.websocket.connectionCount() >= 2);
      await sleep(100);
      const chats = await Promise.all([1, 2, 3].map(() => createChat(db.dataSource, w.organizationId, w.tom.id)));
      const res = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: chats.map((c) => c.id), toUserId: w.martha.id } }, w.token(w.maria));
      expect(res.data!.bulkAssignChats.assignedCount).toBe(3);
      const got = [await events.next(), await events.next(), await events.next()].map((m) => m.data!.assignmentEvents);
      expect(got.map((e) => e.type)).toEqual(["ASSIGNED", "ASSIGNED", "ASSIGNED"]);
      expect(got.every((e) => e.request === null && e.trackingRecord.kind === "DIRECT_ASSIGN")).toBe(true);
      const moved = [await chatsForMartha.next(), await chatsForMartha.next(), await chatsForMartha.next()];
      expect(moved.map((m) => m.data!.chatSessionUpdated.id).sort()).toEqual(chats.map((c) => c.id).sort());
      expect(moved.every((m) => m.data!.chatSessionUpdated.owner.name === "Martha")).toBe(true);
    } finally {
      await Promise.all([maria.dispose(), martha.dispose()]);
    }
  });

  it("a bulk assignment of 520 chats publishes every event, in sequence order, across its publishing batches", async () => {
    const maria = connect(server.url, w.token(w.maria));
    try {
      const events = subscribe(maria, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      await until(() => server.app.websocket.connectionCount() >= 1);
      await sleep(100);
      const chats = await db.dataSource.query<Array<{ id: string }>>(
        `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id)
         SELECT $1, 'Customer ' || g, '+1415555' || lpad(g::text, 4, '0'), $2 FROM generate_series(1, 520) g RETURNING id`,
        [w.organizationId, w.tom.id],
      );
      const res = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: chats.map((c) => c.id), toUserId: w.martha.id } }, w.token(w.maria));
      expect(res.data!.bulkAssignChats.assignedCount).toBe(520);
      const sequences: bigint[] = [];
      for (let i = 0; i < 520; i++) sequences.push(BigInt((await events.next(5_000)).data!.assignmentEvents.sequence));
      expect(sequences.every((s, i) => i === 0 || s > sequences[i - 1])).toBe(true);
      expect(await events.nothingWithin(200)).toBe(true);
    } finally {
      await maria.dispose();
    }
  }, 20_000);

  it("notifications and chat updates arrive for their user only", async () => {
    const martha = connect(server.url, w.token(w.martha));
    const mark = connect(server.url, w.token(w.mark));
    try {
      const notes = subscribe(martha, NotificationReceivedDocument, {});
      const marksNotes = subscribe(mark, NotificationReceivedDocument, {});
      const marksChats = subscribe(mark, ChatSessionUpdatedDocument, {});
      await until(() => server.app.websocket.connectionCount() >= 2);
      await sleep(100);
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
      const note = await notes.next();
      expect(note.data!.notificationReceived.message).toBe("Mark has sent you a chat assignment request.");
      expect(note.data!.notificationReceived.request!.id).toBe(sent.data!.assignChat.id);
      await server.gql(AcceptAssignmentDocument, { requestId: sent.data!.assignChat.id }, w.token(w.martha));
      expect((await marksNotes.next()).data!.notificationReceived.message).toBe("Martha accepted your chat assignment request.");
      // Mark just lost the chat: he hears of it, with its new owner.
      const moved = await marksChats.next();
      expect(moved.data!.chatSessionUpdated.id).toBe(chat.id);
      expect(moved.data!.chatSessionUpdated.owner.name).toBe("Martha");
      expect(await notes.nothingWithin(200)).toBe(true);
    } finally {
      await Promise.all([martha.dispose(), mark.dispose()]);
    }
  });
});

describe("socket authentication", () => {
  it("no connection_init, a forged token, an expired token, no token: closed with 4403, nothing delivered", async () => {
    const silent = rawSocket(server.url);
    await silent.opened;
    const started = Date.now();
    expect((await silent.closed).code).toBe(4403);
    expect(Date.now() - started).toBeLessThan(7_000);

    const forged = jwt.sign({}, "wrong-secret-wrong-secret", { subject: w.martha.id });
    const expired = jwt.sign({ exp: Math.floor(Date.now() / 1000) - 5 }, TEST_JWT_SECRET, { subject: w.martha.id });
    for (const token of [forged, expired, undefined]) {
      let closedWith = 0;
      const client = connect(server.url, token, (code) => (closedWith = code));
      const sub = subscribe(client, AssignmentEventsDocument, {});
      await sub.ended;
      expect(closedWith).toBe(4403);
      await client.dispose();
    }
  }, 15_000);

  it("a socket whose token expires is closed then, with 4401 (reconnect with a fresh token)", async () => {
    let closedWith = 0;
    const client = connect(server.url, w.token(w.martha, 2), (code) => (closedWith = code));
    try {
      const sub = subscribe(client, AssignmentEventsDocument, {});
      await sleep(300);
      expect(closedWith).toBe(0);
      await sub.ended;
      expect(closedWith).toBe(4401);
    } finally {
      await client.dispose();
    }
  }, 10_000);
});

describe("deactivation", () => {
  it("a deactivated user's open socket is closed with 4403 and cannot reconnect; others stay open", async () => {
    const temp = await createUser(db.dataSource, w.organizationId, { name: "Temp", email: "temp@acme.test" });
    let tempClosedWith = 0;
    let marthaClosedWith = 0;
    const tempClient = connect(server.url, w.token(temp), (code) => (tempClosedWith = code));
    const martha = connect(server.url, w.token(w.martha), (code) => (marthaClosedWith = code));
    try {
      const tempSub = subscribe(tempClient, AssignmentEventsDocument, {});
      subscribe(martha, NotificationReceivedDocument, {});
      await until(() => server.app.websocket.connectionCount() >= 2);
      await sleep(100);
      const res = await server.gql(UpsertUserDocument, { input: { email: "temp@acme.test", name: "Temp", role: "USER", active: false } }, w.token(w.admin));
      expect(res.errors).toBeUndefined();
      await tempSub.ended;
      expect(tempClosedWith).toBe(4403);
      await sleep(200);
      expect(marthaClosedWith).toBe(0);
      // Reconnecting is refused too: the token's user is deactivated.
      let again = 0;
      const retry = connect(server.url, w.token(temp), (code) => (again = code));
      subscribe(retry, AssignmentEventsDocument, {}); // graphql-ws connects on the first subscription
      await until(() => again !== 0);
      expect(again).toBe(4403);
      await retry.dispose();
    } finally {
      await Promise.all([tempClient.dispose(), martha.dispose()]);
    }
  }, 10_000);
});

describe("recovery and presence", () => {
  it("a client drops, three events happen, it catches up with exactly those three, in order", async () => {
    let client = connect(server.url, w.token(w.martha));
    const sub = subscribe(client, AssignmentEventsDocument, {});
    await sleep(150);
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const first = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const last = (await sub.next()).data!.assignmentEvents.sequence;
    await client.dispose();

    await server.gql(RejectAssignmentDocument, { requestId: first.data!.assignChat.id, reason: "Busy" }, w.token(w.martha));
    const second = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    // Someone else's event in between: not Martha's to see.
    const unrelated = await createChat(db.dataSource, w.organizationId, w.mark.id);
    await server.gql(AssignChatDocument, { input: assignInput(unrelated.id, w.tom.id) }, w.token(w.mark));
    await server.gql(WithdrawAssignmentDocument, { requestId: second.data!.assignChat.id, reason: "Solved" }, w.token(w.mark));

    client = connect(server.url, w.token(w.martha));
    try {
      const missed = await server.gql(AssignmentEventsSinceDocument, { after: last }, w.token(w.martha));
      const events = missed.data!.assignmentEventsSince;
      expect(events.map((e) => e.type)).toEqual(["REJECTED", "CREATED", "WITHDRAWN"]);
      expect(events[1].request!.id).toBe(second.data!.assignChat.id);
      const seqs = events.map((e) => BigInt(e.sequence));
      expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
      expect(seqs[0] > BigInt(last)).toBe(true);
      // Paging: one at a time gives the same.
      const one = await server.gql(AssignmentEventsSinceDocument, { after: last, first: 1 }, w.token(w.martha));
      expect(one.data!.assignmentEventsSince.map((e) => e.sequence)).toEqual([events[0].sequence]);
    } finally {
      await client.dispose();
    }
  });

  it("catch-up inputs: bad cursor and size are BAD_USER_INPUT; ORGANIZATION scope is for managers", async () => {
    const bad = await server.gql(AssignmentEventsSinceDocument, { after: "abc" }, w.token(w.martha));
    expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    const big = await server.gql(AssignmentEventsSinceDocument, { first: 501 }, w.token(w.martha));
    expect(codeOf(big)).toBe("BAD_USER_INPUT");
    const scope = await server.gql(AssignmentEventsSinceDocument, { scope: "ORGANIZATION" }, w.token(w.martha));
    expect(codeOf(scope)).toBe("FORBIDDEN");
    const foreign = await server.gql(AssignmentEventsSinceDocument, { scope: "ORGANIZATION" }, other.token(other.maria));
    expect(foreign.data!.assignmentEventsSince).toEqual([]);
  });

  it("sockets dropped abruptly leave no leak: connections return to zero and presence to offline", async () => {
    await until(() => server.app.websocket.connectionCount() === 0);
    const sockets = Array.from({ length: 5 }, () => {
      const raw = rawSocket(server.url);
      raw.opened.then(() => raw.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${w.token(w.tom)}` } }))).catch(() => {});
      return raw;
    });
    await until(async () => {
      const users = await server.gql(UsersOnlineDocument, {}, w.token(w.maria));
      return users.data!.users.find((u) => u.id === w.tom.id)!.online;
    });
    const list = await server.gql(UsersOnlineDocument, {}, w.token(w.maria));
    expect(list.data!.users[0].id).toBe(w.tom.id); // online first
    expect(server.app.websocket.connectionCount()).toBe(5);
    for (const s of sockets) s.socket.terminate();
    await until(() => server.app.websocket.connectionCount() === 0);
    await until(async () => {
      const users = await server.gql(UsersOnlineDocument, {}, w.token(w.maria));
      return !users.data!.users.find((u) => u.id === w.tom.id)!.online;
    });
  });
});
