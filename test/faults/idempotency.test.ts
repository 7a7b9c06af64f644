import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataSource } from "../../src/db/data-source";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, type World } from "../support/factories";
import { codeOf, type GqlResult, startTestServer, type TestServer } from "../support/server";
import { sleep } from "../support/wait";

// Issue #23: the connection is cut at the commit of an idempotent mutation, before Postgres gets
// it (nothing committed) or after Postgres ran it but before its answer comes back (committed,
// answer lost). Either way the client hears "commitOutcome UNKNOWN"; retrying with its key it
// gets exactly one effect and the right answer. Two kinds of commit: assignChat's one statement
// that opens the request and writes the key's record (on the pool, it commits by itself), and a
// discussion message's unit, whose last round trip writes the record and COMMITs. The cut is made
// by the test's own proxy, in front of the test's own database, on the server's own connections.

type Cut = "before" | "after" | null;
/** Which client message carries the commit: a Bind of the named statement, or a simple query with the unit's record and COMMIT. */
type Carrier = "handover.open" | "unit";

function carries(carrier: Carrier, message: Buffer): boolean {
  if (carrier === "unit") {
    const text = message[0] === 0x51 ? message.subarray(5).toString("utf8") : "";
    return text.includes("INSERT INTO idempotency_keys") && text.includes("COMMIT");
  }
  if (message[0] !== 0x42) return false; // Bind: portal name, then statement name, each NUL-terminated
  const body = message.subarray(5);
  const portalEnd = body.indexOf(0);
  const statement = body.subarray(portalEnd + 1, body.indexOf(0, portalEnd + 1)).toString("utf8");
  return statement === carrier;
}

/** A TCP proxy to Postgres that cuts the connection carrying the next idempotent commit. */
async function commitCutter(target: { host: string; port: number }): Promise<{ port: number; arm(cut: Cut, carrier: Carrier): void; cuts(): number; close(): Promise<void> }> {
  let armed: Cut = null;
  let carrier: Carrier = "unit";
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let buffer = Buffer.alloc(0);
    let started = false;
    let cutAfter = false;
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      // Forward whole messages, looking at each simple query ('Q') on the way.
      for (;;) {
        if (!started) {
          if (buffer.length < 4) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          upstream.write(buffer.subarray(0, length));
          buffer = buffer.subarray(length);
          // An SSLRequest (80877103) is answered 'N' and followed by the real startup message.
          started = length !== 8;
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1) + 1;
        if (buffer.length < length) return;
        const message = buffer.subarray(0, length);
        buffer = buffer.subarray(length);
        if (armed && carries(carrier, message)) {
          const cut = armed;
          armed = null;
          cuts++;
          if (cut === "before") return kill();
          cutAfter = true; // Postgres runs it; its answer never reaches Baton
        }
        upstream.write(message);
      }
    });
    upstream.on("data", (chunk: Buffer) => (cutAfter ? kill() : client.write(chunk)));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => {
      upstream.destroy();
      sockets.delete(client);
    });
    upstream.on("close", () => {
      client.destroy();
      sockets.delete(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    arm: (cut, on) => {
      armed = cut;
      carrier = on;
    },
    cuts: () => cuts,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let db: TestDatabase;
let w: World;
let proxy: Awaited<ReturnType<typeof commitCutter>>;
let server: TestServer;
let proxied: ReturnType<typeof createDataSource>;

const ASSIGN = `mutation($input: AssignChatInput!) { assignChat(input: $input) { id status recipient { id } trackingRecord { status } } }`;
const DISCUSS = `mutation($input: DiscussChatInput!) { discussChat(input: $input) { id } }`;
const ACCEPT = `mutation($requestId: ID!) { acceptAssignment(requestId: $requestId) { discussion { id } } }`;
const POST = `mutation($discussionId: ID!, $body: String!) { postDiscussionMessage(discussionId: $discussionId, body: $body) { id body } }`;
type Assigned = { assignChat: { id: string; status: string; recipient: { id: string } } };

async function send(
  variables: Record<string, unknown>,
  key: string,
  query = ASSIGN,
): Promise<GqlResult<Assigned> & { extensions?: { idempotentReplay?: boolean }; retryAfter: string | null }> {
  const res = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.mark)}`, "idempotency-key": key },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), ...((await res.json()) as object) } as never;
}

/** What a careful client does: retry with the same key, honouring Retry-After, until it has an answer. */
async function retry(variables: Record<string, unknown>, key: string, query = ASSIGN) {
  for (let i = 0; i < 10; i++) {
    const res = await send(variables, key, query);
    if (codeOf(res) !== "IDEMPOTENCY_KEY_IN_USE" && codeOf(res) !== "SERVICE_UNAVAILABLE") return res;
    await sleep(Number(res.retryAfter ?? "1") * 1000);
  }
  throw new Error("no answer after 10 retries");
}

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
  const url = new URL(db.url);
  proxy = await commitCutter({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  proxied = createDataSource({ url: url.toString(), poolSize: 5 });
  await proxied.initialize();
  server = await startTestServer(proxied);
});

afterAll(async () => {
  await server?.stop();
  if (proxied?.isInitialized) await proxied.destroy();
  await proxy?.close();
  await db?.drop();
});

const requestsOf = async (chatId: string) =>
  (await db.dataSource.query<Array<{ id: string; status: string }>>(`SELECT id, status FROM assignment_requests WHERE chat_session_id = $1`, [chatId]));

describe("a connection cut at an idempotent mutation's COMMIT", () => {
  for (const cut of ["before", "after"] as const) {
    it(`cut ${cut} Postgres runs the COMMIT: the answer is UNKNOWN; the retry with the key gets exactly one request and its answer`, async () => {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const key = `cut-${cut}-${Date.now()}`;
      const vars = { input: assignInput(chat.id, w.martha.id) };
      proxy.arm(cut, "handover.open");
      const lost = await send(vars, key);
      expect(proxy.cuts()).toBeGreaterThan(0);
      expect(codeOf(lost)).toBe("SERVICE_UNAVAILABLE");
      expect(lost.errors?.[0]?.extensions?.commitOutcome).toBe("UNKNOWN");
      expect(await requestsOf(chat.id)).toHaveLength(cut === "before" ? 0 : 1);

      const answer = await retry(vars, key);
      expect(answer.errors).toBeUndefined();
      const requests = await requestsOf(chat.id);
      expect(requests).toHaveLength(1);
      expect(answer.data?.assignChat).toMatchObject({ id: requests[0]?.id, status: "PENDING", recipient: { id: w.martha.id } });
      // After the cut, the first run's record answered (rebuilt); before it, the retry ran.
      expect(answer.extensions?.idempotentReplay ?? false).toBe(cut === "after");
      // And again: the stored answer, the same.
      const again = await send(vars, key);
      expect(again.extensions?.idempotentReplay).toBe(true);
      expect(again.data).toEqual(answer.data);
    }, 30_000);
  }

  for (const cut of ["before", "after"] as const) {
    it(`a unit's COMMIT (a discussion message) cut ${cut} Postgres runs it: the retry with the key gets exactly one message and its answer`, async () => {
      const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
      const opened = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.mark)}` },
        body: JSON.stringify({ query: DISCUSS, variables: { input: assignInput(chat.id, w.martha.id) } }),
      }).then((r) => r.json() as Promise<{ data: { discussChat: { id: string } } }>);
      const accepted = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.martha)}` },
        body: JSON.stringify({ query: ACCEPT, variables: { requestId: opened.data.discussChat.id } }),
      }).then((r) => r.json() as Promise<{ data: { acceptAssignment: { discussion: { id: string } } } }>);
      const discussionId = accepted.data.acceptAssignment.discussion.id;
      const messages = async () => (await db.dataSource.query<Array<{ id: string }>>(`SELECT id FROM discussion_messages WHERE discussion_id = $1`, [discussionId]));
      const key = `unit-cut-${cut}-${Date.now()}`;
      const vars = { discussionId, body: "Are you there?" };
      proxy.arm(cut, "unit");
      const lost = await send(vars, key, POST);
      expect(codeOf(lost)).toBe("SERVICE_UNAVAILABLE");
      expect(lost.errors?.[0]?.extensions?.commitOutcome).toBe("UNKNOWN");
      expect(await messages()).toHaveLength(cut === "before" ? 0 : 1);
      const answer = (await retry(vars, key, POST)) as unknown as GqlResult<{ postDiscussionMessage: { id: string; body: string } }>;
      expect(answer.errors).toBeUndefined();
      const stored = await messages();
      expect(stored).toHaveLength(1);
      expect(answer.data?.postDiscussionMessage).toEqual({ id: stored[0]?.id, body: "Are you there?" });
    }, 30_000);
  }
});
