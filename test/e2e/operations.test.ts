import net from "node:net";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { Client as UrqlClient, fetchExchange } from "@urql/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptAssignmentDocument,
  AssignChatDocument,
  BulkAssignChatsDocument,
  MeDocument,
  RejectAssignmentDocument,
  WithdrawAssignmentDocument,
} from "../../schema/generated/graphql";
import { freePort } from "../../src/db/embedded-postgres";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, type World } from "../support/factories";
import { call, codeOfAnswer } from "../support/http-client";
import { type ServerProcess, spawnServer, stopServer } from "../support/process";
import { testServices } from "../support/services";
import { sleep, until } from "../support/wait";
import { connect, rawSocket } from "../support/ws-client";

const run = promisify(execFile);
let db: TestDatabase;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
});
afterAll(() => db?.drop());

function captured(s: ServerProcess): () => string {
  let out = "";
  s.child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  return () => out;
}

/** Prometheus text: the value of one sample, labels written as in the exposition. */
function sample(text: string, name: string, labels = ""): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : undefined;
}

const base = (s: ServerProcess) => s.url.replace(/\/graphql$/, "");

describe("metrics and request logs", () => {
  let server: ServerProcess;
  let output: () => string;
  beforeAll(async () => {
    await testServices(db.dataSource).settings.update(w.admin, { assignRequestTimeoutSeconds: 5 });
    server = await spawnServer(db.url);
    output = captured(server);
  });
  afterAll(() => stopServer(server));

  it("/metrics moves with real operations: operations, transitions, response times, timeout lateness, pending, sockets, process", async () => {
    const socket = rawSocket(server.url);
    await socket.opened;
    const [c1, c2, c3, c4] = await Promise.all(Array.from({ length: 4 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
    const mark = w.token(w.mark);
    const martha = w.token(w.martha);
    const a1 = await call(server.url, AssignChatDocument, { input: assignInput(c1.id, w.martha.id) }, mark);
    await call(server.url, AcceptAssignmentDocument, { requestId: a1.data!.assignChat.id }, martha);
    const again = await call(server.url, AcceptAssignmentDocument, { requestId: a1.data!.assignChat.id }, martha);
    expect(codeOfAnswer(again)).toBe("REQUEST_NOT_PENDING");
    const a2 = await call(server.url, AssignChatDocument, { input: assignInput(c2.id, w.martha.id) }, mark);
    await call(server.url, RejectAssignmentDocument, { requestId: a2.data!.assignChat.id, reason: "busy" }, martha);
    const a3 = await call(server.url, AssignChatDocument, { input: assignInput(c3.id, w.martha.id) }, mark);
    await call(server.url, WithdrawAssignmentDocument, { requestId: a3.data!.assignChat.id, reason: "oops" }, mark);
    const bulkChats = await Promise.all(Array.from({ length: 3 }, () => createChat(db.dataSource, w.organizationId, w.mark.id)));
    await call(server.url, BulkAssignChatsDocument, { input: { chatSessionIds: bulkChats.map((c) => c.id), toUserId: w.tom.id } }, w.token(w.maria));
    const a4 = await call(server.url, AssignChatDocument, { input: assignInput(c4.id, w.martha.id) }, mark);
    const mid = await (await fetch(server.metricsUrl!)).text();
    expect(sample(mid, "baton_pending_requests")).toBe(1);
    expect(sample(mid, "baton_websocket_connections")).toBe(1); // open, not yet authenticated (closed after 5 s)
    // a4 times out on its own (5 s).
    await until(async () => {
      const [r] = await db.dataSource.query<Array<{ status: string }>>(`SELECT status FROM assignment_requests WHERE id = $1`, [a4.data!.assignChat.id]);
      return r?.status === "TIMED_OUT";
    }, 10_000, 100);

    const res = await fetch(server.metricsUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await res.text();
    expect(sample(text, "baton_graphql_operations_total", 'operation="AssignChat",code="OK"')).toBe(4);
    expect(sample(text, "baton_graphql_operations_total", 'operation="AcceptAssignment",code="REQUEST_NOT_PENDING"')).toBe(1);
    expect(sample(text, "baton_graphql_operation_duration_seconds_count", 'operation="AssignChat"')).toBe(4);
    for (const to of ["ACCEPTED", "REJECTED", "WITHDRAWN", "TIMED_OUT"]) {
      expect(sample(text, "baton_handover_transitions_total", `kind="ASSIGN",to="${to}"`), to).toBe(1);
      expect(sample(text, "baton_handover_response_seconds_count", `to="${to}"`), to).toBe(1);
    }
    expect(sample(text, "baton_handover_transitions_total", 'kind="ASSIGN",to="ASSIGNED"')).toBe(3);
    expect(sample(text, "baton_timeout_lateness_seconds_count")).toBe(1);
    expect(sample(text, "baton_timeout_lateness_seconds_sum")).toBeLessThan(2);
    expect(sample(text, "baton_pending_requests")).toBe(0);
    expect(sample(text, "baton_websocket_connections")).toBe(0);
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/); // no ids in labels
    socket.socket.close();
  });

  it("operation names are bounded label values", async () => {
    for (let i = 0; i < 230; i++) {
      await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: `query Op${i} { __typename }` }) });
    }
    const text = await (await fetch(server.metricsUrl!)).text();
    const names = new Set([...text.matchAll(/baton_graphql_operations_total\{operation="([^"]+)"/g)].map((m) => m[1]));
    expect(names.size).toBeLessThanOrEqual(201);
    expect(names.has("other")).toBe(true);
    expect(names.has("Op229")).toBe(false);
  });

  it("one JSON line per HTTP request, with its operation's facts and the request id echoed (the client's when sane)", async () => {
    const echoed = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.mark)}`, "x-request-id": "console-42" },
      body: JSON.stringify({ query: "query WhoAmI { me { id } }" }),
    });
    expect(echoed.headers.get("x-request-id")).toBe("console-42");
    const replaced = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "not a sane id; <script>" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const linesOf = (id: string) =>
      output()
        .split("\n")
        .filter((l) => l.includes(`"reqId":"${id}"`))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    // One line per request, once the answer is sent (lines are written in batches: up to 200 ms
    // later), with the HTTP facts and the operation's.
    await until(() => linesOf("console-42").some((l) => l.msg === "request completed"), 3_000);
    const lines = linesOf("console-42");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      reqId: "console-42",
      res: { statusCode: 200 },
      req: { method: "POST", path: "/graphql" },
      operation: "WhoAmI",
      code: "OK",
      userId: w.mark.id,
      organizationId: w.organizationId,
      transport: "http",
    });
    expect(typeof lines[0]?.durationMs).toBe("number");
    expect(typeof lines[0]?.responseTime).toBe("number");
    // A refused operation's line says why, by its code.
    const refused = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "refused-7" },
      body: JSON.stringify({ query: "query Mine { me { id } }" }),
    });
    expect(refused.status).toBe(200);
    await until(() => linesOf("refused-7").length > 0, 3_000);
    expect(linesOf("refused-7")).toEqual([expect.objectContaining({ msg: "request completed", operation: "Mine", code: "UNAUTHENTICATED", userId: null })]);
    expect(output()).not.toMatch(/authorization|Bearer /i); // headers (tokens) are never logged
  });

  it("a request the client cancels is one info line 'request aborted', not an error (#26)", async () => {
    const url = new URL(server.url);
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once("connect", resolve));
    // Headers and half a body, then gone: as a browser tab closed mid-request.
    socket.write(`POST /graphql HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: 200\r\nx-request-id: cancelled-1\r\n\r\n{"query":"{ me`);
    await sleep(200);
    socket.destroy();
    const linesOf = () =>
      output()
        .split("\n")
        .filter((l) => l.includes(`"reqId":"cancelled-1"`))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await until(() => linesOf().length > 0, 3_000);
    await sleep(300);
    expect(linesOf()).toEqual([expect.objectContaining({ level: 30, msg: "request aborted", aborted: true })]);
    expect(output()).not.toMatch(/"level":50[^\n]*cancelled-1/);
  });

  it("/metrics is on a loopback listener of its own (METRICS_PORT), not on the API's port; METRICS_ON_API_PORT moves it there; METRICS_ENABLED=false turns it off", async () => {
    // The default server above: the API's port answers a JSON 404 for /metrics.
    const onApi = await fetch(`${base(server)}/metrics`);
    expect(onApi.status).toBe(404);
    expect(((await onApi.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe("NOT_FOUND");
    expect(new URL(server.metricsUrl!).hostname).toBe("127.0.0.1");
    const port = await freePort();
    const fixed = await spawnServer(db.url, { METRICS_PORT: String(port) });
    const moved = await spawnServer(db.url, { METRICS_ON_API_PORT: "true" });
    const off = await spawnServer(db.url, { METRICS_ENABLED: "false" });
    try {
      expect(fixed.metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);
      const there = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(there.status).toBe(200);
      expect(await there.text()).toContain("baton_pending_requests");
      expect((await fetch(`${base(fixed)}/metrics`)).status).toBe(404);
      expect(moved.metricsUrl).toBeNull();
      expect(await (await fetch(`${base(moved)}/metrics`)).text()).toContain("baton_pending_requests");
      expect(off.metricsUrl).toBeNull();
      expect((await fetch(`${base(off)}/metrics`)).status).toBe(404);
    } finally {
      await Promise.all([stopServer(fixed), stopServer(moved), stopServer(off)]);
    }
  });
});

describe("rate limits", () => {
  it("per user: the 6th operation in a minute is RATE_LIMITED (429, Retry-After); other users are unaffected; the CSV export counts", async () => {
    const server = await spawnServer(db.url, { RATE_LIMIT_PER_MINUTE: "5", RATE_LIMIT_PER_IP_PER_MINUTE: "0" });
    try {
      for (let i = 0; i < 5; i++) expect((await call(server.url, MeDocument, {}, w.token(w.mark))).data?.me.name).toBe("Mark");
      const res = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${w.token(w.mark)}` },
        body: JSON.stringify({ query: "{ me { id } }" }),
      });
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = (await res.json()) as { errors: Array<{ extensions: { code: string; retryAfterSeconds: number } }> };
      expect(body.errors[0]?.extensions).toEqual({ code: "RATE_LIMITED", retryAfterSeconds: retryAfter });
      expect((await call(server.url, MeDocument, {}, w.token(w.martha))).data?.me.name).toBe("Martha");

      const csv = `${base(server)}/exports/engagement-tracking-records.csv`;
      const maria = { authorization: `Bearer ${w.token(w.maria)}` };
      for (let i = 0; i < 5; i++) expect((await fetch(csv, { headers: maria })).status).toBe(200);
      const limited = await fetch(csv, { headers: maria });
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBeTruthy();
    } finally {
      await stopServer(server);
    }
  });

  it("per IP: the 6th request from one address is refused, authenticated or not, over HTTP or on a socket", async () => {
    const server = await spawnServer(db.url, { RATE_LIMIT_PER_MINUTE: "0", RATE_LIMIT_PER_IP_PER_MINUTE: "5" });
    const client = connect(server.url, w.token(w.mark));
    /** One query on the socket: its result, or the errors it was refused with. */
    const onSocket = () =>
      new Promise<{ data?: unknown; errors?: ReadonlyArray<{ extensions?: { code?: string } }> }>((resolve) => {
        let result: { data?: unknown } = {};
        client.subscribe({ query: "{ me { id } }" }, { next: (v) => (result = v), error: (e) => resolve({ errors: e as ReadonlyArray<{ extensions?: { code?: string } }> }), complete: () => resolve(result) });
      });
    try {
      for (let i = 0; i < 3; i++) expect((await call(server.url, MeDocument, {}, w.token(i % 2 ? w.mark : w.martha))).status).toBe(200);
      // The socket's operations take from the same address's budget (its address kept from the upgrade).
      for (let i = 0; i < 2; i++) expect((await onSocket()).data).toEqual({ me: { id: w.mark.id } });
      expect((await onSocket()).errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
      const res = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }" }) });
      expect(res.status).toBe(429);
      expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe("RATE_LIMITED");
    } finally {
      await client.dispose();
      await stopServer(server);
    }
  });

  const redisUrl = process.env.TEST_REDIS_URL;
  it.skipIf(!redisUrl)(`across two instances sharing Redis, one budget per user${redisUrl ? "" : " (skipped: TEST_REDIS_URL is not set)"}`, async () => {
    const env = { REDIS_URL: redisUrl!, RATE_LIMIT_PER_MINUTE: "6", RATE_LIMIT_PER_IP_PER_MINUTE: "0" };
    const [a, b] = await Promise.all([spawnServer(db.url, env), spawnServer(db.url, env)]);
    try {
      const tom = w.token(w.tom);
      for (let i = 0; i < 6; i++) expect((await call(i % 2 ? a.url : b.url, MeDocument, {}, tom)).status).toBe(200);
      expect(codeOfAnswer(await call(a.url, MeDocument, {}, tom))).toBe("RATE_LIMITED");
      expect(codeOfAnswer(await call(b.url, MeDocument, {}, tom))).toBe("RATE_LIMITED");
    } finally {
      await Promise.all([stopServer(a), stopServer(b)]);
      // The test's own keys only (never a flush of the shared Redis).
      const r = new Redis(redisUrl!);
      await r.del(`baton:rl-user:${w.tom.id}`);
      r.disconnect();
    }
  });
});

describe("browsers and standard clients", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer(db.url, { CORS_ORIGINS: "https://console.example.com" });
  });
  afterAll(() => stopServer(server));

  const preflight = (origin: string) =>
    fetch(server.url, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });

  it("CORS: a preflight from a listed origin gets the headers; from another origin, none", async () => {
    const ok = await preflight("https://console.example.com");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://console.example.com");
    expect(ok.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const evil = await preflight("https://evil.example");
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    const post = await fetch(server.url, {
      method: "POST",
      headers: { origin: "https://console.example.com", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(post.headers.get("access-control-allow-origin")).toBe("https://console.example.com");
    expect(post.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);
  });

  it("urql and Apollo Client with their default settings, GET and POST", async () => {
    const headers = { authorization: `Bearer ${w.token(w.mark)}` };
    const urql = new UrqlClient({ url: server.url, exchanges: [fetchExchange], fetchOptions: { headers } });
    const viaGet = await urql.query(gql`query UrqlMe { me { name } }`, {}).toPromise();
    expect(viaGet.error).toBeUndefined();
    expect((viaGet.data as { me: { name: string } }).me.name).toBe("Mark");
    expect(viaGet.operation.context.fetchOptions).toBeDefined();
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const viaPost = await urql
      .mutation(gql`mutation UrqlAssign($input: AssignChatInput!) { assignChat(input: $input) { status } }`, { input: assignInput(chat.id, w.martha.id) })
      .toPromise();
    expect(viaPost.error).toBeUndefined();
    expect((viaPost.data as { assignChat: { status: string } }).assignChat.status).toBe("PENDING");

    for (const useGETForQueries of [false, true]) {
      const apollo = new ApolloClient({ link: new HttpLink({ uri: server.url, headers, useGETForQueries }), cache: new InMemoryCache() });
      const result = await apollo.query<{ me: { name: string } }>({ query: gql`query ApolloMe { me { name } }` });
      expect(result.data?.me.name).toBe("Mark");
    }
  });

  it("a cross-site simple request (text/plain POST) cannot run a mutation; GET cannot either", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const mutation = `mutation { assignChat(input: { chatSessionId: "${chat.id}", recipientId: "${w.martha.id}", recipientType: USER }) { id } }`;
    const plain = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "text/plain", origin: "https://evil.example", authorization: `Bearer ${w.token(w.mark)}` },
      body: JSON.stringify({ query: mutation }),
    });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe("BAD_REQUEST");
    const viaGet = await fetch(`${server.url}?query=${encodeURIComponent(mutation)}`, { headers: { authorization: `Bearer ${w.token(w.mark)}` } });
    expect(viaGet.status).toBe(405);
    const [{ n }] = await db.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM assignment_requests WHERE chat_session_id = $1`, [chat.id]);
    expect(n).toBe(0);
  });
});

describe("the CLI", () => {
  it("while the embedded server runs: token works against it; org:create refuses an admin email that exists; --help; errors give their reason", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "baton-cli-"));
    chmodSync(dir, 0o755);
    const env = { ...process.env, DATABASE_URL: "", JWT_SECRET: "", BATON_DATA_DIR: dir, LOG_LEVEL: "warn" };
    const server = await spawnServer("", { DATABASE_URL: "", JWT_SECRET: "", BATON_DATA_DIR: dir });
    const cli = (args: string[]) =>
      run(process.execPath, [path.resolve(__dirname, "../../dist/src/cli.js"), ...args], { env }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    try {
      const token = await cli(["token", "--email", "mark@demo.baton"]);
      expect(token.code).toBe(0);
      const { token: jwt } = JSON.parse(token.stdout) as { token: string };
      expect((await call(server.url, MeDocument, {}, jwt)).data?.me.name).toBe("Mark");

      const dup = await cli(["org:create", "--name", "Again", "--admin-email", "admin@demo.baton", "--admin-name", "Ada"]);
      expect(dup.code).toBe(1);
      expect(dup.stderr.trim()).toMatch(/^baton cli: a user with the email admin@demo\.baton already exists/);
      const made = await cli(["org:create", "--name", "Globex", "--admin-email", "boss@globex.test", "--admin-name", "Hank"]);
      expect(made.code).toBe(0);
      expect(JSON.parse(made.stdout)).toMatchObject({ organizationId: expect.any(String), adminToken: expect.any(String) });

      const help = await cli(["--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/org:create/);
      const unknown = await cli(["token", "--emial", "x"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/^baton cli: .*emial/);
      const nobody = await cli(["token", "--email", "nobody@nowhere.test"]);
      expect(nobody.stderr.trim()).toBe("baton cli: no active user has the email nobody@nowhere.test");
    } finally {
      await stopServer(server);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
