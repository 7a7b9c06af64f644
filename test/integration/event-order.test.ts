import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { appendEventsCtes } from "../../src/repositories/events.repository";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createWorld, type World } from "../support/factories";
import { testServices } from "../support/services";

let db: TestDatabase;
let w: World;
let recordId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
  const request = await testServices(db.dataSource).handovers.assignChat(w.mark, {
    chatSessionId: w.chat.id,
    recipientId: w.martha.id,
    recipientType: RecipientType.USER,
  });
  recordId = (await db.dataSource.query<Array<{ id: string }>>(`SELECT id FROM engagement_tracking_records WHERE request_id = $1`, [request.id]))[0].id;
});
afterAll(() => db?.drop());

async function begin(): Promise<Client> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  await client.query("BEGIN");
  return client;
}

/** Appends one event the way every transition does (the shared CTEs); resolves with its sequence. */
async function stage(client: Client): Promise<bigint> {
  const { rows } = await client.query<{ sequence: string }>(
    `WITH ${appendEventsCtes(
      `SELECT $1::uuid AS organization_id, 'CREATED'::text AS type, NULL::uuid AS request_id, $2::uuid AS tracking_record_id,
              $3::uuid AS chat_session_id, $4::uuid AS actor_id, $4::uuid AS from_user_id, $5::uuid AS to_user_id, now() AS occurred_at, 1 AS ord,
              '{"status": "PENDING"}'::jsonb AS facts`,
    )} SELECT sequence FROM events`,
    [w.organizationId, recordId, w.chat.id, w.mark.id, w.martha.id],
  );
  return BigInt(rows[0].sequence);
}

describe("event sequences follow commit order", () => {
  it("while one transaction's events are uncommitted, another's wait for them and draw later sequences", async () => {
    const early = await begin();
    const late = await begin();
    try {
      const first = await stage(early);
      let secondDrawn = false;
      const second = stage(late).then((seq) => {
        secondDrawn = true;
        return seq;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(secondDrawn).toBe(false); // it waits for the organization's lock, held to commit
      await early.query("COMMIT");
      expect(await second).toBeGreaterThan(first);
      await late.query("COMMIT");
      // The hash chain (issue #25) follows the same order: the later event links to the earlier one's hash.
      const linked = await db.dataSource.query<Array<{ sequence: string; previous_hash: string; hash: string }>>(
        `SELECT sequence::text, previous_hash, hash FROM assignment_events WHERE sequence = ANY($1::bigint[]) ORDER BY sequence`,
        [[String(first), String(await second)]],
      );
      expect(linked[1]?.previous_hash).toBe(linked[0]?.hash);
    } finally {
      await early.end();
      await late.end();
    }
  });

  it("a rolled-back transaction leaves no event behind", async () => {
    const tx = await begin();
    try {
      const sequence = await stage(tx);
      await tx.query("ROLLBACK");
      const rows = await db.dataSource.query(`SELECT 1 FROM assignment_events WHERE sequence = $1`, [String(sequence)]);
      expect(rows).toHaveLength(0);
    } finally {
      await tx.end();
    }
  });
});
