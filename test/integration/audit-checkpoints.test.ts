import { generateKeyPairSync } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditCheckpointer } from "../../src/jobs/audit-checkpoints";
import { signingKeyFromPem } from "../../src/kernel/audit-chain";
import { AuditService } from "../../src/modules/audit/audit.service";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createWorld, type World } from "../support/factories";
import { testServices } from "../support/services";

// Issue #25: the server's checkpointer signs one checkpoint per organization with new events,
// at most one per AUDIT_CHECKPOINT_MINUTES each; without a key it does nothing.

let db: TestDatabase;
let a: World;
let b: World;
const key = () => signingKeyFromPem(generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString());
const checkpoints = async (w: World) =>
  (await db.dataSource.query<Array<{ sequence: string }>>(`SELECT sequence::text AS sequence FROM audit_checkpoints c WHERE organization_id = $1 ORDER BY c.sequence`, [w.organizationId])).map(
    (r) => r.sequence,
  );
const head = async (w: World) => (await db.dataSource.query<Array<{ s: string }>>(`SELECT sequence::text AS s FROM audit_heads WHERE organization_id = $1`, [w.organizationId]))[0]?.s;

beforeAll(async () => {
  db = await createTestDatabase();
  a = await createWorld(db.dataSource, "Checkpoint A");
  b = await createWorld(db.dataSource, "Checkpoint B");
}, 60_000);
afterAll(async () => db?.drop());

/** Two events: a request sent and withdrawn. */
async function handover(w: World): Promise<void> {
  const { handovers } = testServices(db.dataSource);
  const sent = await handovers.assignChat(w.mark, { chatSessionId: w.chat.id, recipientType: RecipientType.USER, recipientId: w.martha.id });
  await handovers.withdrawAssignment(w.mark, sent.id, "test");
}

describe("the checkpointer", () => {
  it("signs each organization with new events once per interval, and none without events or without a key", async () => {
    const service = new AuditService(db.dataSource, key());
    let later = 0;
    const job = new AuditCheckpointer(service, 60, pino({ level: "silent" }), () => new Date(Date.now() + later));
    await job.start();
    try {
      await handover(a);
      await job.round();
      expect(await checkpoints(a)).toEqual([await head(a)]);
      expect(await checkpoints(b)).toEqual([]); // no events, no checkpoint

      await handover(a);
      await job.round();
      expect(await checkpoints(a)).toHaveLength(1); // new events, but the last checkpoint is not an hour old
      later = 61 * 60_000; // an hour and a minute on
      await job.round();
      expect(await checkpoints(a)).toEqual([expect.any(String), await head(a)]);
      await job.round();
      expect(await checkpoints(a)).toHaveLength(2); // nothing new since

      expect(await service.verify(a.organizationId, null)).toMatchObject({ ok: true, checkpoints: 2 });
    } finally {
      await job.stop();
    }
    const keyless = new AuditCheckpointer(new AuditService(db.dataSource, null), 60, pino({ level: "silent" }));
    await keyless.start();
    await handover(b);
    await keyless.round();
    expect(await checkpoints(b)).toEqual([]);
  });
});
