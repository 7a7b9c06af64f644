import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { createServer } from "node:net";
import path from "node:path";
import { getIntrospectionQuery, print } from "graphql";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  AssignChatDocument,
  AssignmentEventsDocument,
  BulkAssignChatsDocument,
  ChatSessionUpdatedDocument,
  MeDocument,
  RejectAssignmentDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, TEST_JWT_SECRET, type World } from "../support/factories";
import { call, codeOfAnswer } from "../support/http-client";
import { type ServerProcess, spawnServer, stopServer } from "../support/process";
import { sleep, until } from "../support/wait";
import { connect, rawSocket, wsUrl } from "../support/ws-client";

let db: TestDatabase;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
});
afterAll(() => db?.drop());

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);

/** A graphql-transport-ws socket, authenticated, that can open subscriptions and stop reading. */
async function authedSocket(url: string, token: string) {
  const { socket, closed, opened } = rawSocket(url);
  await opened;
  const acked = new Promise<void>((resolve) => socket.once("message", () => resolve()));
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
  await acked;
  return { socket, closed };
}

describe("slow and greedy clients", () => {
  let server: ServerProcess;
  let log = "";
  beforeAll(async () => {
    server = await spawnServer(db.url, {
      WS_MAX_QUEUED_EVENTS: "50",
      WS_MAX_SUBSCRIPTIONS_PER_SOCKET: "25",
      WS_MAX_SOCKETS_PER_USER: "3",
      WS_MAX_UNAUTHENTICATED_SOCKETS: "4",
      WS_AUTH_TIMEOUT_MS: "1500",
      WS_SLOW_READER_MS: "2000",
    });
    server.child.stdout?.on("data", (c: Buffer) => (log += c.toString()));
  });
  afterAll(() => stopServer(server));

  it("an admin who stops reading during a bulk move of 2,000 chats is closed with 4508 once the socket has not drained for WS_SLOW_READER_MS; the server lives, memory stays bounded, others still hear events", async () => {
    const { socket, closed } = await authedSocket(server.url, w.token(w.admin));
    const query = `subscription { assignmentEvents(scope: ORGANIZATION) { sequence type chatSession { id customerName customerPhone owner { id name email } } trackingRecord { id status note } } }`;
    for (let i = 0; i < 20; i++) socket.send(JSON.stringify({ id: `s${i}`, type: "subscribe", payload: { query } }));
    await sleep(300);
    // Stop reading: the kernel buffers fill, then the server's writes wait.
    (socket as unknown as { _socket: { pause(): void } })._socket.pause();

    const rows = await db.dataSource.query<Array<{ id: string }>>(
      `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id)
       SELECT $1, 'Customer ' || g, '+1415555' || lpad(g::text, 4, '0'), $2 FROM generate_series(1, 2000) g RETURNING id`,
      [w.organizationId, w.mark.id],
    );
    const before = rssKb(server.child.pid!);
    const moved = await call(server.url, BulkAssignChatsDocument, { input: { chatSessionIds: rows.map((r) => r.id), toUserId: w.tom.id } }, w.token(w.admin));
    expect(moved.data?.bulkAssignChats.assignedCount).toBe(2000);
    // 20 s: on a loaded 2-core CI machine the bulk and the writes behind it took over 10 s once.
    await until(() => /stopped reading; closed \(4508\)/.test(log), 20_000, 100);
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code } = await closed;
    expect([4508, 1006]).toContain(code); // 1006 when the close frame could not get through in time
    expect(server.child.exitCode).toBeNull();
    expect(rssKb(server.child.pid!) - before).toBeLessThan(200_000);

    // Everyone else is unaffected.
    const other = await authedSocket(server.url, w.token(w.maria));
    const got = new Promise<string>((resolve) => other.socket.on("message", (m: Buffer) => resolve(m.toString())));
    other.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { assignmentEvents(scope: ORGANIZATION) { type } }" } }));
    await sleep(200);
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    await call(server.url, AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    expect(await got).toContain("CREATED");
    other.socket.close();
  }, 60_000);

  it("a slow reader in a shared class (two sockets, one document, one execution per event) is cut with 4508 without slowing the other, which gets every event (#27)", async () => {
    const query = `subscription { assignmentEvents(scope: ORGANIZATION) { sequence type chatSession { id customerName customerPhone owner { id name email } } trackingRecord { id status note } } }`;
    const logFrom = log.length;
    const slow = await authedSocket(server.url, w.token(w.admin));
    const reader = await authedSocket(server.url, w.token(w.admin));
    const sequences: bigint[] = [];
    let lastAt = 0;
    reader.socket.on("message", (m: Buffer) => {
      const msg = JSON.parse(m.toString()) as { type: string; payload?: { data?: { assignmentEvents?: { sequence: string } } } };
      const e = msg.payload?.data?.assignmentEvents;
      if (msg.type === "next" && e) {
        sequences.push(BigInt(e.sequence));
        lastAt = Date.now();
      }
    });
    // The slow socket holds twenty of them (its buffers fill), the reader one: all in one class.
    for (let i = 0; i < 20; i++) slow.socket.send(JSON.stringify({ id: `s${i}`, type: "subscribe", payload: { query } }));
    reader.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query } }));
    await sleep(300);
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();

    const rows = await db.dataSource.query<Array<{ id: string }>>(
      `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id)
       SELECT $1, 'Shared ' || g, '+1415666' || lpad(g::text, 4, '0'), $2 FROM generate_series(1, 1000) g RETURNING id`,
      [w.organizationId, w.mark.id],
    );
    const moved = await call(server.url, BulkAssignChatsDocument, { input: { chatSessionIds: rows.map((r) => r.id), toUserId: w.tom.id } }, w.token(w.admin));
    expect(moved.data?.bulkAssignChats.assignedCount).toBe(1000);
    // The reader gets all of them, in order, once...
    await until(() => sequences.length >= 1000, 30_000, 50);
    for (let i = 1; i < sequences.length; i++) expect(sequences[i] > sequences[i - 1]).toBe(true);
    // ...without waiting for the slow one to be cut (WS_SLOW_READER_MS 2 s after it stopped draining).
    let cutAt = 0;
    await until(() => (cutAt ||= /stopped reading; closed \(4508\)/.test(log.slice(logFrom)) ? Date.now() : 0) > 0, 20_000, 20);
    expect(lastAt).toBeLessThan(cutAt);
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect([4508, 1006]).toContain((await slow.closed).code);
    expect(server.child.exitCode).toBeNull();
    reader.socket.close();
  }, 60_000);

  it("caps: operations per socket (LIMIT_EXCEEDED), sockets per user (4429), unauthenticated sockets (upgrade refused) and their time (4403)", async () => {
    const { socket } = await authedSocket(server.url, w.token(w.martha));
    const errors: string[] = [];
    socket.on("message", (m: Buffer) => {
      const msg = JSON.parse(m.toString()) as { type: string; payload?: Array<{ extensions?: { code?: string } }> };
      if (msg.type === "error") errors.push(msg.payload?.[0]?.extensions?.code ?? "?");
    });
    for (let i = 0; i < 26; i++) {
      socket.send(JSON.stringify({ id: `n${i}`, type: "subscribe", payload: { query: "subscription { notificationReceived { id } }" } }));
    }
    await until(() => errors.length > 0, 3_000);
    expect(errors).toEqual(["LIMIT_EXCEEDED"]);

    const more = [await authedSocket(server.url, w.token(w.martha)), await authedSocket(server.url, w.token(w.martha))];
    const { socket: fourth, closed } = rawSocket(server.url);
    await new Promise((r) => fourth.once("open", r));
    fourth.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${w.token(w.martha)}` } }));
    expect((await closed).code).toBe(4429);
    for (const s of [socket, ...more.map((m) => m.socket)]) s.close();

    // Sockets that never authenticate: four are held, the fifth upgrade is refused, and each is closed in time.
    const idle = Array.from({ length: 4 }, () => rawSocket(server.url));
    await Promise.all(idle.map((s) => s.opened));
    const refused = await new Promise<number>((resolve) => {
      const s = new WebSocket(wsUrl(server.url), "graphql-transport-ws");
      s.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      s.once("open", () => resolve(101));
      s.once("error", () => undefined);
    });
    expect(refused).toBe(503);
    const codes = await Promise.all(idle.map((s) => s.closed));
    expect(codes.map((c) => c.code)).toEqual([4403, 4403, 4403, 4403]);
  });

  it("over a socket, operations obey the same limits as over HTTP", async () => {
    const { socket } = await authedSocket(server.url, w.token(w.martha));
    const reply = new Promise<{ type: string; payload: Array<{ extensions?: { code?: string } }> }>((resolve) =>
      socket.once("message", (m: Buffer) => resolve(JSON.parse(m.toString()) as { type: string; payload: Array<{ extensions?: { code?: string } }> })),
    );
    const flood = `query { ${Array.from({ length: 100 }, (_, i) => `a${i}: __schema { queryType { name } }`).join(" ")} }`;
    socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: flood } }));
    const r = await reply;
    expect(r.type).toBe("error");
    expect(r.payload[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    socket.close();
  });
});

describe("a reader that keeps reading is never cut", () => {
  it("a subscriber with the README's selection (actor, request, trackingRecord) reading through a 10,000-chat bulk gets every event, in order, once, and every moved chat in its latest state, with no 4508 (default limits)", async () => {
    const org = await createWorld(db.dataSource, "Bulkco");
    const server = await spawnServer(db.url); // WS_MAX_QUEUED_EVENTS 1000: the bulk is ten times that
    let closedWith = 0;
    const client = connect(server.url, org.token(org.admin), (code) => (closedWith = code));
    try {
      const seen: Array<{ sequence: string; type: string; actor: string | null }> = [];
      let ended: unknown = null;
      client.subscribe<{ assignmentEvents: { sequence: string; type: string; actor: { id: string } | null } }>(
        { query: print(AssignmentEventsDocument), variables: { scope: "ORGANIZATION" } },
        {
          next: (r) => {
            const e = r.data?.assignmentEvents;
            if (e) seen.push({ sequence: e.sequence, type: e.type, actor: e.actor?.id ?? null });
            if (r.errors) ended = r.errors;
          },
          error: (err) => (ended = err),
          complete: () => (ended = "complete"),
        },
      );
      // And the chats' changes (organization-wide for an admin): every chat that moved, in its latest state.
      const chats = new Map<string, string>();
      client.subscribe<{ chatSessionUpdated: { id: string; owner: { id: string } } }>(
        { query: print(ChatSessionUpdatedDocument) },
        {
          next: (r) => {
            const c = r.data?.chatSessionUpdated;
            if (c) chats.set(c.id, c.owner.id);
            if (r.errors) ended = r.errors;
          },
          error: (err) => (ended = err),
          complete: () => (ended = "complete"),
        },
      );
      // And Tom's own feed (a personal feed: one lane for his sockets), who receives every chat.
      const toms: string[] = [];
      let tomClosedWith = 0;
      let tomEnded: unknown = null;
      const tom = connect(server.url, org.token(org.tom), (code) => (tomClosedWith = code));
      tom.subscribe<{ assignmentEvents: { sequence: string; type: string } }>(
        { query: print(AssignmentEventsDocument), variables: { scope: "MINE" } },
        {
          next: (r) => {
            if (r.data?.assignmentEvents) toms.push(r.data.assignmentEvents.sequence);
            if (r.errors) tomEnded = r.errors;
          },
          error: (err) => (tomEnded = err),
          complete: () => (tomEnded = "complete"),
        },
      );
      await sleep(500); // subscribed
      const rows = await db.dataSource.query<Array<{ id: string }>>(
        `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id)
         SELECT $1, 'Customer ' || g, '+1415555' || lpad(g::text, 4, '0'), $2 FROM generate_series(1, 10000) g RETURNING id`,
        [org.organizationId, org.mark.id],
      );
      const moved = await call(server.url, BulkAssignChatsDocument, { input: { chatSessionIds: rows.map((r) => r.id), toUserId: org.tom.id } }, org.token(org.admin));
      expect(moved.data?.bulkAssignChats.assignedCount).toBe(10_000);
      await until(() => (seen.length >= 10_000 && chats.size >= 10_000) || ended !== null || closedWith !== 0, 90_000, 200);
      expect(ended).toBeNull();
      expect(closedWith).toBe(0);
      expect(seen).toHaveLength(10_000);
      expect(seen.every((e) => e.type === "ASSIGNED" && e.actor === org.admin.id)).toBe(true);
      const sequences = seen.map((e) => BigInt(e.sequence));
      for (let i = 1; i < sequences.length; i++) expect(sequences[i] > sequences[i - 1]).toBe(true);
      const stored = await db.dataSource.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM assignment_events WHERE organization_id = $1 AND type = 'ASSIGNED'`,
        [org.organizationId],
      );
      expect(stored[0].n).toBe(10_000);
      expect([...chats.values()].every((owner) => owner === org.tom.id)).toBe(true);
      expect(rows.every((r) => chats.has(r.id))).toBe(true);
      // Tom's lane fell far behind at once: his feed went on from the table, never cut, each event once and in order.
      await until(() => toms.length >= 10_000 || tomEnded !== null || tomClosedWith !== 0, 60_000, 200);
      expect(tomEnded).toBeNull();
      expect(tomClosedWith).toBe(0);
      expect(toms).toEqual(seen.map((e) => e.sequence));
      await tom.dispose();
      // And live again afterwards.
      const chat = await createChat(db.dataSource, org.organizationId, org.mark.id);
      await call(server.url, AssignChatDocument, { input: assignInput(chat.id, org.martha.id) }, org.token(org.mark));
      await until(() => seen.length === 10_001, 5_000, 50);
      expect(seen[10_000].type).toBe("CREATED");
    } finally {
      await client.dispose();
      await stopServer(server);
    }
  }, 150_000);
});

describe("bad input and tokens", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer(db.url);
  });
  afterAll(() => stopServer(server));

  it("NUL bytes and lone surrogates are BAD_USER_INPUT naming the field; reasons count characters, so 500 emoji fit and 501 do not", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const sent = await call(server.url, AssignChatDocument, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const requestId = sent.data!.assignChat.id;
    for (const reason of ["bad\u0000reason", "lone \ud800 surrogate"]) {
      const r = await call(server.url, RejectAssignmentDocument, { requestId, reason }, w.token(w.martha));
      expect(r.status).toBe(400);
      expect(codeOfAnswer(r)).toBe("BAD_USER_INPUT");
      expect(r.errors?.[0]?.extensions?.field).toBe("reason");
    }
    // In a literal too, and nothing was written.
    const literal = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.martha)}` },
      body: JSON.stringify({ query: `mutation { rejectAssignment(requestId: "${requestId}", reason: "nul \\u0000 here") { id } }` }),
    });
    const literalBody = (await literal.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(literalBody.errors[0]?.extensions.code).toBe("BAD_USER_INPUT");
    const [{ status }] = await db.dataSource.query<Array<{ status: string }>>(`SELECT status FROM assignment_requests WHERE id = $1`, [requestId]);
    expect(status).toBe("PENDING");

    const tooLong = await call(server.url, WithdrawAssignmentDocument, { requestId, reason: "😀".repeat(501) }, w.token(w.mark));
    expect(codeOfAnswer(tooLong)).toBe("BAD_USER_INPUT");
    const fits = await call(server.url, WithdrawAssignmentDocument, { requestId, reason: "😀".repeat(500) }, w.token(w.mark));
    expect(fits.data?.withdrawAssignment.status).toBe("WITHDRAWN");
  });

  it("tokens without exp, living past 30 days, or issued in the future are refused", async () => {
    const noExp = jwt.sign({}, TEST_JWT_SECRET, { algorithm: "HS256", subject: w.mark.id });
    const tooLong = jwt.sign({}, TEST_JWT_SECRET, { algorithm: "HS256", subject: w.mark.id, expiresIn: 31 * 86_400 });
    // Issued in the future: 5 minutes ahead is refused; 30 s ahead is clock skew, accepted.
    const now = Math.floor(Date.now() / 1000);
    const future = jwt.sign({ iat: now + 300 }, TEST_JWT_SECRET, { algorithm: "HS256", subject: w.mark.id, expiresIn: 3600 });
    const skewed = jwt.sign({ iat: now + 30 }, TEST_JWT_SECRET, { algorithm: "HS256", subject: w.mark.id, expiresIn: 3600 });
    for (const token of [noExp, tooLong, future]) expect(codeOfAnswer(await call(server.url, MeDocument, {}, token))).toBe("UNAUTHENTICATED");
    expect((await call(server.url, MeDocument, {}, skewed)).data?.me.name).toBe("Mark");
    expect((await call(server.url, MeDocument, {}, w.token(w.mark))).data?.me.name).toBe("Mark");
  });

  it("introspection obeys the limits: the standard query passes, 2,000 __schema aliases do not, and /healthz stays quick", async () => {
    const post = (query: string) =>
      fetch(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.mark)}` }, body: JSON.stringify({ query }) });
    const standard = (await (await post(getIntrospectionQuery())).json()) as { data?: { __schema: unknown } };
    expect(standard.data?.__schema).toBeDefined();
    const flood = `{ ${Array.from({ length: 2000 }, (_, i) => `a${i}: __schema { types { name fields { name } } }`).join(" ")} }`;
    const started = Date.now();
    const [res, health] = await Promise.all([post(flood), fetch(server.url.replace(/graphql$/, "healthz"))]);
    const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]?.extensions.code).toBe("QUERY_TOO_COMPLEX");
    expect(health.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("with GRAPHQL_INTROSPECTION=false, __schema is refused and errors suggest no field names", async () => {
    const closed = await spawnServer(db.url, { GRAPHQL_INTROSPECTION: "false" });
    try {
      const post = async (query: string) =>
        (await (await fetch(closed.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) })).json()) as {
          errors?: Array<{ message: string }>;
        };
      expect((await post("{ __schema { queryType { name } } }")).errors?.[0]?.message).toMatch(/introspection/i);
      const typo = await post("{ mee { id } }");
      expect(typo.errors?.[0]?.message).toMatch(/Cannot query field "mee"/);
      expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
    } finally {
      await stopServer(closed);
    }
  });
});

describe("SIGTERM with requests in flight", () => {
  it("readiness fails, every request in flight gets its real answer, sockets close with 1001, exit 0", async () => {
    const server = await spawnServer(db.url, { SHUTDOWN_GRACE_MS: "10000" });
    const chats = await Promise.all(Array.from({ length: 40 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
    const { socket, closed } = await authedSocket(server.url, w.token(w.maria));
    const token = w.token(w.mark);
    let firstAnswered: () => void = () => {};
    const oneAnswered = new Promise<void>((r) => (firstAnswered = r));
    const answers = chats.map(async (c) => {
      const a = await call(server.url, AssignChatDocument, { input: assignInput(c.id, w.martha.id) }, token);
      firstAnswered();
      return { chat: c.id, a };
    });
    await oneAnswered;
    server.child.kill("SIGTERM");
    const results = await Promise.all(answers);
    expect(await server.exited).toBe(0);
    expect((await closed).code).toBe(1001);
    socket.close();

    const pending = new Set(
      (
        await db.dataSource.query<Array<{ chat_session_id: string }>>(`SELECT chat_session_id FROM assignment_requests WHERE chat_session_id = ANY($1)`, [
          chats.map((c) => c.id),
        ])
      ).map((r) => r.chat_session_id),
    );
    for (const { chat, a } of results) {
      // Answered: it committed exactly when it says so. Unanswered: it never reached the server (refused).
      if (a.status === 200 && a.data) expect(pending.has(chat)).toBe(true);
      else if (a.status === 0) {
        expect(a.failure).toMatch(/ECONNREFUSED|ECONNRESET|other side closed/);
        expect(pending.has(chat)).toBe(false);
      } else expect.fail(`unexpected answer ${JSON.stringify(a)}`);
    }
    expect(results.filter((r) => r.a.data).length).toBeGreaterThan(1);
  });
});

describe("request log lines held in memory (written 4 kB or 200 ms at a time)", () => {
  it("are all written when the process stops on SIGTERM: none lost with the buffer", async () => {
    const server = await spawnServer(db.url);
    let out = "";
    server.child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    const ids = Array.from({ length: 5 }, (_, i) => `flush-${i}-${Date.now()}`);
    for (const id of ids) {
      const res = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.mark)}`, "x-request-id": id },
        body: JSON.stringify({ query: "{ me { id } }" }),
      });
      expect(res.status).toBe(200);
    }
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const lines = out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { reqId?: string; msg?: string });
    for (const id of ids) expect(lines.filter((l) => l.reqId === id && l.msg === "request completed"), id).toHaveLength(1);
  });
});

describe("SIGTERM with SHUTDOWN_DELAY_MS", () => {
  it("readiness answers 503 (draining) at once while requests are still served, then the process stops", async () => {
    const server = await spawnServer(db.url, { SHUTDOWN_DELAY_MS: "1500" });
    const readyz = server.url.replace(/graphql$/, "readyz");
    expect((await fetch(readyz)).status).toBe(200);
    server.child.kill("SIGTERM");
    await until(async () => (await fetch(readyz)).status === 503, 1_000, 20);
    const body = (await (await fetch(readyz)).json()) as { checks: Record<string, string> };
    expect(body.checks.draining).toMatch(/^failing/);
    expect((await call(server.url, MeDocument, {}, w.token(w.mark))).data?.me.name).toBe("Mark");
    expect(await server.exited).toBe(0);
  });
});

describe("start-up failures: one line naming the cause and the remedy, exit 1", () => {
  const MAIN = path.resolve(__dirname, "../../dist/src/main.js");
  const start = (env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN], {
        env: { ...process.env, JWT_SECRET: TEST_JWT_SECRET, HOST: "127.0.0.1", LOG_LEVEL: "silent", ...env },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.once("exit", (code) => resolve({ code, stderr }));
    });
  const oneLine = (stderr: string) => stderr.trim().split("\n").filter((l) => !/^npm warn/.test(l));

  it.each([
    ["database unreachable", { DATABASE_URL: "postgres://root@127.0.0.1:1/baton", PORT: "0" }, /cannot be reached \(ECONNREFUSED\).*Start Postgres/],
    ["database missing", { PORT: "0" }, /does not exist.*createdb/],
    ["Redis unreachable", { REDIS_URL: "redis://127.0.0.1:1", PORT: "0" }, /Redis at redis:\/\/127\.0\.0\.1:1.*cannot be reached.*REDIS_URL/],
  ])("%s", async (_what, env, pattern) => {
    const url = new URL(db.url);
    url.pathname = "/baton_no_such_database";
    const r = await start({ DATABASE_URL: db.url, ...(_what === "database missing" ? { DATABASE_URL: url.toString() } : {}), ...env });
    expect(r.code).toBe(1);
    const lines = oneLine(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^baton: cannot start: /);
    expect(lines[0]).toMatch(pattern);
  });

  it("embedded Postgres unable to start (a data directory it cannot use)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "baton-bad-pg-"));
    chmodSync(dir, 0o755);
    mkdirSync(path.join(dir, "pg"), { mode: 0o700 });
    writeFileSync(path.join(dir, "pg", "PG_VERSION"), "9\n"); // a cluster of another major version
    try {
      const r = await start({ DATABASE_URL: "", BATON_DATA_DIR: dir, PORT: "0" });
      expect(r.code).toBe(1);
      const lines = oneLine(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^baton: cannot start: the embedded Postgres did not start: .+\. (Remove the data directory|Its port)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("port taken", async () => {
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await start({ DATABASE_URL: db.url, PORT: String(port) });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toEqual([`baton: cannot start: port ${port} on 127.0.0.1 is already in use. Stop what uses it, or set PORT to another port`]);
    } finally {
      blocker.close();
    }
  });
});

describe("peers that vanish", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer(db.url, { WS_KEEP_ALIVE_MS: "300" });
  });
  afterAll(() => stopServer(server));

  it("a socket whose peer stops answering pings (gone without a FIN) is cut after the next keep-alive round; one that answers stays, and still hears its events", async () => {
    // The vanished peer: connected and subscribed, then it answers no ping (as a phone that lost its network).
    const vanished = new WebSocket(wsUrl(server.url), "graphql-transport-ws", { autoPong: false });
    const vanishedClosed = new Promise<number>((resolve) => vanished.once("close", (code) => resolve(code)));
    await new Promise((resolve) => vanished.once("open", resolve));
    const acked = new Promise<void>((resolve) => vanished.once("message", () => resolve()));
    vanished.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${w.token(w.martha)}` } }));
    await acked;
    vanished.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { assignmentEvents { sequence } }" } }));
    let pinged = 0;
    vanished.on("ping", () => pinged++);

    const alive = connect(server.url, w.token(w.mark));
    const events: string[] = [];
    alive.subscribe({ query: print(AssignmentEventsDocument), variables: {} }, { next: (r) => events.push(JSON.stringify(r)), error: () => undefined, complete: () => undefined });
    try {
      const started = Date.now();
      // Cut with no close handshake (1006 at this end) after one unanswered ping and the next round.
      expect(await vanishedClosed).toBe(1006);
      expect(pinged).toBeGreaterThanOrEqual(1);
      expect(Date.now() - started).toBeLessThan(3_000);

      // The answering socket lived through the same rounds and still hears its events.
      await sleep(700);
      const sent = await call(server.url, AssignChatDocument, { input: assignInput((await createChat(db.dataSource, w.organizationId, w.mark.id)).id, w.tom.id) }, w.token(w.mark));
      expect(sent.errors).toBeUndefined();
      await until(() => events.length > 0, 3_000);
      expect(events[0]).toContain(sent.data!.assignChat.id);
    } finally {
      vanished.terminate();
      await alive.dispose();
    }
  });
});
