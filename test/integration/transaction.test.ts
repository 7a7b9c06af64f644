import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../../src/db/transaction";
import { ChatSessionService } from "../../src/modules/chat-sessions/chat-session.service";
import { UserService } from "../../src/modules/users/user.service";
import { countRows, createTestDatabase, type TestDatabase } from "../support/db";
import { createWorld, type World } from "../support/factories";
import { testServices } from "../support/services";

let db: TestDatabase;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
});
afterAll(() => db?.drop());

describe("after-commit effects", () => {
  it("a failing effect is handed to the handler, the commit stands and later effects still run", async () => {
    const failures: unknown[] = [];
    const ran: string[] = [];
    const result = await inTransaction(
      db.dataSource,
      async (tx) => {
        await tx.sql.rows({ name: "test.rename", text: `UPDATE organizations SET name = 'Renamed' WHERE id = $1` }, [w.organizationId]);
        tx.afterCommit(() => {
          throw new Error("publish failed");
        });
        tx.afterCommit(() => void ran.push("second"));
        return "done";
      },
      (err) => failures.push(err),
    );
    expect(result).toBe("done");
    expect((failures[0] as Error).message).toBe("publish failed");
    expect(ran).toEqual(["second"]);
    expect(await countRows(db.dataSource, `organizations WHERE id = $1 AND name = 'Renamed'`, [w.organizationId])).toBe(1);
  });

  it("closing a chat and deactivating a user report their failed effects instead of swallowing them", async () => {
    const failures: unknown[] = [];
    const svc = testServices(db.dataSource);
    // Publishing fails after commit, as a broken transport would.
    svc.pubsub.publish = () => {
      throw new Error("transport down");
    };
    const report = (err: unknown) => failures.push(err);
    const chats = new ChatSessionService(db.dataSource, svc.pubsub, svc.handovers, report);
    const users = new UserService(db.dataSource, svc.handovers, svc.presence, svc.pubsub, report);
    expect((await chats.close(w.mark, w.chat.id)).status).toBe("CLOSED");
    expect(failures).toHaveLength(1);
    const tom = await users.upsert(w.admin, { email: w.tom.email, name: w.tom.name, role: w.tom.role, active: false });
    expect(tom.active).toBe(false);
    expect(failures).toHaveLength(2);
  });
});
