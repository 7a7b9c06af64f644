import { randomUUID } from "node:crypto";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AssignChatDocument,
  CloseChatSessionDocument,
  NotificationReceivedDocument,
  SetMaxOpenChatsDocument,
  SetUserAvailabilityDocument,
  SuggestedRecipientsDocument,
  UpdateAssignDiscussSettingsDocument,
  UsersOnlineDocument,
} from "../../schema/generated/graphql";
import type { User } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";
import { until } from "../support/wait";
import { connect, subscribe } from "../support/ws-client";

// Issue #24: capacity as data (maxOpenChats, openChatCount, defaultMaxOpenChats) and
// suggestedRecipients, ranked by the documented formula and never naming someone the receiving
// rule refuses.

let db: TestDatabase;
let server: TestServer;
let w: World;
let other: World;
let vera: User; // inactive
let ian: User; // another USER, with no history
const sockets: Client[] = [];

/** The documented score (README, "Who should take it"), computed here from the facts set up. */
function score(f: { online: boolean; availability: "AVAILABLE" | "BUSY" | "AWAY"; limit: number; open: number; pending: number; accepted: number; decided: number; median: number | null }): number {
  const room = f.limit > 0 ? Math.max(0, (f.limit - f.open) / f.limit) : 10 / (10 + f.open);
  const s =
    0.4 * (f.online ? 1 : 0) +
    0.2 * { AVAILABLE: 1, BUSY: 0.5, AWAY: 0 }[f.availability] +
    0.15 * room +
    0.1 * (1 / (1 + f.pending)) +
    0.1 * ((f.accepted + 1) / (f.decided + 2)) +
    0.05 * (f.median === null ? 0.5 : 60 / (60 + f.median));
  return Math.round(s * 10_000) / 10_000;
}

const suggest = (as: User, vars: { chatSessionId?: string; kind?: "ASSIGN" | "DISCUSS"; recipientType?: "USER" | "MANAGER"; first?: number } = {}, world: World = w) =>
  server.gql(SuggestedRecipientsDocument, { chatSessionId: vars.chatSessionId ?? w.chat.id, kind: vars.kind, recipientType: vars.recipientType, first: vars.first }, world.token(as));

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
  other = await createWorld(db.dataSource, "Globex");
  vera = await createUser(db.dataSource, w.organizationId, { name: "Vera", active: false });
  ian = await createUser(db.dataSource, w.organizationId, { name: "Ian" });

  // Martha: 3 open chats and a closed one, a limit of 4, one request waiting for her, and Mark's
  // last ten requests to her over 30 days: 9 accepted in 40 s, one rejected; an older one is not counted.
  for (let i = 0; i < 3; i++) await createChat(db.dataSource, w.organizationId, w.martha.id);
  const closed = await createChat(db.dataSource, w.organizationId, w.martha.id);
  await db.dataSource.query(`UPDATE chat_sessions SET status = 'CLOSED' WHERE id = $1`, [closed.id]);
  await db.dataSource.query(`UPDATE users SET max_open_chats = 4 WHERE id = $1`, [w.martha.id]);
  const tomsChat = await createChat(db.dataSource, w.organizationId, w.tom.id);
  expect((await server.gql(AssignChatDocument, { input: assignInput(tomsChat.id, w.martha.id) }, w.token(w.tom))).errors).toBeUndefined();
  const recent = Date.now() - 2 * 86_400_000;
  for (let i = 0; i < 11; i++) {
    const at = new Date(i === 10 ? Date.now() - 40 * 86_400_000 : recent + i * 60_000);
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    await db.dataSource.query(
      `INSERT INTO engagement_tracking_records (organization_id, kind, status, chat_session_id, initiated_by_id, from_user_id, to_user_id, requested_at, response_seconds, created_at)
       VALUES ($1, 'ASSIGN_REQUEST', $2, $3, $4, $4, $5, $6, 40, $6)`,
      [w.organizationId, i === 9 ? "REJECTED" : "ACCEPTED", chat.id, w.mark.id, w.martha.id, at],
    );
  }
  // Tom: online (a socket open), BUSY, no limit (the organization's default is 0), 1 open chat.
  const socket = connect(server.url, w.token(w.tom));
  sockets.push(socket);
  subscribe(socket, NotificationReceivedDocument, {});
  await until(async () => (await server.gql(UsersOnlineDocument, {}, w.token(w.maria))).data!.users.find((u) => u.id === w.tom.id)!.online);
  await server.gql(SetUserAvailabilityDocument, { userId: w.tom.id, availability: "BUSY" }, w.token(w.maria));
}, 60_000);

afterAll(async () => {
  for (const s of sockets) await s.dispose();
  await server?.stop();
  await db?.drop();
});

describe("capacity", () => {
  it("managers and admins set a user's limit; openChatCount counts the chats they own that are open", async () => {
    const set = await server.gql(SetMaxOpenChatsDocument, { userId: w.martha.id, maxOpenChats: 4 }, w.token(w.maria));
    expect(set.errors).toBeUndefined();
    expect(set.data!.setMaxOpenChats).toEqual({ id: w.martha.id, maxOpenChats: 4, openChatCount: 3 });
    const cleared = await server.gql(SetMaxOpenChatsDocument, { userId: ian.id, maxOpenChats: null }, w.token(w.admin));
    expect(cleared.data!.setMaxOpenChats).toEqual({ id: ian.id, maxOpenChats: null, openChatCount: 0 });
  });

  it("refuses agents, limits out of 0..10000, malformed and foreign ids", async () => {
    expect(codeOf(await server.gql(SetMaxOpenChatsDocument, { userId: w.tom.id, maxOpenChats: 50 }, w.token(w.mark)))).toBe("FORBIDDEN");
    for (const bad of [-1, 10_001]) {
      const res = await server.gql(SetMaxOpenChatsDocument, { userId: w.tom.id, maxOpenChats: bad }, w.token(w.maria));
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
    }
    expect(codeOf(await server.gql(SetMaxOpenChatsDocument, { userId: "nope", maxOpenChats: 3 }, w.token(w.maria)))).toBe("BAD_USER_INPUT");
    expect(codeOf(await server.gql(SetMaxOpenChatsDocument, { userId: other.tom.id, maxOpenChats: 3 }, w.token(w.maria)))).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(SetMaxOpenChatsDocument, { userId: randomUUID(), maxOpenChats: 3 }, w.token(w.maria)))).toBe("NOT_FOUND");
    const [row] = await db.dataSource.query(`SELECT max_open_chats FROM users WHERE id = $1`, [w.tom.id]);
    expect(row.max_open_chats).toBeNull();
  });

  it("the organization's default is set by admins within 0..10000", async () => {
    expect(codeOf(await server.gql(UpdateAssignDiscussSettingsDocument, { input: { defaultMaxOpenChats: 8 } }, w.token(w.maria)))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(UpdateAssignDiscussSettingsDocument, { input: { defaultMaxOpenChats: -3 } }, w.token(w.admin)))).toBe("BAD_USER_INPUT");
    const ok = await server.gql(UpdateAssignDiscussSettingsDocument, { input: { defaultMaxOpenChats: 0 } }, w.token(w.admin));
    expect(ok.data!.updateAssignDiscussSettings.defaultMaxOpenChats).toBe(0);
  });
});

describe("suggestedRecipients", () => {
  it("ranks the people who may receive by the documented score, with its reasons", async () => {
    const res = await suggest(w.mark, { first: 10 });
    expect(res.errors).toBeUndefined();
    const list = res.data!.suggestedRecipients;
    // USERs of the organization but the owner and sender (Mark), active only. Tom is online; Ian,
    // with no history, has more room and no request waiting than Martha (0.525 against 0.401).
    expect(list.map((s) => s.user.name)).toEqual(["Tom", "Ian", "Martha"]);
    const [tom, ianS, martha] = list;
    expect(tom.score).toBe(score({ online: true, availability: "BUSY", limit: 0, open: 1, pending: 0, accepted: 0, decided: 0, median: null }));
    expect(tom.reasons).toEqual(["online", "busy", "1 open chat", "no requests waiting"]);
    expect(martha.score).toBe(score({ online: false, availability: "AVAILABLE", limit: 4, open: 3, pending: 1, accepted: 9, decided: 10, median: 40 }));
    expect(martha.reasons).toEqual(["offline", "available", "3 of 4 open chats", "1 request waiting", "accepted 9 of your last 10", "usually accepts in 40 s"]);
    expect(martha.user).toMatchObject({ maxOpenChats: 4, openChatCount: 3, online: false });
    expect(ianS.score).toBe(score({ online: false, availability: "AVAILABLE", limit: 0, open: 0, pending: 0, accepted: 0, decided: 0, median: null }));
    // The same facts, the same answer.
    expect((await suggest(w.mark, { first: 10 })).data!.suggestedRecipients).toEqual(list);
    // first cuts the list.
    expect((await suggest(w.mark, { first: 1 })).data!.suggestedRecipients.map((s) => s.user.name)).toEqual(["Tom"]);
  });

  it("a capacity filled ranks lower; the organization's default applies to those without their own", async () => {
    await server.gql(UpdateAssignDiscussSettingsDocument, { input: { defaultMaxOpenChats: 1 } }, w.token(w.admin));
    try {
      const list = (await suggest(w.mark, { first: 10 })).data!.suggestedRecipients;
      const tom = list.find((s) => s.user.name === "Tom")!;
      expect(tom.reasons).toContain("1 of 1 open chats (full)");
      expect(tom.score).toBe(score({ online: true, availability: "BUSY", limit: 1, open: 1, pending: 0, accepted: 0, decided: 0, median: null }));
    } finally {
      await server.gql(UpdateAssignDiscussSettingsDocument, { input: { defaultMaxOpenChats: 0 } }, w.token(w.admin));
    }
  });

  it("never names someone the receiving rule refuses, and its first choice can be sent the chat", async () => {
    const ids = (await suggest(w.mark, { first: 50 })).data!.suggestedRecipients.map((s) => s.user.id);
    for (const refused of [w.mark.id, vera.id, w.maria.id, w.admin.id]) expect(ids).not.toContain(refused);
    // MANAGER requests go to managers and admins.
    const managers = (await suggest(w.mark, { recipientType: "MANAGER", first: 50 })).data!.suggestedRecipients.map((s) => s.user.id);
    expect(managers.sort()).toEqual([w.maria.id, w.admin.id].sort());
    // With requireAvailableRecipient, an AWAY user is refused by assignChat and left out here.
    await server.gql(UpdateAssignDiscussSettingsDocument, { input: { requireAvailableRecipient: true } }, w.token(w.admin));
    await server.gql(SetUserAvailabilityDocument, { userId: ian.id, availability: "AWAY" }, w.token(w.maria));
    try {
      const names = (await suggest(w.mark, { first: 50 })).data!.suggestedRecipients.map((s) => s.user.name);
      expect(names).not.toContain("Ian");
      expect(codeOf(await server.gql(AssignChatDocument, { input: assignInput(w.chat.id, ian.id) }, w.token(w.mark)))).toBe("RECIPIENT_UNAVAILABLE");
    } finally {
      await server.gql(UpdateAssignDiscussSettingsDocument, { input: { requireAvailableRecipient: false } }, w.token(w.admin));
      await server.gql(SetUserAvailabilityDocument, { userId: ian.id, availability: "AVAILABLE" }, w.token(w.maria));
    }
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const [best] = (await suggest(w.mark, { chatSessionId: chat.id })).data!.suggestedRecipients;
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, best.user.id) }, w.token(w.mark));
    expect(sent.errors).toBeUndefined();
    // A manager asking about Mark's chat: Mark (the owner) is never suggested, the manager herself neither.
    const forManager = (await suggest(w.maria, { chatSessionId: chat.id, first: 50 })).data!.suggestedRecipients.map((s) => s.user.id);
    expect(forManager).not.toContain(w.mark.id);
    expect(forManager.length).toBeGreaterThan(0);
  });

  it("answers only whoever may hand the chat over; foreign, closed and malformed chats and bad sizes are refused", async () => {
    expect(codeOf(await suggest(w.martha))).toBe("FORBIDDEN");
    expect(codeOf(await suggest(other.mark, {}, other))).toBe("NOT_FOUND");
    expect(codeOf(await suggest(w.mark, { chatSessionId: randomUUID() }))).toBe("NOT_FOUND");
    expect(codeOf(await suggest(w.mark, { chatSessionId: "x" }))).toBe("BAD_USER_INPUT");
    for (const first of [0, 51]) expect(codeOf(await suggest(w.mark, { first }))).toBe("BAD_USER_INPUT");
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    expect((await server.gql(CloseChatSessionDocument, { id: chat.id }, w.token(w.mark))).errors).toBeUndefined();
    expect(codeOf(await suggest(w.mark, { chatSessionId: chat.id }))).toBe("CHAT_CLOSED");
  });

  it("a reply window closing within 30 minutes puts people online and AVAILABLE first, and says so", async () => {
    // Xena: online and AVAILABLE, but full (1 of 1) and with 3 requests waiting: below Tom by score.
    const xena = await createUser(db.dataSource, w.organizationId, { name: "Xena" });
    await createChat(db.dataSource, w.organizationId, xena.id);
    await db.dataSource.query(`UPDATE users SET max_open_chats = 1 WHERE id = $1`, [xena.id]);
    for (let i = 0; i < 3; i++) {
      const c = await createChat(db.dataSource, w.organizationId, w.maria.id);
      expect((await server.gql(AssignChatDocument, { input: assignInput(c.id, xena.id) }, w.token(w.maria))).errors).toBeUndefined();
    }
    const socket = connect(server.url, w.token(xena));
    sockets.push(socket);
    subscribe(socket, NotificationReceivedDocument, {});
    await until(async () => (await server.gql(UsersOnlineDocument, {}, w.token(w.maria))).data!.users.find((u) => u.id === xena.id)!.online);

    const calm = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const byScore = (await suggest(w.mark, { chatSessionId: calm.id, first: 10 })).data!.suggestedRecipients;
    expect(byScore.map((x) => x.user.name).slice(0, 2)).toEqual(["Tom", "Xena"]);
    expect(byScore[1].score).toBe(score({ online: true, availability: "AVAILABLE", limit: 1, open: 1, pending: 3, accepted: 0, decided: 0, median: null }));

    const closing = await createChat(db.dataSource, w.organizationId, w.mark.id, { lastCustomerMessageAt: new Date(Date.now() - (24 * 3_600_000 - 10 * 60_000)) });
    const urgent = (await suggest(w.mark, { chatSessionId: closing.id, first: 10 })).data!.suggestedRecipients;
    expect(urgent.map((x) => x.user.name).slice(0, 2)).toEqual(["Xena", "Tom"]);
    expect(urgent[0].reasons[0]).toMatch(/^first: the reply window closes in (9|10) min$/);
    expect(urgent[0].score).toBe(byScore[1].score); // the score is the same; only the order changed
    expect(urgent[1].reasons[0]).toBe("online"); // Tom is BUSY: not put first
  });
});
