import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AssignChatDocument,
  BulkAssignChatsDocument,
  MeDocument,
  SetMyAvailabilityDocument,
  SetUserAvailabilityDocument,
  UpdateAssignDiscussSettingsDocument,
  UserAvailabilityChangedDocument,
  UsersDocument,
} from "../../schema/generated/graphql";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";
import { connect, subscribe } from "../support/ws-client";
import { sleep, until } from "../support/wait";

// Issue #14, first step: availability. Fallback chains come next.

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

describe("availability", () => {
  it("each user sets their own; managers and admins anyone's; others FORBIDDEN; another organization's ids NOT_FOUND; bad values refused", async () => {
    const user = await createUser(db.dataSource, w.organizationId, { name: "Avery" });
    expect((await server.gql(MeDocument, {}, w.token(user))).data!.me).toBeDefined();
    const mine = await server.gql(SetMyAvailabilityDocument, { availability: "BUSY" }, w.token(user));
    expect(mine.data!.setMyAvailability).toMatchObject({ id: user.id, availability: "BUSY" });
    expect(codeOf(await server.gql(SetUserAvailabilityDocument, { userId: user.id, availability: "AWAY" }, w.token(w.tom)))).toBe("FORBIDDEN");
    const byManager = await server.gql(SetUserAvailabilityDocument, { userId: user.id, availability: "AVAILABLE" }, w.token(w.maria));
    expect(byManager.data!.setUserAvailability.availability).toBe("AVAILABLE");
    expect(codeOf(await server.gql(SetUserAvailabilityDocument, { userId: user.id, availability: "AWAY" }, other.token(other.maria)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(SetUserAvailabilityDocument, { userId: "x", availability: "AWAY" }, w.token(w.maria)))).toBe("BAD_USER_INPUT");
    expect(codeOf(await server.gql(SetMyAvailabilityDocument, { availability: "ON_HOLIDAY" as never }, w.token(user)))).toBe("BAD_USER_INPUT");
    expect(await count(`users WHERE id = $1 AND availability = 'AVAILABLE'`, [user.id])).toBe(1);
  });

  it("is pushed live to the organization, and nowhere else", async () => {
    const user = await createUser(db.dataSource, w.organizationId, { name: "Blake" });
    const maria = connect(server.url, w.token(w.maria));
    const outsider = connect(server.url, other.token(other.maria));
    try {
      const mariaSub = subscribe(maria, UserAvailabilityChangedDocument, {});
      const outsiderSub = subscribe(outsider, UserAvailabilityChangedDocument, {});
      await until(() => server.app.websocket.connectionCount() >= 2);
      await sleep(100);
      await server.gql(SetMyAvailabilityDocument, { availability: "AWAY" }, w.token(user));
      expect((await mariaSub.next(2_000)).data?.userAvailabilityChanged).toMatchObject({ id: user.id, availability: "AWAY" });
      expect(await outsiderSub.nothingWithin(300)).toBe(true);
    } finally {
      await Promise.all([maria, outsider].map(async (c) => c.dispose()));
    }
  });

  it("Select User: availableOnly leaves out AWAY; AVAILABLE comes before BUSY", async () => {
    const org = await createWorld(db.dataSource, "Umbrella");
    await server.gql(SetMyAvailabilityDocument, { availability: "BUSY" }, org.token(org.martha));
    await server.gql(SetMyAvailabilityDocument, { availability: "AWAY" }, org.token(org.tom));
    const all = await server.gql(UsersDocument, { role: "USER" }, org.token(org.mark));
    const names = all.data!.users.map((u) => `${u.name}:${u.availability}`);
    expect(names).toEqual(["Mark:AVAILABLE", "Martha:BUSY", "Tom:AWAY"]);
    const available = await server.gql(UsersDocument, { role: "USER", availableOnly: true }, org.token(org.mark));
    expect(available.data!.users.map((u) => u.name)).toEqual(["Mark", "Martha"]);
  });

  it("with requireAvailableRecipient, a request or a bulk assignment to an AWAY user is RECIPIENT_UNAVAILABLE and writes nothing", async () => {
    const org = await createWorld(db.dataSource, "Stark");
    await server.gql(SetMyAvailabilityDocument, { availability: "AWAY" }, org.token(org.martha));
    // Allowed while the organization does not require it.
    expect((await server.gql(AssignChatDocument, { input: assignInput(org.chat.id, org.martha.id) }, org.token(org.mark))).errors).toBeUndefined();
    const set = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { requireAvailableRecipient: true } }, org.token(org.admin));
    expect(set.data!.updateAssignDiscussSettings.requireAvailableRecipient).toBe(true);
    const chat = await createChat(db.dataSource, org.organizationId, org.mark.id);
    const refused = await server.gql(AssignChatDocument, { input: assignInput(chat.id, org.martha.id) }, org.token(org.mark));
    expect(codeOf(refused)).toBe("RECIPIENT_UNAVAILABLE");
    expect(refused.errors?.[0]?.extensions?.field).toBe("recipientId");
    const bulk = await server.gql(BulkAssignChatsDocument, { input: { chatSessionIds: [chat.id], toUserId: org.martha.id } }, org.token(org.maria));
    expect(codeOf(bulk)).toBe("RECIPIENT_UNAVAILABLE");
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chat.id])).toBe(0);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chat.id, org.mark.id])).toBe(1);
  });

  it("going AWAY times out, at once, the requests waiting for that user (reason 'Recipient went away'; both told)", async () => {
    const org = await createWorld(db.dataSource, "Wayne");
    const sent = await server.gql(AssignChatDocument, { input: assignInput(org.chat.id, org.martha.id) }, org.token(org.mark));
    const id = sent.data!.assignChat.id;
    const outgoing = await server.gql(AssignChatDocument, { input: assignInput((await createChat(db.dataSource, org.organizationId, org.martha.id)).id, org.tom.id) }, org.token(org.martha));
    await server.gql(SetMyAvailabilityDocument, { availability: "AWAY" }, org.token(org.martha));
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'TIMED_OUT' AND reason = 'Recipient went away'`, [id])).toBe(1);
    expect(await count(`engagement_tracking_records WHERE request_id = $1 AND status = 'TIMED_OUT'`, [id])).toBe(1);
    expect(await count(`notifications WHERE request_id = $1 AND type = 'ASSIGNMENT_TIMED_OUT'`, [id])).toBe(2);
    // What Martha sent herself is not affected.
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'PENDING'`, [outgoing.data!.assignChat.id])).toBe(1);
  });
});
