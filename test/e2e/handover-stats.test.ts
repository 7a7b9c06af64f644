import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcceptAssignmentDocument, AssignChatDocument, HandoverStatsDocument, RejectAssignmentDocument, RejectReasonsDocument } from "../../schema/generated/graphql";
import type { User } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";

// Issue #24, pair statistics: handoverStats against counts made here from the records themselves.

let db: TestDatabase;
let server: TestServer;
let w: World;
let other: World;

interface Rec {
  kind: "ASSIGN_REQUEST" | "DIRECT_ASSIGN" | "DISCUSS_REQUEST";
  status: string;
  sender: User;
  recipient: User;
  at: Date;
  seconds: number | null;
}
const records: Rec[] = [];

async function insert(world: World, r: Rec): Promise<void> {
  const chat = await createChat(db.dataSource, world.organizationId, r.sender.id);
  await db.dataSource.query(
    `INSERT INTO engagement_tracking_records (id, organization_id, kind, status, chat_session_id, initiated_by_id, from_user_id, to_user_id,
       requested_at, responded_at, response_seconds, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $8, $8)`,
    [randomUUID(), world.organizationId, r.kind, r.status, chat.id, r.sender.id, r.recipient.id, r.at, r.seconds === null ? null : new Date(r.at.getTime() + r.seconds * 1000), r.seconds],
  );
  if (world === w) records.push(r);
}

/** percentile_cont, as Postgres computes it (linear between the two nearest ranks). */
function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = p * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return Math.round((s[lo] + (s[hi] - s[lo]) * (pos - lo)) * 1000) / 1000;
}

/** What a row must say, counted here from the records. */
function expected(of: Rec[]) {
  const handovers = of.filter((r) => r.kind !== "DISCUSS_REQUEST");
  const n = (status: string) => handovers.filter((r) => r.status === status).length;
  const accepted = handovers.filter((r) => r.status === "ACCEPTED");
  const decided = n("ACCEPTED") + n("REJECTED") + n("TIMED_OUT");
  return {
    handovers: handovers.length,
    accepted: n("ACCEPTED"),
    rejected: n("REJECTED"),
    timedOut: n("TIMED_OUT"),
    withdrawn: n("WITHDRAWN"),
    acceptanceRate: decided ? Math.round((n("ACCEPTED") / decided) * 10_000) / 10_000 : null,
    medianSecondsToAccept: percentile(accepted.map((r) => r.seconds!), 0.5),
    p90SecondsToAccept: percentile(accepted.map((r) => r.seconds!), 0.9),
  };
}

const FROM = new Date("2026-03-01T00:00:00Z");
const TO = new Date("2026-04-01T00:00:00Z");
const STATUSES = ["ACCEPTED", "ACCEPTED", "REJECTED", "TIMED_OUT", "WITHDRAWN", "ACCEPTED", "CANCELLED", "PENDING"];

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
  other = await createWorld(db.dataSource, "Globex");
  // New York: 2026-03-10T03:00Z is the 9th there.
  await db.dataSource.query(
    `INSERT INTO assign_discuss_settings (organization_id, time_zone) VALUES ($1, 'America/New_York')
     ON CONFLICT (organization_id) DO UPDATE SET time_zone = EXCLUDED.time_zone`,
    [w.organizationId],
  );
  const people = [w.mark, w.martha, w.tom, w.maria];
  let k = 0;
  for (let day = 0; day < 6; day++) {
    for (const [i, sender] of people.entries()) {
      const recipient = people[(i + 1 + (day % 3)) % people.length];
      if (recipient.id === sender.id) continue;
      const status = STATUSES[k % STATUSES.length];
      const at = new Date(Date.UTC(2026, 2, 8 + day, (k * 5) % 24, k % 60));
      await insert(w, { kind: "ASSIGN_REQUEST", status, sender, recipient, at, seconds: status === "ACCEPTED" || status === "REJECTED" ? 3 + ((k * 7) % 50) : null });
      k++;
    }
  }
  await insert(w, { kind: "DIRECT_ASSIGN", status: "ASSIGNED", sender: w.maria, recipient: w.tom, at: new Date("2026-03-10T03:00:00Z"), seconds: 0 });
  // Not handovers, or outside the period: never counted.
  await insert(w, { kind: "DISCUSS_REQUEST", status: "ACCEPTED", sender: w.mark, recipient: w.martha, at: new Date("2026-03-12T12:00:00Z"), seconds: 5 });
  const outside = { kind: "ASSIGN_REQUEST" as const, status: "ACCEPTED", sender: w.mark, recipient: w.martha, seconds: 5 };
  for (const at of [new Date("2026-02-28T23:59:59.999Z"), TO]) {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    await db.dataSource.query(
      `INSERT INTO engagement_tracking_records (organization_id, kind, status, chat_session_id, initiated_by_id, from_user_id, to_user_id, requested_at, response_seconds, created_at)
       VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $7)`,
      [w.organizationId, outside.kind, outside.status, chat.id, outside.sender.id, outside.recipient.id, at, outside.seconds],
    );
  }
  // Another organization's handovers between its own people.
  for (let i = 0; i < 5; i++) await insert(other, { kind: "ASSIGN_REQUEST", status: "ACCEPTED", sender: other.mark, recipient: other.martha, at: new Date("2026-03-15T10:00:00Z"), seconds: 9 });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const stats = (groupBy: "SENDER" | "RECIPIENT" | "PAIR" | "DAY", as: User, extra: { senderId?: string; recipientId?: string; from?: Date; to?: Date; world?: World } = {}) =>
  server.gql(
    HandoverStatsDocument,
    { from: (extra.from ?? FROM).toISOString(), to: (extra.to ?? TO).toISOString(), groupBy, senderId: extra.senderId, recipientId: extra.recipientId },
    (extra.world ?? w).token(as),
  );

const inPeriod = () => records.filter((r) => r.at >= FROM && r.at < TO);

describe("handoverStats", () => {
  it("PAIR, SENDER and RECIPIENT rows equal what the records say, with rates and percentiles; discussions and other periods are not counted", async () => {
    const res = await stats("PAIR", w.maria);
    expect(res.errors).toBeUndefined();
    const rows = res.data!.handoverStats;
    const pairs = new Map<string, Rec[]>();
    for (const r of inPeriod().filter((x) => x.kind !== "DISCUSS_REQUEST")) pairs.set(`${r.sender.id}>${r.recipient.id}`, [...(pairs.get(`${r.sender.id}>${r.recipient.id}`) ?? []), r]);
    expect(rows).toHaveLength(pairs.size);
    for (const row of rows) {
      expect(row.day).toBeNull();
      const own = pairs.get(`${row.sender!.id}>${row.recipient!.id}`);
      expect(own, `${row.sender!.name} > ${row.recipient!.name}`).toBeDefined();
      expect(row).toMatchObject(expected(own!));
    }
    // Most handovers first.
    expect(rows.map((r) => r.handovers)).toEqual([...rows.map((r) => r.handovers)].sort((a, b) => b - a));
    expect(rows.reduce((n, r) => n + r.handovers, 0)).toBe(inPeriod().filter((r) => r.kind !== "DISCUSS_REQUEST").length);

    for (const [groupBy, key] of [
      ["SENDER", (r: Rec) => r.sender.id],
      ["RECIPIENT", (r: Rec) => r.recipient.id],
    ] as const) {
      const got = (await stats(groupBy, w.admin)).data!.handoverStats;
      for (const row of got) {
        const id = groupBy === "SENDER" ? row.sender!.id : row.recipient!.id;
        expect(groupBy === "SENDER" ? row.recipient : row.sender).toBeNull();
        expect(row).toMatchObject(expected(inPeriod().filter((r) => key(r) === id)));
      }
      expect(new Set(got.map((r) => (groupBy === "SENDER" ? r.sender!.id : r.recipient!.id))).size).toBe(got.length);
    }

    // bi.handover_pairs counts the same handovers (by New York's days: the records outside the
    // period fall on Feb 28 and Mar 31 there, so the days in between hold exactly the period's).
    const [bi] = await db.dataSource.query<Array<{ n: number; accepted: number }>>(
      `SELECT sum(handovers)::int AS n, sum(accepted)::int AS accepted FROM reporting.handover_pairs WHERE organization_id = $1 AND local_date BETWEEN '2026-03-01' AND '2026-03-30'`,
      [w.organizationId],
    );
    expect(bi).toEqual({ n: rows.reduce((n, r) => n + r.handovers, 0), accepted: rows.reduce((n, r) => n + r.accepted, 0) });
  });

  it("DAY rows fall on the organization's local days", async () => {
    const rows = (await stats("DAY", w.maria)).data!.handoverStats;
    const local = (d: Date) => new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
    const days = new Map<string, Rec[]>();
    for (const r of inPeriod()) days.set(local(r.at), [...(days.get(local(r.at)) ?? []), r]);
    expect(rows.map((r) => r.day)).toEqual([...days.keys()].sort());
    for (const row of rows) expect(row).toMatchObject(expected(days.get(row.day!)!));
    // The direct move at 03:00 UTC on the 10th counts on the 9th in New York.
    expect(rows.find((r) => r.day === "2026-03-09")!.handovers).toBe(expected(days.get("2026-03-09")!).handovers);
  });

  it("a user counts only handovers they sent or received; filters narrow; another organization's ids find nothing", async () => {
    const tom = (await stats("PAIR", w.tom)).data!.handoverStats;
    expect(tom.length).toBeGreaterThan(0);
    for (const row of tom) expect([row.sender!.id, row.recipient!.id]).toContain(w.tom.id);
    const mine = inPeriod().filter((r) => r.kind !== "DISCUSS_REQUEST" && (r.sender.id === w.tom.id || r.recipient.id === w.tom.id));
    expect(tom.reduce((n, r) => n + r.handovers, 0)).toBe(mine.length);
    // Grouped by sender, Mark's row for Tom holds only what Mark sent Tom.
    const bySender = (await stats("SENDER", w.tom)).data!.handoverStats;
    const mark = bySender.find((r) => r.sender!.id === w.mark.id);
    expect(mark).toMatchObject(expected(mine.filter((r) => r.sender.id === w.mark.id)));

    const filtered = (await stats("RECIPIENT", w.maria, { senderId: w.mark.id })).data!.handoverStats;
    expect(filtered.reduce((n, r) => n + r.handovers, 0)).toBe(inPeriod().filter((r) => r.kind !== "DISCUSS_REQUEST" && r.sender.id === w.mark.id).length);
    const pair = (await stats("PAIR", w.maria, { senderId: w.mark.id, recipientId: w.martha.id })).data!.handoverStats;
    for (const row of pair) expect([row.sender!.id, row.recipient!.id]).toEqual([w.mark.id, w.martha.id]);

    expect((await stats("PAIR", w.maria, { senderId: other.mark.id })).data!.handoverStats).toEqual([]);
    expect((await stats("PAIR", other.maria, { world: other })).data!.handoverStats).toEqual([
      expect.objectContaining({ sender: { id: other.mark.id, name: "Mark" }, recipient: { id: other.martha.id, name: "Martha" }, handovers: 5, accepted: 5 }),
    ]);
  });

  it("counts a handover made through the API, its sender and recipient as the request named them", async () => {
    const org = await createWorld(db.dataSource, "Initech");
    const chat = await createChat(db.dataSource, org.organizationId, org.mark.id);
    const from = new Date(Date.now() - 60_000);
    const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, org.martha.id) }, org.token(org.mark));
    await server.gql(AcceptAssignmentDocument, { requestId: sent.data!.assignChat.id }, org.token(org.martha));
    const rows = (await stats("PAIR", org.maria, { world: org, from, to: new Date(Date.now() + 60_000) })).data!.handoverStats;
    expect(rows).toEqual([expect.objectContaining({ sender: { id: org.mark.id, name: "Mark" }, recipient: { id: org.martha.id, name: "Martha" }, handovers: 1, accepted: 1, acceptanceRate: 1 })]);
    expect(rows[0].medianSecondsToAccept).toBeGreaterThanOrEqual(0);
  });

  it("refuses a period that ends before it starts or spans more than 366 days, malformed ids and strangers", async () => {
    expect(codeOf(await stats("PAIR", w.maria, { from: TO, to: FROM }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await stats("PAIR", w.maria, { from: FROM, to: FROM }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await stats("PAIR", w.maria, { from: new Date("2025-01-01T00:00:00Z"), to: new Date("2026-01-03T00:00:00Z") }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await stats("PAIR", w.maria, { senderId: "not-an-id" }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await stats("PAIR", w.maria, { recipientId: "not-an-id" }))).toBe("BAD_USER_INPUT");
    const res = await server.gql(HandoverStatsDocument, { from: FROM.toISOString(), to: TO.toISOString(), groupBy: "WEEK" as never });
    expect(codeOf(res)).toBeDefined();
    const anonymous = await server.gql(HandoverStatsDocument, { from: FROM.toISOString(), to: TO.toISOString(), groupBy: "PAIR" });
    expect(codeOf(anonymous)).toBe("UNAUTHENTICATED");
    const user = await createUser(db.dataSource, w.organizationId, { name: "Newcomer" });
    expect((await stats("PAIR", user)).data!.handoverStats).toEqual([]);
  });

  it("rejectReasons: each reason and how often, most given first, presets marked; a user's own only; bad periods refused", async () => {
    const org = await createWorld(db.dataSource, "Umbrella");
    const from = new Date(Date.now() - 60_000);
    const to = new Date(Date.now() + 60_000);
    const reject = async (reason: string, by = org.martha, sender = org.mark) => {
      const chat = await createChat(db.dataSource, org.organizationId, sender.id);
      const sent = await server.gql(AssignChatDocument, { input: assignInput(chat.id, by.id) }, org.token(sender));
      expect(sent.errors).toBeUndefined();
      const res = await server.gql(RejectAssignmentDocument, { requestId: sent.data!.assignChat.id, reason }, org.token(by));
      expect(res.errors).toBeUndefined();
    };
    await reject("Busy with another customer");
    await reject("Busy with another customer");
    await reject("Wrong language");
    await reject("Not my team", org.tom);
    const all = (await server.gql(RejectReasonsDocument, { from: from.toISOString(), to: to.toISOString() }, org.token(org.maria))).data!.rejectReasons;
    expect(all[0]).toEqual({ reason: "Busy with another customer", count: 2, preset: false });
    expect(all.map((r) => r.reason).sort()).toEqual(["Busy with another customer", "Not my team", "Wrong language"]);
    // Martha sees the rejections she made (or received), not Tom's.
    const hers = (await server.gql(RejectReasonsDocument, { from: from.toISOString(), to: to.toISOString() }, org.token(org.martha))).data!.rejectReasons;
    expect(hers.map((r) => r.reason).sort()).toEqual(["Busy with another customer", "Wrong language"]);
    expect(codeOf(await server.gql(RejectReasonsDocument, { from: to.toISOString(), to: from.toISOString() }, org.token(org.maria)))).toBe("BAD_USER_INPUT");
    // Another organization's rejections are not counted.
    expect((await server.gql(RejectReasonsDocument, { from: from.toISOString(), to: to.toISOString() }, w.token(w.maria))).data!.rejectReasons.map((r) => r.reason)).not.toContain("Not my team");
  });
});
