import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignChatDocument, AssignmentEventsDocument, UsersOnlineDocument } from "../../schema/generated/graphql";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, type World } from "../support/factories";
import { spawnServer } from "../support/process";
import { startTestServer, type TestServer } from "../support/server";
import { connect, rawSocket, subscribe } from "../support/ws-client";
import { until } from "../support/wait";

/** The machine's Redis (issue 3 asks for the real thing). CI sets TEST_REDIS_URL, so there it must answer. */
const redisUrl = process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379";

/** Without TEST_REDIS_URL and no Redis at the default address (a machine with only Node), these tests skip, saying why. */
async function redisAnswers(): Promise<boolean> {
  if (process.env.TEST_REDIS_URL) return true;
  const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
let haveRedis = false;
const SKIP_WHY = `no Redis at ${redisUrl}; set TEST_REDIS_URL to run the cross-instance tests`;

let db: TestDatabase;
let a: TestServer;
let b: TestServer;
let w: World;

beforeAll(async () => {
  haveRedis = await redisAnswers();
  if (!haveRedis) return;
  db = await createTestDatabase();
  a = await startTestServer(db.dataSource, { redisUrl });
  b = await startTestServer(db.dataSource, { redisUrl });
  w = await createWorld(db.dataSource);
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await db?.drop();
});

const isOnline = async (server: { url: string }, userId: string): Promise<boolean> => {
  const res = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.maria)}` },
    body: JSON.stringify({ query: "{ users { id online } }" }),
  });
  const json = (await res.json()) as { data: { users: Array<{ id: string; online: boolean }> } };
  return json.data.users.find((u) => u.id === userId)?.online ?? false;
};

describe("two instances sharing Redis", () => {
  it("subscribe on one, mutate on the other: the event arrives; presence is seen from both", async (ctx) => {
    ctx.skip(!haveRedis, SKIP_WHY);
    const martha = connect(a.url, w.token(w.martha));
    try {
      const sub = subscribe(martha, AssignmentEventsDocument, {});
      await until(() => isOnline(a, w.martha.id));
      expect(await isOnline(b, w.martha.id)).toBe(true);
      const list = await b.gql(UsersOnlineDocument, {}, w.token(w.maria));
      expect(list.data!.users[0].id).toBe(w.martha.id);

      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const started = Date.now();
      const sent = await b.gql(AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
      const got = await sub.next(1_000);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(got.data!.assignmentEvents.type).toBe("CREATED");
      expect(got.data!.assignmentEvents.request!.id).toBe(sent.data!.assignChat.id);
      expect(got.data!.assignmentEvents.request!.chatSession.owner.name).toBe("Mark");
    } finally {
      await martha.dispose();
    }
    await until(async () => !(await isOnline(b, w.martha.id)));
  });

  it("a crashed instance's sockets expire from presence", async (ctx) => {
    ctx.skip(!haveRedis, SKIP_WHY);
    const doomed = await spawnServer(db.url, { REDIS_URL: redisUrl, PRESENCE_TTL_MS: "1500" });
    try {
      const raw = rawSocket(doomed.url);
      await raw.opened;
      raw.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${w.token(w.tom)}` } }));
      await until(() => isOnline(a, w.tom.id));
      doomed.child.kill("SIGKILL");
      await doomed.exited;
      const gone = Date.now();
      await until(async () => !(await isOnline(a, w.tom.id)), 5_000);
      expect(Date.now() - gone).toBeLessThan(4_000);
    } finally {
      doomed.child.kill("SIGKILL");
    }
  }, 30_000);
});
