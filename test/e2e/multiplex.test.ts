import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignChatDocument, AssignmentEventsDocument, BulkAssignChatsDocument, UpsertUserDocument, WithdrawAssignmentDocument } from "../../schema/generated/graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { UserRole } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { startTestServer, type TestServer } from "../support/server";
import { connect, rawSocket, subscribe, type Subscribed } from "../support/ws-client";
import { sleep, until } from "../support/wait";

// Issue #27: execute once, send many. Sockets whose subscriptions resolve an event alike share one
// execution of it; sockets whose viewers may see differently never share one.

let db: TestDatabase;
let server: TestServer;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
  await db.dataSource.query(`UPDATE users SET external_id = 'crm-' || name WHERE organization_id = $1`, [w.organizationId]);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const ChatChanges = parse(`
  subscription MultiplexChatChanges {
    chatSessionUpdated {
      id
      owner {
        id
        name
        externalId
      }
    }
  }
`) as TypedDocumentNode<Change, Record<string, never>>;

type Change = { chatSessionUpdated: { id: string; owner: { id: string; name: string; externalId: string | null } } };

const MineWithExternalIds = parse(`
  subscription MultiplexMine {
    assignmentEvents(scope: MINE) {
      type
      request {
        id
        sender {
          name
          externalId
        }
      }
    }
  }
`) as TypedDocumentNode<Mine, Record<string, never>>;

type Mine = { assignmentEvents: { type: string; request: { id: string; sender: { name: string; externalId: string | null } } | null } };

describe("personal feeds: one listener per user, each event resolved for the viewer as they are then", () => {
  it("a user's console and phone share one lane; promoted to admin, the next event shows what admins see, on the same sockets, and demoted, no longer", async () => {
    const pat = await createUser(db.dataSource, w.organizationId, { name: "Pat" });
    const consoleSocket = connect(server.url, w.token(pat));
    const phone = connect(server.url, w.token(pat));
    try {
      const onConsole = subscribe(consoleSocket, MineWithExternalIds, {});
      const onPhone = subscribe(phone, MineWithExternalIds, {});
      await until(async () => (await server.app.websocket.subscriptionClasses()).members === 2);
      // One lane: one listener on Pat's channel and one execution per event for both sockets.
      expect(await server.app.websocket.subscriptionClasses()).toEqual({ classes: 1, members: 2 });

      const first = await server.gql(AssignChatDocument, { input: assignInput((await createChat(db.dataSource, w.organizationId, w.mark.id)).id, pat.id) }, w.token(w.mark));
      expect(first.errors).toBeUndefined();
      for (const s of [onConsole, onPhone]) {
        const got = (await s.next(5_000)).data!.assignmentEvents;
        expect(got.request!.id).toBe(first.data!.assignChat.id);
        expect(got.request!.sender).toEqual({ name: "Mark", externalId: null }); // a user does not see external ids
      }

      // Promoted to admin: the next event about their request shows what admins see.
      const promoted = await server.gql(UpsertUserDocument, { input: { email: pat.email, name: "Pat", role: "ADMIN" } }, w.token(w.admin));
      expect(promoted.errors).toBeUndefined();
      await sleep(200); // the account change reaches the sockets (in process: at once)
      const withdrawn = await server.gql(WithdrawAssignmentDocument, { requestId: first.data!.assignChat.id, reason: "changed my mind" }, w.token(w.mark));
      expect(withdrawn.errors).toBeUndefined();
      for (const s of [onConsole, onPhone]) {
        const got = (await s.next(5_000)).data!.assignmentEvents;
        expect(got.type).toBe("WITHDRAWN");
        expect(got.request!.sender).toEqual({ name: "Mark", externalId: "crm-Mark" });
      }
      expect(await server.app.websocket.subscriptionClasses()).toEqual({ classes: 1, members: 2 });

      // The phone leaves, Pat is a user again: the console's lane goes on, resolved as a user's.
      onPhone.dispose();
      await until(async () => (await server.app.websocket.subscriptionClasses()).members === 1);
      expect((await server.gql(UpsertUserDocument, { input: { email: pat.email, name: "Pat", role: "USER" } }, w.token(w.admin))).errors).toBeUndefined();
      await sleep(200);
      const third = await server.gql(AssignChatDocument, { input: assignInput((await createChat(db.dataSource, w.organizationId, w.mark.id)).id, pat.id) }, w.token(w.mark));
      expect(third.errors).toBeUndefined();
      const got = (await onConsole.next(5_000)).data!.assignmentEvents;
      expect(got.request).toEqual({ id: third.data!.assignChat.id, sender: { name: "Mark", externalId: null } });
      expect(await onPhone.nothingWithin(200)).toBe(true);
    } finally {
      await consoleSocket.dispose();
      await phone.dispose();
    }
    await until(async () => (await server.app.websocket.subscriptionClasses()).classes === 0);
  });
});

describe("one execution per class of sockets that see alike", () => {
  it("a manager, an admin and two users on one document get different classes, and each only what they may see", async () => {
    const nina = await createUser(db.dataSource, w.organizationId, { name: "Nina", role: UserRole.MANAGER });
    const ada2 = await createUser(db.dataSource, w.organizationId, { name: "Adele", role: UserRole.ADMIN });
    const viewers = { maria1: w.maria, maria2: w.maria, nina, admin: w.admin, adele: ada2, mark: w.mark, martha: w.martha };
    const clients = Object.values(viewers).map((u) => connect(server.url, w.token(u)));
    try {
      const subs = Object.fromEntries(Object.keys(viewers).map((name, i) => [name, subscribe(clients[i], ChatChanges, {})])) as Record<keyof typeof viewers, Subscribed<Change>>;
      await until(async () => (await server.app.websocket.subscriptionClasses()).members === 7);
      // Managers share one class (three sockets, two people), admins another; each user has their own.
      expect(await server.app.websocket.subscriptionClasses()).toEqual({ classes: 4, members: 7 });

      // Mark's chat goes to Martha: both of them, the managers and the admins hear it.
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const moved = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId: w.martha.id } }, w.token(w.admin));
      expect(moved.data?.bulkAssignChats.assignedCount).toBe(1);
      for (const name of Object.keys(subs) as Array<keyof typeof viewers>) {
        const got = (await subs[name].next(5_000)).data!.chatSessionUpdated;
        expect(got.id, name).toBe(chat.id);
        expect(got.owner.name, name).toBe("Martha");
        // Only admins may see users' external ids: a class never mixes the two.
        expect(got.owner.externalId, name).toBe(name === "admin" || name === "adele" ? "crm-Martha" : null);
      }
      // Tom's chat goes to Nina: no user hears it, the managers and admins do.
      const toms = await createChat(db.dataSource, w.organizationId, w.tom.id);
      await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [toms.id], toUserId: nina.id } }, w.token(w.admin));
      for (const name of ["maria1", "maria2", "nina", "admin", "adele"] as const) expect((await subs[name].next(5_000)).data!.chatSessionUpdated.id).toBe(toms.id);
      expect(await subs.mark.nothingWithin(300)).toBe(true);
      expect(await subs.martha.nothingWithin(0)).toBe(true);
    } finally {
      for (const c of clients) await c.dispose();
    }
    // Their classes end with their last socket.
    await until(async () => (await server.app.websocket.subscriptionClasses()).classes === 0);
  });

  it("the organization's events: two managers' sockets share one class and get the same events, in order; MINE stays personal", async () => {
    const a = connect(server.url, w.token(w.maria));
    const b = connect(server.url, w.token(w.maria));
    const m = connect(server.url, w.token(w.martha));
    try {
      const first = subscribe(a, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      const second = subscribe(b, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      const mine = subscribe(m, AssignmentEventsDocument, { scope: "MINE" });
      await until(async () => (await server.app.websocket.subscriptionClasses()).members === 3);
      expect((await server.app.websocket.subscriptionClasses()).classes).toBe(2);
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) {
        const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
        const r = await server.gql(AssignChatDocument, { input: assignInput(chat.id, i === 1 ? w.martha.id : w.tom.id) }, w.token(w.mark));
        sent.push(r.data!.assignChat.id);
      }
      for (const s of [first, second]) {
        const got = [];
        for (let i = 0; i < 3; i++) got.push((await s.next(5_000)).data!.assignmentEvents.request!.id);
        expect(got).toEqual(sent);
      }
      // Martha's own feed: only the request sent to her.
      expect((await mine.next(5_000)).data!.assignmentEvents.request!.id).toBe(sent[1]);
      expect(await mine.nothingWithin(300)).toBe(true);
    } finally {
      for (const c of [a, b, m]) await c.dispose();
    }
  });

  it("a socket that leaves does not end its class for the others", async () => {
    const a = connect(server.url, w.token(w.maria));
    const b = connect(server.url, w.token(w.maria));
    try {
      const first = subscribe(a, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      const second = subscribe(b, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      await until(async () => (await server.app.websocket.subscriptionClasses()).members === 2);
      first.dispose();
      await until(async () => (await server.app.websocket.subscriptionClasses()).members === 1);
      await sleep(50);
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const r = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark));
      expect((await second.next(5_000)).data!.assignmentEvents.request!.id).toBe(r.data!.assignChat.id);
    } finally {
      for (const c of [a, b]) await c.dispose();
    }
  });

  it("a socket killed while its class is sending (no close frame) leaves the class; the others get every event and the server lives", async () => {
    const survivor = connect(server.url, w.token(w.maria));
    const victim = rawSocket(server.url);
    try {
      const events = subscribe(survivor, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      await victim.opened;
      const acked = new Promise<void>((resolve) => victim.socket.once("message", () => resolve()));
      victim.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${w.token(w.maria)}` } }));
      await acked;
      const query = `subscription { assignmentEvents(scope: ORGANIZATION) { sequence type request { id } } }`;
      victim.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query } }));
      await until(async () => (await server.app.websocket.subscriptionClasses()).members === 2);
      const sent: string[] = [];
      for (let i = 0; i < 6; i++) {
        // Killed mid-stream: the TCP connection drops without a close frame.
        if (i === 3) victim.socket.terminate();
        const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
        const r = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark));
        sent.push(r.data!.assignChat.id);
      }
      const got: string[] = [];
      for (let i = 0; i < sent.length; i++) got.push((await events.next(5_000)).data!.assignmentEvents.request!.id);
      expect(got).toEqual(sent);
      await until(async () => (await server.app.websocket.subscriptionClasses()).members === 1);
      expect((await server.gql(AssignChatDocument, { input: assignInput((await createChat(db.dataSource, w.organizationId, w.mark.id)).id, w.tom.id) }, w.token(w.mark))).errors).toBeUndefined();
    } finally {
      victim.socket.terminate();
      await survivor.dispose();
    }
  });
});
