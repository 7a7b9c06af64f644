import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createWorld, type World } from "../support/factories";
import { testServices } from "../support/services";

let db: TestDatabase;
let w: World;
let recordId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
  const request = await testServices(db.dataSource).assignments.assignChat(w.mark, {
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

async function stage(client: Client, eventId: string): Promise<void> {
  await client.query(
    `INSERT INTO assignment_event_outbox (event_id, organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
     VALUES ($1, $2, 'CREATED', NULL, $3, $4, $5, $5, $6, now())`,
    [eventId, w.organizationId, recordId, w.chat.id, w.mark.id, w.martha.id],
  );
}

const sequenceOf = async (eventId: string): Promise<bigint> =>
  BigInt((await db.dataSource.query<Array<{ sequence: string }>>(`SELECT sequence FROM assignment_events WHERE event_id = $1`, [eventId]))[0].sequence);

describe("event sequences follow commit order", () => {
  it("an event written first but committed last gets the later sequence", async () => {
    const early = await begin();
    const late = await begin();
    const first = randomUUID();
    const second = randomUUID();
    try {
      await stage(early, first); // written first...
      await stage(late, second);
      await late.query("COMMIT"); // ...but the other transaction commits first
      await early.query("COMMIT");
      expect(await sequenceOf(second)).toBeLessThan(await sequenceOf(first));
      const left = await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM assignment_event_outbox`);
      expect(left[0].n).toBe(0);
    } finally {
      await early.end();
      await late.end();
    }
  });

  it("a rolled-back transaction leaves no event behind", async () => {
    const tx = await begin();
    const id = randomUUID();
    try {
      await stage(tx, id);
      await tx.query("ROLLBACK");
      const rows = await db.dataSource.query(`SELECT 1 FROM assignment_events WHERE event_id = $1`, [id]);
      expect(rows).toHaveLength(0);
    } finally {
      await tx.end();
    }
  });
});
