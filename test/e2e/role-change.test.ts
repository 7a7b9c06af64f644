import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AssignChatDocument,
  AssignmentEventsDocument,
  BulkAssignChatsDocument,
  ChatSessionUpdatedDocument,
  EngagementTrackingRecordsDocument,
  UpdateAssignDiscussSettingsDocument,
  UpsertUserDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import { ChatSession } from "../../src/modules/chat-sessions/chat-session.entity";
import { User, UserRole } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { startTestServer, type TestServer } from "../support/server";
import { connect, type Received, subscribe } from "../support/ws-client";
import { sleep, until } from "../support/wait";

let db: TestDatabase;
let server: TestServer;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** One operation sent as a graphql-ws `subscribe` message: its first result. */
function over<T, V>(client: Client, doc: TypedDocumentNode<T, V>, variables: V): Promise<Received<T>> {
  return new Promise((resolve, reject) => {
    let got: Received<T> | null = null;
    client.subscribe<T>(
      { query: print(doc), variables: variables as Record<string, unknown> },
      {
        next: (value) => (got ??= value),
        error: (err) => (Array.isArray(err) ? resolve({ errors: err }) : reject(err instanceof Error ? err : new Error(JSON.stringify(err)))),
        complete: () => (got ? resolve(got) : reject(new Error("completed without a result"))),
      },
    );
  });
}

const codeOf = (r: unknown): unknown => (r as Received<unknown>).errors?.[0]?.extensions?.code;

describe("a role change reaches an open socket", () => {
  it("a demoted admin's socket loses admin rights at once: mutations refused, organization feeds end with FORBIDDEN, no self-promotion", async () => {
    const dee = await createUser(db.dataSource, w.organizationId, { name: "Dee", role: UserRole.ADMIN });
    let closedWith = 0;
    const client = connect(server.url, w.token(dee), (code) => (closedWith = code));
    try {
      const orgEvents = subscribe(client, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      const orgChats = subscribe(client, ChatSessionUpdatedDocument, {});
      const mine = subscribe(client, AssignmentEventsDocument, {});
      await until(() => server.app.websocket.connectionCount() === 1);
      await sleep(150);

      // As an admin, the socket hears the organization.
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
      expect(sent.errors).toBeUndefined();
      expect((await orgEvents.next()).data!.assignmentEvents.type).toBe("CREATED");

      // Another admin demotes Dee over HTTP. Her organization-wide subscriptions end at once.
      const demoted = Date.now();
      const res = await server.gql(UpsertUserDocument, { input: { email: dee.email, name: "Dee", role: "USER" } }, w.token(w.admin));
      expect(res.errors).toBeUndefined();
      const [eventsEnd, chatsEnd] = await Promise.all([orgEvents.ended, orgChats.ended]);
      expect(Date.now() - demoted).toBeLessThan(1_000);
      expect(codeOf({ errors: eventsEnd })).toBe("FORBIDDEN");
      expect(codeOf({ errors: chatsEnd })).toBe("FORBIDDEN");

      // The same socket, right after (well within the 5 s user cache): every admin action refused.
      const other = await createChat(db.dataSource, w.organizationId, w.tom.id);
      const bulk = await over(client, BulkAssignChatsDocument, { input: { chatSessionIds: [other.id], toUserId: dee.id } });
      expect(bulk.data?.bulkAssignChats.results.some((r) => r.outcome === "ASSIGNED") ?? false).toBe(false);
      expect((await db.dataSource.manager.findOneByOrFail(ChatSession, { id: other.id })).ownerId).toBe(w.tom.id);

      const withdraw = await over(client, WithdrawAssignmentDocument, { requestId: sent.data!.assignChat.id, reason: "mine now" });
      expect(codeOf(withdraw)).toBe("NOT_FOUND"); // not hers to see, as for a user who never was a manager

      const records = await over(client, EngagementTrackingRecordsDocument, { first: 50 });
      expect(records.errors).toBeUndefined();
      expect(records.data!.engagementTrackingRecords.edges).toHaveLength(0); // only her own, and she has none

      const settings = await over(client, UpdateAssignDiscussSettingsDocument, { input: { assignRequestTimeoutSeconds: 600 } });
      expect(codeOf(settings)).toBe("FORBIDDEN");

      const promote = await over(client, UpsertUserDocument, { input: { email: dee.email, name: "Dee", role: "ADMIN" } });
      expect(codeOf(promote)).toBe("FORBIDDEN");
      expect((await db.dataSource.manager.findOneByOrFail(User, { id: dee.id })).role).toBe(UserRole.USER);

      // A fresh organization-wide subscription is refused; her own feed goes on, on the same open socket.
      const again = subscribe(client, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      expect(codeOf(await again.next())).toBe("FORBIDDEN");
      const toDee = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const toHer = await server.gql(AssignChatDocument, { input: assignInput(toDee.id, dee.id) }, w.token(w.mark));
      expect((await mine.next()).data!.assignmentEvents.request!.id).toBe(toHer.data!.assignChat.id);
      expect(closedWith).toBe(0);
    } finally {
      await client.dispose();
    }
  }, 15_000);

  it("a promoted user's socket may follow the organization at once, without reconnecting", async () => {
    const uma = await createUser(db.dataSource, w.organizationId, { name: "Uma" });
    let closedWith = 0;
    const client = connect(server.url, w.token(uma), (code) => (closedWith = code));
    try {
      subscribe(client, AssignmentEventsDocument, {}); // holds the socket open (graphql-ws is lazy)
      await until(() => server.app.websocket.connectionCount() === 1);
      const before = subscribe(client, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      expect(codeOf(await before.next())).toBe("FORBIDDEN");
      const res = await server.gql(UpsertUserDocument, { input: { email: uma.email, name: "Uma", role: "MANAGER" } }, w.token(w.admin));
      expect(res.errors).toBeUndefined();
      const after = subscribe(client, AssignmentEventsDocument, { scope: "ORGANIZATION" });
      await sleep(150);
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
      expect((await after.next()).data!.assignmentEvents.request!.id).toBe(sent.data!.assignChat.id);
      expect(closedWith).toBe(0); // the same socket all along
    } finally {
      await client.dispose();
    }
  }, 10_000);
});
