import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RecipientType, RequestStatus } from "../../src/modules/assignments/assignment-request.entity";
import type { HandoverEngine } from "../../src/engine/handover-engine";
import { ChatStatus } from "../../src/modules/chat-sessions/chat-session.entity";
import { UserRole } from "../../src/modules/users/user.entity";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOfRejection, testServices } from "../support/services";

let db: TestDatabase;
let w: World;
let svc: ReturnType<typeof testServices>;
let a: HandoverEngine;

beforeAll(async () => {
  db = await createTestDatabase();
  svc = testServices(db.dataSource);
  a = svc.handovers;
  w = await createWorld(db.dataSource);
});
afterAll(() => db?.drop());

let chatId: string;
beforeEach(async () => {
  chatId = (await createChat(db.dataSource, w.organizationId, w.mark.id)).id;
});

const count = (sql: string, params: unknown[]): Promise<number> => countRows(db.dataSource, sql, params);

const send = () => a.assignChat(w.mark, assignInput(chatId, w.martha.id));

describe("allowed transitions, each with its record, event and notifications", () => {
  it("PENDING -> ACCEPTED by the recipient moves the chat", async () => {
    const r = await send();
    const done = await a.acceptAssignment(w.martha, r.id);
    expect(done.status).toBe(RequestStatus.ACCEPTED);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chatId, w.martha.id])).toBe(1);
    expect(await count(`engagement_tracking_records WHERE request_id = $1 AND status = 'ACCEPTED' AND responded_by_id = $2`, [r.id, w.martha.id])).toBe(1);
    expect(await count(`assignment_events WHERE request_id = $1`, [r.id])).toBe(2);
    expect(await count(`notifications WHERE request_id = $1 AND user_id = $2 AND type = 'ASSIGNMENT_ACCEPTED'`, [r.id, w.mark.id])).toBe(1);
  });

  it("PENDING -> REJECTED by the recipient leaves the chat with the sender", async () => {
    const r = await send();
    await a.rejectAssignment(w.martha, r.id, "Not available");
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chatId, w.mark.id])).toBe(1);
    expect(await count(`engagement_tracking_records WHERE request_id = $1 AND status = 'REJECTED' AND reason = 'Not available'`, [r.id])).toBe(1);
  });

  it("PENDING -> WITHDRAWN by the sender tells the recipient", async () => {
    const r = await send();
    await a.withdrawAssignment(w.mark, r.id, "I resolved it myself");
    expect(await count(`notifications WHERE request_id = $1 AND user_id = $2 AND type = 'ASSIGNMENT_WITHDRAWN'`, [r.id, w.martha.id])).toBe(1);
    expect(await count(`notifications WHERE request_id = $1 AND user_id = $2 AND type = 'ASSIGNMENT_WITHDRAWN'`, [r.id, w.mark.id])).toBe(0);
  });

  it("PENDING -> WITHDRAWN by a manager tells both parties", async () => {
    const r = await send();
    const done = await a.withdrawAssignment(w.maria, r.id, "Reorganising the queue");
    expect(done.respondedById).toBe(w.maria.id);
    expect(await count(`notifications WHERE request_id = $1 AND type = 'ASSIGNMENT_WITHDRAWN'`, [r.id])).toBe(2);
  });

  it("PENDING -> TIMED_OUT when an action arrives after the deadline: REQUEST_EXPIRED, stored", async () => {
    const r = await send();
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 millisecond' WHERE id = $1`, [r.id]);
    expect(await codeOfRejection(a.acceptAssignment(w.martha, r.id))).toBe("REQUEST_EXPIRED");
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'TIMED_OUT'`, [r.id])).toBe(1);
    expect(await count(`engagement_tracking_records WHERE request_id = $1 AND status = 'TIMED_OUT'`, [r.id])).toBe(1);
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chatId, w.mark.id])).toBe(1);
    expect(await count(`notifications WHERE request_id = $1 AND type = 'ASSIGNMENT_TIMED_OUT'`, [r.id])).toBe(2);
    // It is final now: the next action hears what it became.
    expect(await codeOfRejection(a.acceptAssignment(w.martha, r.id))).toBe("REQUEST_NOT_PENDING");
  });

  it("PENDING -> TIMED_OUT by the scheduler's transition, only past the deadline", async () => {
    const r = await send();
    expect(await a.timeOutDue()).not.toContain(r.id);
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [r.id]);
    expect(await a.timeOutDue()).toContain(r.id);
    expect(await a.timeOutDue()).not.toContain(r.id);
    expect(await count(`assignment_events WHERE request_id = $1 AND type = 'TIMED_OUT'`, [r.id])).toBe(1);
  });

  it("timeOutDue settles every due request in one transaction, set-based, skipping rows another transaction holds", async () => {
    const due = async (n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
        ids.push((await a.assignChat(w.mark, assignInput(chat.id, w.martha.id))).id);
      }
      await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE id = ANY($1)`, [ids]);
      return ids;
    };
    const notYet = await send();
    // Leftovers of earlier tests are settled first so the counts below are this test's.
    await a.timeOutDue();

    const two = await due(2);
    let before = db.counter.count;
    expect((await a.timeOutDue()).sort()).toEqual([...two].sort());
    const statementsForTwo = db.counter.count - before;

    const many = await due(25);
    const held = many.pop()!;
    const holder = db.dataSource.createQueryRunner();
    await holder.startTransaction();
    try {
      await holder.query(`SELECT id FROM assignment_requests WHERE id = $1 FOR NO KEY UPDATE`, [held]);
      before = db.counter.count;
      expect((await a.timeOutDue()).sort()).toEqual([...many].sort());
      // 24 requests cost what 2 did (the holder's SELECT is not counted: it ran before).
      expect(db.counter.count - before).toBe(statementsForTwo);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect(await count(`assignment_requests WHERE id = ANY($1) AND status = 'TIMED_OUT'`, [many])).toBe(24);
    // Nobody responded: a duration, no response time.
    expect(await count(`engagement_tracking_records WHERE request_id = ANY($1) AND status = 'TIMED_OUT' AND response_seconds IS NULL AND duration_seconds >= 0`, [many])).toBe(24);
    expect(await count(`assignment_events WHERE request_id = ANY($1) AND type = 'TIMED_OUT'`, [many])).toBe(24);
    expect(await count(`notifications WHERE request_id = ANY($1) AND type = 'ASSIGNMENT_TIMED_OUT'`, [many])).toBe(48);
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'PENDING'`, [notYet.id])).toBe(1);
    // Released, the held one is due and taken by the next call.
    expect(await a.timeOutDue()).toEqual([held]);
    expect(await a.timeOutDue()).toEqual([]);
  });

  it("PENDING -> CANCELLED when the chat is closed; both parties told", async () => {
    const r = await send();
    await svc.chats.close(w.maria, chatId);
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'CANCELLED'`, [r.id])).toBe(1);
    expect(await count(`notifications WHERE request_id = $1 AND type = 'ASSIGNMENT_CANCELLED'`, [r.id])).toBe(2);
    expect(await codeOfRejection(a.assignChat(w.mark, assignInput(chatId, w.martha.id)))).toBe("CHAT_CLOSED");
    expect(await codeOfRejection(svc.chats.close(w.mark, chatId))).toBe("CHAT_CLOSED");
  });

  it("PENDING -> CANCELLED when a party is deactivated", async () => {
    const r = await send();
    const temp = await svc.users.upsert(w.admin, { email: w.martha.email, name: "Martha", role: UserRole.USER, active: false });
    expect(temp.active).toBe(false);
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'CANCELLED'`, [r.id])).toBe(1);
    await svc.users.upsert(w.admin, { email: w.martha.email, name: "Martha", role: UserRole.USER, active: true });
  });
});

describe("illegal transitions", () => {
  const finish = {
    ACCEPTED: (id: string) => a.acceptAssignment(w.martha, id),
    REJECTED: (id: string) => a.rejectAssignment(w.martha, id, "No"),
    WITHDRAWN: (id: string) => a.withdrawAssignment(w.mark, id, "No"),
  };
  for (const [first, doFirst] of Object.entries(finish)) {
    for (const [second, doSecond] of Object.entries(finish)) {
      it(`${first} then ${second}: REQUEST_NOT_PENDING, nothing written`, async () => {
        const r = await send();
        await doFirst(r.id);
        const events = await count(`assignment_events WHERE request_id = $1`, [r.id]);
        try {
          await doSecond(r.id);
          expect.unreachable();
        } catch (err) {
          const e = err as { code: string; details: { status: string } };
          expect(e.code).toBe("REQUEST_NOT_PENDING");
          expect(e.details.status).toBe(first);
        }
        expect(await count(`assignment_events WHERE request_id = $1`, [r.id])).toBe(events);
      });
    }
  }

  it("a second request on a chat with one pending: ASSIGNMENT_ALREADY_PENDING", async () => {
    const r = await send();
    expect(await codeOfRejection(a.assignChat(w.maria, assignInput(chatId, w.tom.id)))).toBe("ASSIGNMENT_ALREADY_PENDING");
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(1);
    await a.rejectAssignment(w.martha, r.id, "Busy");
    await expect(a.assignChat(w.mark, assignInput(chatId, w.tom.id))).resolves.toMatchObject({ status: "PENDING" });
  });

  it("a request past its deadline does not block a new one: it times out first", async () => {
    const r = await send();
    await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [r.id]);
    const next = await a.assignChat(w.mark, assignInput(chatId, w.tom.id));
    expect(next.status).toBe("PENDING");
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'TIMED_OUT'`, [r.id])).toBe(1);
  });
});

describe("who may do what", () => {
  it("only the chat's owner, a manager or an admin may send a request", async () => {
    expect(await codeOfRejection(a.assignChat(w.tom, assignInput(chatId, w.martha.id)))).toBe("FORBIDDEN");
    const byManager = await a.assignChat(w.maria, assignInput(chatId, w.martha.id));
    expect(byManager.senderId).toBe(w.maria.id);
    await a.withdrawAssignment(w.maria, byManager.id, "test");
    await expect(a.assignChat(w.admin, assignInput(chatId, w.martha.id))).resolves.toMatchObject({ senderId: w.admin.id });
  });

  it("the recipient must be active, not the owner, not the sender, and of the chosen type", async () => {
    const gone = await createUser(db.dataSource, w.organizationId, { name: "Gone", active: false });
    const cases: Array<[string, RecipientType]> = [
      [gone.id, RecipientType.USER],
      [w.mark.id, RecipientType.USER],
      [w.maria.id, RecipientType.USER],
      [w.martha.id, RecipientType.MANAGER],
      ["00000000-0000-4000-8000-000000000000", RecipientType.USER],
    ];
    for (const [recipientId, type] of cases) {
      expect(await codeOfRejection(a.assignChat(w.mark, assignInput(chatId, recipientId, type)))).toBe("INVALID_RECIPIENT");
    }
    expect(await codeOfRejection(a.assignChat(w.maria, assignInput(chatId, w.maria.id, RecipientType.MANAGER)))).toBe("INVALID_RECIPIENT");
    // MANAGER covers admins.
    await expect(a.assignChat(w.mark, assignInput(chatId, w.admin.id, RecipientType.MANAGER))).resolves.toMatchObject({ status: "PENDING" });
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(1);
  });

  it("only the recipient accepts or rejects; a bystander user cannot even see the request", async () => {
    const r = await send();
    expect(await codeOfRejection(a.acceptAssignment(w.mark, r.id))).toBe("FORBIDDEN");
    expect(await codeOfRejection(a.rejectAssignment(w.maria, r.id, "no"))).toBe("FORBIDDEN");
    expect(await codeOfRejection(a.acceptAssignment(w.tom, r.id))).toBe("NOT_FOUND");
    expect(await codeOfRejection(a.withdrawAssignment(w.tom, r.id, "no"))).toBe("NOT_FOUND");
    expect(await codeOfRejection(a.withdrawAssignment(w.martha, r.id, "no"))).toBe("FORBIDDEN");
    expect(await count(`assignment_requests WHERE id = $1 AND status = 'PENDING'`, [r.id])).toBe(1);
  });

  it("a closed chat cannot be assigned; a user cannot close another's chat", async () => {
    const closed = await createChat(db.dataSource, w.organizationId, w.mark.id, { status: ChatStatus.CLOSED });
    expect(await codeOfRejection(a.assignChat(w.mark, assignInput(closed.id, w.martha.id)))).toBe("CHAT_CLOSED");
    expect(await codeOfRejection(svc.chats.close(w.tom, chatId))).toBe("FORBIDDEN");
  });

  it("admin-only operations refuse users and managers", async () => {
    for (const who of [w.mark, w.maria]) {
      expect(await codeOfRejection(svc.settings.update(who, { assignRequestTimeoutSeconds: 30 }))).toBe("FORBIDDEN");
      expect(await codeOfRejection(svc.users.upsert(who, { email: "x@y.test", name: "X", role: UserRole.USER }))).toBe("FORBIDDEN");
      expect(
        await codeOfRejection(svc.chats.open(who, { customerName: "C", customerPhone: "+14155550100", ownerId: w.mark.id })),
      ).toBe("FORBIDDEN");
    }
  });

  it("settings: the timeout is bounded, and a new one applies to new requests only", async () => {
    for (const bad of [4, 86_401, 0, -5, 12.5]) {
      expect(await codeOfRejection(svc.settings.update(w.admin, { assignRequestTimeoutSeconds: bad }))).toBe("BAD_USER_INPUT");
    }
    const old = await send();
    await svc.settings.update(w.admin, { assignRequestTimeoutSeconds: 30, rejectReasonPresets: [" Busy ", "Busy", "Lunch"] });
    const s = await svc.settings.get(w.organizationId);
    expect(s.rejectReasonPresets).toEqual(["Busy", "Lunch"]);
    expect(s.withdrawReasonPresets).toEqual(["No longer needed", "I resolved it myself"]);
    const chat2 = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const fresh = await a.assignChat(w.mark, assignInput(chat2.id, w.martha.id));
    expect(fresh.timeoutSeconds).toBe(30);
    expect(fresh.expiresAt.getTime() - fresh.createdAt.getTime()).toBe(30_000);
    const kept = await a.findVisible(w.mark, old.id);
    expect(kept.timeoutSeconds).toBe(120);
    await svc.settings.update(w.admin, { assignRequestTimeoutSeconds: 120 });
  });
});

describe("races", () => {
  it("20 concurrent accept/reject/withdraw calls: one wins, one transition recorded, one notification", async () => {
    const r = await send();
    const calls = Array.from({ length: 20 }, (_, i) =>
      i % 3 === 0
        ? a.acceptAssignment(w.martha, r.id)
        : i % 3 === 1
          ? a.rejectAssignment(w.martha, r.id, "busy")
          : a.withdrawAssignment(w.mark, r.id, "changed my mind"),
    );
    const results = await Promise.allSettled(calls);
    const won = results.filter((x) => x.status === "fulfilled");
    expect(won).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ status: string }>).value.status;
    for (const lost of results.filter((x) => x.status === "rejected")) {
      const e = (lost).reason as { code: string; details: { status: string } };
      expect(e.code).toBe("REQUEST_NOT_PENDING");
      expect(e.details.status).toBe(winner);
    }
    expect(await count(`assignment_events WHERE request_id = $1 AND type <> 'CREATED'`, [r.id])).toBe(1);
    expect(await count(`engagement_tracking_records WHERE request_id = $1 AND status = $2`, [r.id, winner])).toBe(1);
    expect(await count(`notifications WHERE request_id = $1 AND type <> 'ASSIGNMENT_REQUESTED'`, [r.id])).toBe(1);
    const owner = winner === "ACCEPTED" ? w.martha.id : w.mark.id;
    expect(await count(`chat_sessions WHERE id = $1 AND owner_id = $2`, [chatId, owner])).toBe(1);
  });

  it("assignChat racing the recipient going AWAY (requireAvailableRecipient): the request waits for that change and is refused, never left pending to an AWAY user", async () => {
    await svc.settings.update(w.admin, { requireAvailableRecipient: true });
    const away = db.dataSource.createQueryRunner();
    await away.startTransaction();
    try {
      await away.query(`UPDATE users SET availability = 'AWAY' WHERE id = $1`, [w.martha.id]);
      const sending = send().then(
        () => "sent",
        (err: { code?: string }) => err.code ?? "no code",
      );
      await new Promise((r) => setTimeout(r, 300)); // read Martha as AVAILABLE, now waiting on her row
      await away.commitTransaction();
      expect(await sending).toBe("RECIPIENT_UNAVAILABLE");
      expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(0);
      expect(await count(`engagement_tracking_records WHERE chat_session_id = $1`, [chatId])).toBe(0);
    } finally {
      await away.release();
      await db.dataSource.query(`UPDATE users SET availability = 'AVAILABLE' WHERE id = $1`, [w.martha.id]);
      await svc.settings.update(w.admin, { requireAvailableRecipient: false });
    }
  });

  it("assignChat racing the recipient's deactivation: no request is left pending to an inactive user", async () => {
    const temp = await createUser(db.dataSource, w.organizationId, { name: "Temp" });
    const off = db.dataSource.createQueryRunner();
    await off.startTransaction();
    try {
      await off.query(`UPDATE users SET active = false WHERE id = $1`, [temp.id]);
      const sending = a.assignChat(w.mark, assignInput(chatId, temp.id)).then(
        () => "sent",
        (err: { code?: string }) => err.code ?? "no code",
      );
      await new Promise((r) => setTimeout(r, 300));
      await off.commitTransaction();
      expect(await sending).toBe("INVALID_RECIPIENT");
      expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(0);
    } finally {
      await off.release();
    }
  });

  it("10 concurrent requests for one chat: exactly one is created", async () => {
    const people = [w.martha, w.tom, w.maria];
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => a.assignChat(w.mark, assignInput(chatId, people[i % 2].id))),
    );
    expect(results.filter((x) => x.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === "rejected")) {
      expect((r.reason as { code: string }).code).toBe("ASSIGNMENT_ALREADY_PENDING");
    }
    expect(await count(`assignment_requests WHERE chat_session_id = $1`, [chatId])).toBe(1);
    expect(await count(`engagement_tracking_records WHERE chat_session_id = $1`, [chatId])).toBe(1);
  });
});

describe("honest measures on the tracking record", () => {
  const record = async (requestId: string) =>
    (
      await db.dataSource.query<Array<{ response_seconds: string | null; duration_seconds: string | null; reason_is_preset: boolean | null }>>(
        `SELECT response_seconds, duration_seconds, reason_is_preset FROM engagement_tracking_records WHERE request_id = $1`,
        [requestId],
      )
    )[0];

  it("a response time only when a person responded; a duration whatever settled it; whether the reason was a quick pick", async () => {
    await svc.settings.update(w.admin, { rejectReasonPresets: ["In a meeting", "Busy"], withdrawReasonPresets: ["No longer needed"] });
    const accepted = await send();
    await a.acceptAssignment(w.martha, accepted.id);
    expect(await record(accepted.id)).toMatchObject({ reason_is_preset: null });
    expect((await record(accepted.id)).response_seconds).not.toBeNull();

    chatId = (await createChat(db.dataSource, w.organizationId, w.mark.id)).id;
    const preset = await send();
    await a.rejectAssignment(w.martha, preset.id, "In a meeting");
    expect(await record(preset.id)).toMatchObject({ reason_is_preset: true });
    expect((await record(preset.id)).response_seconds).not.toBeNull();

    chatId = (await createChat(db.dataSource, w.organizationId, w.mark.id)).id;
    const free = await send();
    await a.rejectAssignment(w.martha, free.id, "Ask Tom instead");
    expect(await record(free.id)).toMatchObject({ reason_is_preset: false });

    chatId = (await createChat(db.dataSource, w.organizationId, w.mark.id)).id;
    const withdrawn = await send();
    await a.withdrawAssignment(w.mark, withdrawn.id, "No longer needed");
    const r = await record(withdrawn.id);
    expect(r).toMatchObject({ response_seconds: null, reason_is_preset: true });
    expect(Number(r.duration_seconds)).toBeGreaterThanOrEqual(0);
  });
});
