import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AssignChatDocument, UpsertUserDocument } from "../../schema/generated/graphql";
import { UserRole } from "../../src/modules/users/user.entity";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { call } from "../support/http-client";
import { startTestServer, type TestServer } from "../support/server";
import { sleep } from "../support/wait";
import { rawSocket, wsUrl } from "../support/ws-client";

/**
 * Baton's own server side of graphql-transport-ws (src/graphql/ws-protocol.ts, issue #27) answers
 * as graphql-ws's server did: every message type, every protocol error and its close code, from
 * a raw socket that sends what a broken or hostile client would.
 */
let db: TestDatabase;
let server: TestServer;
let w: World;
/** What the server logged at warn and above. */
const logged: Array<{ level: number; msg: string; wsCode?: string }> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource, { logger: pino({ level: "warn" }, { write: (line: string) => logged.push(JSON.parse(line) as (typeof logged)[number]) }) });
  w = await createWorld(db.dataSource, "Acme");
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

type Message = { type: string; id?: string; payload?: unknown };

/** A raw socket whose messages queue up, read one at a time. */
async function raw(init?: Record<string, unknown> | null) {
  const { socket, closed, opened } = rawSocket(server.url);
  const queue: Message[] = [];
  const waiters: Array<(m: Message) => void> = [];
  socket.on("message", (data) => {
    const m = JSON.parse((data as Buffer).toString()) as Message;
    const waiter = waiters.shift();
    if (waiter) waiter(m);
    else queue.push(m);
  });
  await opened;
  const next = (ms = 3_000): Promise<Message> =>
    queue.length > 0
      ? Promise.resolve(queue.shift()!)
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
          waiters.push((m) => {
            clearTimeout(timer);
            resolve(m);
          });
        });
  const send = (m: unknown) => socket.send(typeof m === "string" ? m : JSON.stringify(m));
  if (init !== null) {
    send({ type: "connection_init", payload: init ?? { authorization: `Bearer ${w.token(w.mark)}` } });
    expect(await next()).toEqual({ type: "connection_ack" });
  }
  return { socket, closed, next, send, queued: () => queue.length };
}

describe("graphql-transport-ws, as graphql-ws's server answers it", () => {
  it("a query over the socket: one next with its data, then complete", async () => {
    const c = await raw();
    c.send({ id: "q1", type: "subscribe", payload: { query: "{ me { id role } }" } });
    expect(await c.next()).toEqual({ id: "q1", type: "next", payload: { data: { me: { id: w.mark.id, role: "USER" } } } });
    expect(await c.next()).toEqual({ id: "q1", type: "complete" });
    c.socket.close();
  });

  it("ping is answered with pong (its payload echoed); pong is taken without an answer", async () => {
    const c = await raw();
    c.send({ type: "ping", payload: { at: 1 } });
    expect(await c.next()).toEqual({ type: "pong", payload: { at: 1 } });
    c.send({ type: "ping" });
    expect(await c.next()).toEqual({ type: "pong" });
    c.send({ type: "pong" });
    c.send({ id: "q", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect((await c.next()).type).toBe("next"); // nothing answered the pong
    c.socket.close();
  });

  it("an invalid operation is answered with an error message carrying the stable code; the socket stays open", async () => {
    const c = await raw();
    c.send({ id: "bad", type: "subscribe", payload: { query: "{ nope }" } });
    const answer = await c.next();
    expect(answer.type).toBe("error");
    expect(answer.id).toBe("bad");
    expect((answer.payload as Array<{ message: string }>)[0].message).toMatch(/nope/);
    c.send({ id: "good", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect((await c.next()).type).toBe("next");
    c.socket.close();
  });

  it("a subscription streams events until the client completes it; after that nothing more arrives for it", async () => {
    const c = await raw({ authorization: `Bearer ${w.token(w.maria)}` });
    c.send({ id: "s1", type: "subscribe", payload: { query: "subscription { assignmentEvents(scope: ORGANIZATION) { type chatSession { id } } }" } });
    await sleep(200);
    const chat = await createChat(db.dataSource, w.organizationId, w.martha.id);
    const sent = await call(server.url, AssignChatDocument, { input: assignInput(chat.id, w.tom.id) }, w.token(w.martha));
    expect(sent.errors).toBeUndefined();
    expect(await c.next(5_000)).toMatchObject({ id: "s1", type: "next", payload: { data: { assignmentEvents: { type: "CREATED", chatSession: { id: chat.id } } } } });
    c.send({ id: "s1", type: "complete" });
    await sleep(200);
    const other = await createChat(db.dataSource, w.organizationId, w.martha.id);
    await call(server.url, AssignChatDocument, { input: assignInput(other.id, w.tom.id) }, w.token(w.martha));
    await sleep(500);
    expect(c.queued()).toBe(0);
    // The socket goes on: the same id may be used again once completed.
    c.send({ id: "s1", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect((await c.next()).type).toBe("next");
    c.socket.close();
  });

  it("a subscription the server ends (its viewer may no longer follow it) is ended with an error message carrying FORBIDDEN", async () => {
    const boss = await createUser(db.dataSource, w.organizationId, { name: "Boss", role: UserRole.MANAGER });
    const c = await raw({ authorization: `Bearer ${w.token(boss)}` });
    c.send({ id: "org", type: "subscribe", payload: { query: "subscription { assignmentEvents(scope: ORGANIZATION) { type } }" } });
    await sleep(200);
    const demoted = await server.gql(UpsertUserDocument, { input: { email: boss.email, name: "Boss", role: "USER" } }, w.token(w.admin));
    expect(demoted.errors).toBeUndefined();
    const ended = await c.next(5_000);
    expect(ended.type).toBe("error");
    expect(ended.id).toBe("org");
    expect((ended.payload as Array<{ extensions?: { code?: string } }>)[0].extensions?.code).toBe("FORBIDDEN");
    c.socket.close();
  });

  it("an operation before the acknowledgement: 4401", async () => {
    const c = await raw(null);
    c.send({ id: "early", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect((await c.closed).code).toBe(4401);
  });

  it("a second connection_init: 4429", async () => {
    const c = await raw();
    c.send({ type: "connection_init", payload: { authorization: `Bearer ${w.token(w.mark)}` } });
    expect(await c.closed).toEqual({ code: 4429, reason: "Too many initialisation requests" });
  });

  it("a message that is not the protocol's (not JSON, an unknown type, a subscribe without an id, a server's message): 4400", async () => {
    for (const message of ["not json", { type: "hello" }, { type: "subscribe", payload: { query: "{ me { id } }" } }, { id: "x", type: "next", payload: {} }]) {
      const c = await raw();
      c.send(message);
      expect((await c.closed).code).toBe(4400);
    }
  });

  it("an operation id already open on the socket: 4409", async () => {
    const c = await raw();
    const query = "subscription { assignmentEvents(scope: MINE) { type } }";
    c.send({ id: "same", type: "subscribe", payload: { query } });
    c.send({ id: "same", type: "subscribe", payload: { query } });
    expect(await c.closed).toEqual({ code: 4409, reason: "Subscriber for same already exists" });
  });

  it("wrong credentials at connection_init: 4403", async () => {
    const c = await raw(null);
    c.send({ type: "connection_init", payload: { authorization: "Bearer nonsense" } });
    expect((await c.closed).code).toBe(4403);
  });

  it("a socket without the graphql-transport-ws subprotocol is closed: 4406 when it offers another, or refused at the upgrade", async () => {
    const offered = new WebSocket(wsUrl(server.url), "graphql-ws");
    const outcome = await new Promise<string>((resolve) => {
      offered.once("close", (code) => resolve(`closed ${code}`));
      offered.once("error", (err) => resolve(`refused ${err.message}`));
    });
    expect(outcome).toMatch(/^closed 4406$|^refused /);
    const none = new WebSocket(wsUrl(server.url));
    const plain = await new Promise<number>((resolve) => none.once("close", (code) => resolve(code)));
    expect(plain).toBe(4406);
  });
});

describe("frames that break the WebSocket protocol itself", () => {
  /** A query on a fresh socket: the server still serves. */
  async function stillServes(): Promise<void> {
    const c = await raw();
    c.send({ id: "q", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect(await c.next()).toEqual({ id: "q", type: "next", payload: { data: { me: { id: w.mark.id } } } });
    c.socket.close();
  }

  it("a message over the size limit is closed with 1009, logged as the client's fault (a warning, not an internal error); a subscription on another socket goes on", async () => {
    const watcher = await raw();
    watcher.send({ id: "mine", type: "subscribe", payload: { query: "subscription { assignmentEvents(scope: MINE) { type } }" } });
    await sleep(100);
    const c = await raw();
    c.send({ id: "s", type: "subscribe", payload: { query: "subscription { assignmentEvents(scope: MINE) { type } }" } });
    const from = logged.length;
    c.send(JSON.stringify({ type: "ping", payload: { pad: "x".repeat(1_100_000) } })); // the test server's limit: 1,000,000 bytes
    expect((await c.closed).code).toBe(1009);
    await sleep(50);
    const lines = logged.slice(from);
    expect(lines.map((l) => [l.level, l.msg, l.wsCode])).toEqual([[40, "websocket: the client sent a frame that breaks the WebSocket protocol; closed", "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"]]);
    const chat = await createChat(db.dataSource, w.organizationId, w.martha.id);
    const assigned = await call(server.url, AssignChatDocument, { input: assignInput(chat.id, w.mark.id) }, w.token(w.martha));
    expect(assigned.errors).toBeUndefined();
    expect(await watcher.next(5_000)).toEqual({ id: "mine", type: "next", payload: { data: { assignmentEvents: { type: "CREATED" } } } });
    watcher.socket.close();
    await stillServes();
  });

  it("a text frame that is not UTF-8 is closed with 1007, logged as the client's fault", async () => {
    const c = await raw();
    const from = logged.length;
    c.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await c.closed).code).toBe(1007);
    await sleep(50);
    expect(logged.slice(from).map((l) => [l.level, l.wsCode])).toEqual([[40, "WS_ERR_INVALID_UTF8"]]);
    await stillServes();
  });
});
