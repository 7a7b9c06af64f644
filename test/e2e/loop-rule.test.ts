import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatMoves, loopCode, loopProblem, type LoopSettings } from "../../src/engine/rules";
import { loopRuleSql } from "../../src/repositories/moves.repository";
import { createTestDatabase, type TestDatabase } from "../support/db";

// The loop rule (issue #24) as a table: every setting x count x last move (none, to the owner or
// not, from the recipient or not, at ages around the window). Each row is checked against the
// rule as it reads in words, and the rule's SQL form (the guard the open statement carries) is
// checked to give the same answer on the same facts in Postgres.

const OWNER = "00000000-0000-4000-8000-000000000001";
const RECIPIENT = "00000000-0000-4000-8000-000000000002";
const OTHER = "00000000-0000-4000-8000-000000000003";
const NOW = new Date("2026-12-06T12:00:00.000Z");

interface Case {
  s: LoopSettings;
  moves: ChatMoves;
}

/** The expected answer, as the rule reads in words. */
function expected(c: Case): string | null {
  if (c.s.maxHandoversPerChatPerDay > 0 && c.moves.inDay >= c.s.maxHandoversPerChatPerDay) return "HANDOVER_LIMIT_REACHED";
  const last = c.moves.last;
  const bounce =
    c.s.pingPongMinutes > 0 && last !== null && last.toUserId === OWNER && last.fromUserId === RECIPIENT && NOW.getTime() - last.at.getTime() < c.s.pingPongMinutes * 60_000;
  return bounce ? "HANDOVER_LOOP" : null;
}

const cases: Case[] = [];
for (const maxHandoversPerChatPerDay of [0, 3]) {
  for (const pingPongMinutes of [0, 30]) {
    for (const inDay of [0, 2, 3, 4]) {
      const lasts: Array<ChatMoves["last"]> = [null];
      for (const toUserId of [OWNER, OTHER]) {
        for (const fromUserId of [RECIPIENT, OTHER]) {
          for (const ageSeconds of [5, 29 * 60 + 59, 30 * 60, 45 * 60]) {
            lasts.push({ recordId: "00000000-0000-4000-8000-0000000000aa", requestId: null, fromUserId, toUserId, at: new Date(NOW.getTime() - ageSeconds * 1000) });
          }
        }
      }
      for (const last of lasts) cases.push({ s: { maxHandoversPerChatPerDay, pingPongMinutes }, moves: { last, inDay } });
    }
  }
}

describe("the loop rule, as a function", () => {
  it(`gives the answer the rule's words give, in all ${cases.length} cases`, () => {
    let refused = 0;
    for (const c of cases) {
      const p = loopProblem(c.moves, OWNER, RECIPIENT, c.s, NOW);
      const code = p ? loopCode(p) : null;
      expect(code, JSON.stringify(c)).toBe(expected(c));
      if (code) refused++;
    }
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(cases.length);
  });
});

describe("the loop rule's SQL form", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });

  it("refuses exactly where the function does, with the same code", async () => {
    const rule = loopRuleSql({ f: "f", owner: "$1::uuid", recipient: "$2::uuid", now: "$3", minutes: "$4::int", maxPerDay: "$5::int" });
    const text = `SELECT ${rule} AS rule FROM (SELECT $6::uuid AS last_to, $7::uuid AS last_from, $8::timestamptz AS last_at, $9::int AS in_day) f`;
    for (const c of cases) {
      const [row] = await db.dataSource.query<Array<{ rule: string | null }>>(text, [
        OWNER,
        RECIPIENT,
        NOW,
        c.s.pingPongMinutes,
        c.s.maxHandoversPerChatPerDay,
        c.moves.last?.toUserId ?? null,
        c.moves.last?.fromUserId ?? null,
        c.moves.last?.at ?? null,
        c.moves.inDay,
      ]);
      const p = loopProblem(c.moves, OWNER, RECIPIENT, c.s, NOW);
      expect(row.rule, JSON.stringify(c)).toBe(p ? loopCode(p) : null);
    }
  });
});
