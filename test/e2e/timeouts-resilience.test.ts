import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { print } from "graphql";
import { AssignChatDocument } from "../../schema/generated/graphql";
import { inTransaction } from "../../src/db/transaction";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, type World } from "../support/factories";
import { spawnServer } from "../support/process";
import { startTestServer } from "../support/server";
import { testServices } from "../support/services";
import { sleep } from "../support/wait";

let db: TestDatabase;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
  await testServices(db.dataSource).settings.update(w.admin, { assignRequestTimeoutSeconds: 5 });
});
afterAll(() => db?.drop());


async function assign(url: string, chatId: string): Promise<string> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.mark)}` },
    body: JSON.stringify({ query: print(AssignChatDocument), variables: { input: assignInput(chatId, w.martha.id) } }),
  });
  const json = (await res.json()) as { data?: { assignChat: { id: string } }; errors?: unknown };
  if (!json.data) throw new Error(JSON.stringify(json.errors));
  return json.data.assignChat.id;
}

describe("timeouts across crashes and instances", () => {
  it("SIGKILL the server after sending requests: a new one times every request out within a second of its deadline", async () => {
    const first = await spawnServer(db.url);
    const chats = await Promise.all(Array.from({ length: 10 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
    const ids = await Promise.all(chats.map((c) => assign(first.url, c.id)));
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");

    const second = await spawnServer(db.url);
    try {
      await sleep(5_000 + 1_500);
      const rows = await db.dataSource.query<Array<{ status: string; late_ms: string }>>(
        `SELECT status, extract(epoch FROM responded_at - expires_at) * 1000 AS late_ms
           FROM assignment_requests WHERE id = ANY($1)`,
        [ids],
      );
      expect(rows).toHaveLength(10);
      for (const row of rows) {
        expect(row.status).toBe("TIMED_OUT");
        expect(Number(row.late_ms)).toBeGreaterThanOrEqual(0);
        expect(Number(row.late_ms)).toBeLessThan(1_000);
      }
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  }, 40_000);

  it("two instances, 100 requests expiring: each timed out exactly once (one event, one pair of notifications)", async () => {
    // The sweepers are slowed so that the Agenda jobs of both instances compete for every deadline.
    const a = await startTestServer(db.dataSource, { schedulerUrl: db.url, name: "a", sweepEveryMs: 600_000 });
    const b = await startTestServer(db.dataSource, { schedulerUrl: db.url, name: "b", sweepEveryMs: 600_000 });
    try {
      const chats = await Promise.all(Array.from({ length: 100 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
      const ids = await Promise.all(chats.map((c, i) => assign(i % 2 ? a.url : b.url, c.id)));
      await sleep(5_000 + 2_000);
      const rows = await db.dataSource.query<Array<{ status: string; events: number; notes: number }>>(
        `SELECT r.status,
                (SELECT count(*)::int FROM assignment_events e WHERE e.request_id = r.id AND e.type = 'TIMED_OUT') AS events,
                (SELECT count(*)::int FROM notifications n WHERE n.request_id = r.id AND n.type = 'ASSIGNMENT_TIMED_OUT') AS notes
           FROM assignment_requests r WHERE r.id = ANY($1)`,
        [ids],
      );
      expect(rows).toHaveLength(100);
      expect(rows.filter((r) => r.status === "TIMED_OUT")).toHaveLength(100);
      expect(rows.every((r) => r.events === 1 && r.notes === 2)).toBe(true);
      const left = await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM agenda_jobs`);
      expect(left[0].n).toBe(0);
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 40_000);

  it("the sweeper times out a request whose job was lost", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const server = await startTestServer(db.dataSource, { schedulerUrl: db.url, name: "sweeper", sweepEveryMs: 600_000 });
    try {
      const id = await assign(server.url, chat.id);
      await db.dataSource.query(`DELETE FROM agenda_jobs WHERE data->>'requestId' = $1`, [id]);
      await db.dataSource.query(`UPDATE assignment_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
      expect(await server.app.scheduler!.sweep()).toBe(1);
      expect(await server.app.scheduler!.sweep()).toBe(0);
      const [row] = await db.dataSource.query<Array<{ status: string }>>(`SELECT status FROM assignment_requests WHERE id = $1`, [id]);
      expect(row.status).toBe("TIMED_OUT");
    } finally {
      await server.stop();
    }
  });

  it("a timeout job is written and removed in its request's transaction: a rollback leaves neither", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const server = await startTestServer(db.dataSource, { schedulerUrl: db.url, name: "atomic", sweepEveryMs: 600_000 });
    const jobs = (id: string) => countRows(db.dataSource, `agenda_jobs WHERE data->>'requestId' = $1`, [id]);
    const rethrow = (err: unknown) => {
      throw err;
    };
    try {
      const id = await assign(server.url, chat.id);
      expect(await jobs(id)).toBe(1);
      // Settling inside a transaction that then fails: the job is still there, the request pending.
      await expect(
        inTransaction(db.dataSource, async (tx) => {
          await server.app.services.handovers.cancelPendingForChats(tx, [chat.id], null, "test", new Date());
          expect(await tx.sql.rows({ name: "test.jobOf", text: `SELECT 1 FROM agenda_jobs WHERE data->>'requestId' = $1` }, [id])).toHaveLength(0);
          throw new Error("roll back");
        }, rethrow),
      ).rejects.toThrow("roll back");
      expect(await jobs(id)).toBe(1);
      expect(await countRows(db.dataSource, `assignment_requests WHERE id = $1 AND status = 'PENDING'`, [id])).toBe(1);
      // Opening requests that fail (the chat already has one pending, whoever wins the race) writes no job.
      const other = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const tries = await Promise.allSettled(Array.from({ length: 6 }, () => assign(server.url, other.id)));
      expect(tries.filter((t) => t.status === "fulfilled")).toHaveLength(1);
      expect(
        await countRows(db.dataSource, `agenda_jobs j JOIN assignment_requests r ON j.data->>'requestId' = r.id::text WHERE r.chat_session_id = $1`, [other.id]),
      ).toBe(1);
    } finally {
      await server.stop();
    }
  });
});
