import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import type { HandoverEngine } from "../../src/engine/handover-engine";
import { Availability, type User, UserRole } from "../../src/modules/users/user.entity";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOfRejection, testServices } from "../support/services";

// Issue #14: fallback chains, at the engine, on real Postgres. Deadlines are brought forward in
// the database and the deadline's drain (timeOutDue) is called, so each hop is observed exactly.

let db: TestDatabase;
let w: World;
let svc: ReturnType<typeof testServices>;
let a: HandoverEngine;
let lisa: User;
let kim: User;
let manager2: User;

beforeAll(async () => {
  db = await createTestDatabase();
  svc = testServices(db.dataSource);
  a = svc.handovers;
  w = await createWorld(db.dataSource);
  lisa = await createUser(db.dataSource, w.organizationId, { name: "Lisa" });
  kim = await createUser(db.dataSource, w.organizationId, { name: "Kim" });
  manager2 = await createUser(db.dataSource, w.organizationId, { name: "Morgan", role: UserRole.MANAGER });
});
afterAll(() => db?.drop());

let chatId: string;
beforeEach(async () => {
  chatId = (await createChat(db.dataSource, w.organizationId, w.mark.id)).id;
  await svc.settings.update(w.admin, { fallbackOnReject: false, fallbackToManagers: false });
});

const count = (sql: string, params: unknown[]): Promise<number> => countRows(db.dataSource, sql, params);
const rows = <T>(sql: string, params: unknown[]): Promise<T[]> => db.dataSource.query<T[]>(sql, params);

const chain = (fallbacks: string[], recipient = w.martha.id) => a.assignChat(w.mark, { ...assignInput(chatId, recipient), fallbackRecipientIds: fallbacks });

/** Brings a request's deadline into the past (its job row too) and runs the deadline's drain. */
async function expire(requestId: string): Promise<string[]> {
  await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 millisecond' WHERE id = $1`, [requestId]);
  return a.timeOutDue();
}

const pendingOf = async (chat = chatId) =>
  (await rows<{ id: string; recipient_id: string; hop: number; fallback_recipient_ids: string[]; previous_request_id: string | null; last_resort: boolean }>(
    `SELECT id, recipient_id, hop, fallback_recipient_ids, previous_request_id, last_resort FROM assignment_requests WHERE chat_session_id = $1 AND status = 'PENDING'`,
    [chat],
  ))[0] ?? null;

const messagesTo = async (userId: string, requestId: string) =>
  (await rows<{ type: string; message: string }>(`SELECT type, message FROM notifications WHERE user_id = $1 AND request_id = $2 ORDER BY created_at`, [userId, requestId]));

describe("a chain moves on when a hop times out", () => {
  it("hop by hop: one request, one record, the sender told once per hop, events in order, then the end with the names tried", async () => {
    const first = await chain([lisa.id, kim.id]);
    expect(first.fallbackRecipientIds).toEqual([lisa.id, kim.id]);
    expect(first.hop).toBe(1);

    expect(await expire(first.id)).toEqual([first.id]);
    const second = await pendingOf();
    expect(second).toMatchObject({ recipient_id: lisa.id, hop: 2, fallback_recipient_ids: [kim.id], previous_request_id: first.id, last_resort: false });
    expect(await messagesTo(w.mark.id, first.id)).toEqual([{ type: "ASSIGNMENT_FORWARDED", message: "Martha did not respond in time; the request went to Lisa." }]);
    expect(await messagesTo(w.martha.id, first.id)).toEqual([
      { type: "ASSIGNMENT_REQUESTED", message: "Mark has sent you a chat assignment request." },
      { type: "ASSIGNMENT_TIMED_OUT", message: "The chat assignment request from Mark timed out." },
    ]);
    expect(await messagesTo(lisa.id, second.id)).toEqual([{ type: "ASSIGNMENT_REQUESTED", message: "Mark has sent you a chat assignment request." }]);
    // Its own record, pointing back; its own deadline (the organization's setting) and job.
    expect(await count(`engagement_tracking_records WHERE request_id = $1 AND previous_request_id = $2 AND hop = 2 AND status = 'PENDING'
                          AND initiated_by_id = $3 AND to_user_id = $4 AND from_user_id = $3`, [second.id, first.id, w.mark.id, lisa.id])).toBe(1);
    expect(await count(`assignment_requests WHERE id = $1 AND expires_at > now() + interval '50 seconds' AND sender_id = $2 AND chain_id = $3`, [second.id, w.mark.id, first.id])).toBe(1);
    expect(await count(`agenda_jobs WHERE data->>'requestId' = $1`, [second.id])).toBe(0); // no scheduler in these services: no job table
    // The time-out's event, then the hop's CREATED.
    const events = await rows<{ type: string; request_id: string }>(`SELECT type, request_id FROM assignment_events WHERE chat_session_id = $1 ORDER BY sequence`, [chatId]);
    expect(events).toEqual([
      { type: "CREATED", request_id: first.id },
      { type: "TIMED_OUT", request_id: first.id },
      { type: "CREATED", request_id: second.id },
    ]);
    // The links, through the engine's read.
    const linked = await a.findVisible(w.mark, second.id);
    expect(linked.previousRequestId).toBe(first.id);

    await expire(second.id);
    const third = await pendingOf();
    expect(third).toMatchObject({ recipient_id: kim.id, hop: 3, fallback_recipient_ids: [], previous_request_id: second.id });
    expect((await messagesTo(w.mark.id, second.id))[0].message).toBe("Lisa did not respond in time; the request went to Kim.");

    await expire(third.id);
    expect(await pendingOf()).toBeNull();
    expect(await messagesTo(w.mark.id, third.id)).toEqual([
      { type: "ASSIGNMENT_UNCLAIMED", message: "Nobody took the chat: Martha, Lisa and Kim did not respond." },
    ]);
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(3);
    expect(await count(`engagement_tracking_records WHERE chat_session_id = $1 AND status = 'TIMED_OUT'`, [chatId])).toBe(3);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chatId, w.mark.id])).toBe(1);
  });

  it("skips an entry who is inactive or AWAY when their turn comes (not tried again later)", async () => {
    const away = await createUser(db.dataSource, w.organizationId, { name: "Avery" });
    const leaving = await createUser(db.dataSource, w.organizationId, { name: "Lee" });
    const first = await chain([leaving.id, away.id, lisa.id]);
    await db.dataSource.query(`UPDATE users SET active = false WHERE id = $1`, [leaving.id]);
    await db.dataSource.query(`UPDATE users SET availability = 'AWAY' WHERE id = $1`, [away.id]);
    await expire(first.id);
    const next = await pendingOf();
    expect(next).toMatchObject({ recipient_id: lisa.id, hop: 2, fallback_recipient_ids: [] });
    expect((await messagesTo(w.mark.id, first.id))[0].message).toBe("Martha did not respond in time; the request went to Lisa.");
    await expire(next.id);
    expect((await messagesTo(w.mark.id, next.id))[0].message).toBe("Nobody took the chat: Martha and Lisa did not respond.");
  });

  it("an accept that comes after the deadline times the hop out (REQUEST_EXPIRED) and the chain moves on", async () => {
    const first = await chain([lisa.id]);
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 millisecond' WHERE id = $1`, [first.id]);
    expect(await codeOfRejection(a.acceptAssignment(w.martha, first.id))).toBe("REQUEST_EXPIRED");
    expect(await pendingOf()).toMatchObject({ recipient_id: lisa.id, hop: 2, previous_request_id: first.id });
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chatId, w.mark.id])).toBe(1);
  });

  it("a request without fallbacks times out as before: no hop, the plain message", async () => {
    const r = await a.assignChat(w.mark, assignInput(chatId, w.martha.id));
    await expire(r.id);
    expect(await pendingOf()).toBeNull();
    expect(await messagesTo(w.mark.id, r.id)).toEqual([{ type: "ASSIGNMENT_TIMED_OUT", message: "Your chat assignment request to Martha timed out." }]);
  });
});

describe("what ends a chain", () => {
  it("accept at hop 2: the chat moves, no hop follows", async () => {
    const first = await chain([lisa.id, kim.id]);
    await expire(first.id);
    const second = (await pendingOf());
    await a.acceptAssignment(lisa, second.id);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chatId, lisa.id])).toBe(1);
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE chat_session_id = $1`, [chatId]);
    await a.timeOutDue();
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(2);
    expect(await count(`assignment_requests WHERE recipient_id = $1 AND chat_session_id = $2`, [kim.id, chatId])).toBe(0);
  });

  it("withdraw at hop 2: the chain stops", async () => {
    const first = await chain([lisa.id, kim.id]);
    await expire(first.id);
    const second = (await pendingOf());
    await a.withdrawAssignment(w.mark, second.id, "Handled it");
    await a.timeOutDue();
    expect(await pendingOf()).toBeNull();
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(2);
  });

  it("a rejection ends it by default; with fallbackOnReject it moves on ('declined')", async () => {
    const first = await chain([lisa.id]);
    await a.rejectAssignment(w.martha, first.id, "Busy");
    expect(await pendingOf()).toBeNull();
    expect((await messagesTo(w.mark.id, first.id))[0]).toEqual({ type: "ASSIGNMENT_REJECTED", message: "Martha rejected your chat assignment request: Busy" });

    await svc.settings.update(w.admin, { fallbackOnReject: true });
    const again = await chain([lisa.id]);
    await a.rejectAssignment(w.martha, again.id, "Busy");
    const next = (await pendingOf());
    expect(next).toMatchObject({ recipient_id: lisa.id, hop: 2 });
    expect((await messagesTo(w.mark.id, again.id))[0].message).toBe("Martha declined; the request went to Lisa.");
    const events = await rows<{ type: string }>(`SELECT type FROM assignment_events WHERE request_id = ANY($1) ORDER BY sequence`, [[again.id, next.id]]);
    expect(events.map((e) => e.type)).toEqual(["CREATED", "REJECTED", "CREATED"]);
    await a.rejectAssignment(lisa, next.id, "Also busy");
    expect((await messagesTo(w.mark.id, next.id))[0].message).toBe("Nobody took the chat: Martha and Lisa declined.");
  });

  it("a recipient going AWAY moves the chain on at once ('went away')", async () => {
    const first = await chain([lisa.id]);
    await svc.users.setAvailability(w.martha, w.martha.id, Availability.AWAY);
    try {
      expect(await count(`assignment_requests WHERE id = $1 AND status = 'TIMED_OUT' AND reason = 'Recipient went away'`, [first.id])).toBe(1);
      expect(await pendingOf()).toMatchObject({ recipient_id: lisa.id, hop: 2 });
      expect((await messagesTo(w.mark.id, first.id))[0].message).toBe("Martha went away; the request went to Lisa.");
    } finally {
      await svc.users.setAvailability(w.martha, w.martha.id, Availability.AVAILABLE);
    }
  });
});

describe("managers as the last resort", () => {
  it("with fallbackToManagers the exhausted chain goes once to the manager with the fewest pending requests, never AWAY", async () => {
    await svc.settings.update(w.admin, { fallbackToManagers: true });
    // Maria has a pending incoming request; Morgan has none: Morgan is chosen. The admin is AWAY.
    const busy = await createChat(db.dataSource, w.organizationId, w.tom.id);
    await a.assignChat(w.tom, assignInput(busy.id, w.maria.id, RecipientType.MANAGER));
    await db.dataSource.query(`UPDATE users SET availability = 'AWAY' WHERE id = $1`, [w.admin.id]);
    try {
      const first = await chain([lisa.id]);
      await expire(first.id);
      const second = (await pendingOf());
      await expire(second.id);
      const last = (await pendingOf());
      expect(last).toMatchObject({ recipient_id: manager2.id, hop: 3, last_resort: true });
      expect(await count(`assignment_requests WHERE id = $1 AND recipient_type = 'MANAGER'`, [last.id])).toBe(1);
      expect((await messagesTo(w.mark.id, second.id))[0].message).toBe("Lisa did not respond in time; the request went to Morgan.");
      // At most one manager hop: its time-out ends the chain.
      await expire(last.id);
      expect(await pendingOf()).toBeNull();
      expect((await messagesTo(w.mark.id, last.id))[0].message).toBe("Nobody took the chat: Martha, Lisa and Morgan did not respond.");
    } finally {
      await db.dataSource.query(`UPDATE users SET availability = 'AVAILABLE' WHERE id = $1`, [w.admin.id]);
      await db.dataSource.query(`UPDATE assignment_requests SET status = 'CANCELLED', responded_at = now() WHERE chat_session_id = $1 AND status = 'PENDING'`, [busy.id]);
    }
  });

  it("prefers a manager who is online", async () => {
    await svc.settings.update(w.admin, { fallbackToManagers: true });
    // Nobody has pending requests now; without presence Maria or Morgan would be ranked by their last request.
    // Presence as sockets report it (the services' LocalPresence): Maria has one open.
    await svc.presence.connected(w.maria.id, "socket-1");
    try {
      const first = await a.assignChat(w.mark, assignInput(chatId, w.martha.id));
      await expire(first.id);
      expect(await pendingOf()).toMatchObject({ recipient_id: w.maria.id, last_resort: true, hop: 2 });
      await svc.presence.disconnected(w.maria.id, "socket-1");
      await svc.presence.connected(manager2.id, "socket-2");
      const chat2 = (await createChat(db.dataSource, w.organizationId, w.mark.id)).id;
      const other = await a.assignChat(w.mark, assignInput(chat2, w.martha.id));
      await expire(other.id);
      expect(await pendingOf(chat2)).toMatchObject({ recipient_id: manager2.id, last_resort: true });
    } finally {
      await svc.presence.disconnected(w.maria.id, "socket-1");
      await svc.presence.disconnected(manager2.id, "socket-2");
    }
  });
});

describe("input rules: the whole call refused, nothing created", () => {
  const cases: Array<[string, () => string[], string]> = [
    ["malformed", () => ["not-a-uuid"], "BAD_USER_INPUT"],
    ["duplicated", () => [lisa.id, lisa.id], "BAD_USER_INPUT"],
    ["the recipient again", () => [w.martha.id], "BAD_USER_INPUT"],
    ["more than 5", () => Array.from({ length: 6 }, () => crypto.randomUUID()), "BAD_USER_INPUT"],
    ["the sender", () => [w.mark.id], "INVALID_RECIPIENT"],
    ["unknown", () => [crypto.randomUUID()], "INVALID_RECIPIENT"],
    ["a manager in a USER chain", () => [w.maria.id], "INVALID_RECIPIENT"],
  ];
  for (const [what, ids, code] of cases) {
    it(`${what}: ${code}`, async () => {
      const err = await a.assignChat(w.mark, { ...assignInput(chatId, w.martha.id), fallbackRecipientIds: ids() }).catch((e: unknown) => e as { code: string; details: Record<string, unknown> });
      expect((err as { code: string }).code).toBe(code);
      expect((err as { details: Record<string, unknown> }).details.field).toBe("fallbackRecipientIds");
      expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(0);
    });
  }

  it("another organization's user is INVALID_RECIPIENT with the offending id, like one that does not exist", async () => {
    const other = await createWorld(db.dataSource, "Globex");
    const err = (await a.assignChat(w.mark, { ...assignInput(chatId, w.martha.id), fallbackRecipientIds: [lisa.id, other.tom.id] }).catch((e: unknown) => e)) as {
      code: string;
      details: Record<string, unknown>;
    };
    expect(err.code).toBe("INVALID_RECIPIENT");
    expect(err.details).toMatchObject({ field: "fallbackRecipientIds", id: other.tom.id });
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(0);
  });

  it("the owner as a fallback (a manager's request about someone else's chat) is refused", async () => {
    const err = await codeOfRejection(a.assignChat(w.maria, { ...assignInput(chatId, w.martha.id), fallbackRecipientIds: [w.mark.id] }));
    expect(err).toBe("INVALID_RECIPIENT");
  });
});

describe("races", () => {
  it("a time-out racing an accept at a hop: exactly one wins, never both a new hop and an accepted request", async () => {
    for (let i = 0; i < 12; i++) {
      chatId = (await createChat(db.dataSource, w.organizationId, w.mark.id)).id;
      const first = await chain([lisa.id, kim.id]);
      await expire(first.id);
      const second = (await pendingOf());
      // The deadline a few milliseconds ahead: the accept and the drain meet around it.
      await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() + interval '15 milliseconds' WHERE id = $1`, [second.id]);
      await new Promise((r) => setTimeout(r, 10 + (i % 4)));
      const drains = async () => {
        for (let k = 0; k < 10; k++) {
          await a.timeOutDue();
          await new Promise((r) => setTimeout(r, 2));
        }
      };
      const [accepted] = await Promise.all([codeOfRejection(a.acceptAssignment(lisa, second.id)), drains()]);
      const accepts = await count(`assignment_requests WHERE id = $1 AND status = 'ACCEPTED'`, [second.id]);
      const hops = await count(`assignment_requests WHERE previous_request_id = $1`, [second.id]);
      expect(accepts + hops).toBe(1);
      expect(accepted === "resolved").toBe(accepts === 1);
      if (accepts === 1) expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chatId, lisa.id])).toBe(1);
    }
  });

  it("two instances draining the same due chains make each hop once", async () => {
    const other = testServices(db.dataSource);
    const firsts: string[] = [];
    const chats: string[] = [];
    for (let i = 0; i < 20; i++) {
      chatId = (await createChat(db.dataSource, w.organizationId, w.mark.id)).id;
      chats.push(chatId);
      firsts.push((await chain([lisa.id])).id);
    }
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 millisecond' WHERE id = ANY($1)`, [firsts]);
    await Promise.all([a.timeOutDue(), other.handovers.timeOutDue(), a.timeOutDue(), other.handovers.timeOutDue()]);
    await a.timeOutDue();
    expect(await count(`assignment_requests WHERE previous_request_id = ANY($1)`, [firsts])).toBe(20);
    expect(await count(`assignment_requests WHERE chat_session_id = ANY($1) AND status = 'PENDING' AND hop = 2`, [chats])).toBe(20);
    expect(await count(`notifications WHERE request_id = ANY($1) AND type = 'ASSIGNMENT_FORWARDED'`, [firsts])).toBe(20);
  });

  it("a fallback going AWAY while the hop to them is being made: the hop waits for that change and skips them", async () => {
    const first = await chain([lisa.id, kim.id]);
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 millisecond' WHERE id = $1`, [first.id]);
    const away = db.dataSource.createQueryRunner();
    await away.startTransaction();
    try {
      await away.query(`UPDATE users SET availability = 'AWAY' WHERE id = $1`, [lisa.id]);
      const draining = a.timeOutDue();
      await new Promise((r) => setTimeout(r, 300));
      await away.commitTransaction();
      expect(await draining).toEqual([first.id]);
    } finally {
      await away.release();
      await db.dataSource.query(`UPDATE users SET availability = 'AVAILABLE' WHERE id = $1`, [lisa.id]);
    }
    expect(await pendingOf()).toMatchObject({ recipient_id: kim.id, hop: 2 });
    expect((await messagesTo(w.mark.id, first.id))[0].message).toBe("Martha did not respond in time; the request went to Kim.");
  });

  it("a due chain whose chat another transaction holds is left for the next drain, then hops once", async () => {
    const first = await chain([lisa.id]);
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 millisecond' WHERE id = $1`, [first.id]);
    const holder = db.dataSource.createQueryRunner();
    await holder.startTransaction();
    try {
      await holder.query(`SELECT id FROM chat_sessions WHERE id = $1 FOR NO KEY UPDATE`, [chatId]);
      const batch = await a.timeOutDueBatch();
      expect(batch.timedOut).not.toContain(first.id);
      expect(batch.deferred).toBeGreaterThanOrEqual(1);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect(await a.timeOutDue()).toContain(first.id);
    expect(await pendingOf()).toMatchObject({ recipient_id: lisa.id, hop: 2 });
  });
});
