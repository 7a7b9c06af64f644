import http from "node:http";
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createWorld, type World } from "../support/factories";
import { type ServerProcess, spawnServer, stopServer } from "../support/process";
import { startTestServer, type TestServer } from "../support/server";

// Issue #28, points 3 and 6: introspection and browser hardening, tried from outside.

let db: TestDatabase;
let server: TestServer;
let w: World;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource, "Acme");
  server = await startTestServer(db.dataSource, { demo: true });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function post(url: string, query: string, token?: string): Promise<Answer> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

/** The probe's document: 30 aliases of the schema, 4.6 kB that answered 0.8 MB. */
const ALIASED_SCHEMA = `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: __schema { types { name kind description fields { name description type { name kind ofType { name kind } } } } }`).join(" ")} }`;

describe("introspection (GRAPHQL_INTROSPECTION, default authenticated)", () => {
  it("anonymous: refused before it runs (401 UNAUTHENTICATED); signed in: the standard query passes", async () => {
    const anonymous = await post(server.url, "{ __schema { queryType { name } } }");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(anonymous.body.data ?? null).toBeNull();
    const viaType = await post(server.url, '{ __type(name: "Query") { name } }');
    expect(viaType.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    // __typename is not introspection of the schema.
    expect((await post(server.url, "{ __typename }")).body.data).toEqual({ __typename: "Query" });
    const standard = await post(server.url, getIntrospectionQuery(), w.token(w.mark));
    expect(standard.body.errors).toBeUndefined();
    expect(JSON.stringify(standard.body.data).length).toBeGreaterThan(50_000);
  });

  it("costs by the bytes it produces: 30 aliases of the schema, or lists nested past the standard query's, are QUERY_TOO_COMPLEX even when signed in", async () => {
    const aliased = await post(server.url, ALIASED_SCHEMA, w.token(w.mark));
    expect(aliased.body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    expect(aliased.body.errors?.[0]?.extensions?.estimatedBytes).toBeGreaterThan(500_000);
    const nested = await post(server.url, "{ __schema { types { fields { type { enumValues { name } } } } } }", w.token(w.mark));
    expect(nested.body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    // Two schemas fit the budget (~2.5 standard introspections); the same selection 30 times does not.
    const two = await post(server.url, ALIASED_SCHEMA.replace(/ a([2-9]|[12][0-9]): __schema \{ types \{ name kind description fields \{ name description type \{ name kind ofType \{ name kind \} \} \} \} \}/g, ""), w.token(w.mark));
    expect(two.body.errors).toBeUndefined();
    expect(Object.keys(two.body.data ?? {})).toEqual(["a0", "a1"]);
  });

  it("__typename aliases count against the alias limit like any others", async () => {
    const fine = await post(server.url, `{ ${Array.from({ length: 30 }, (_, i) => `t${i}: __typename`).join(" ")} }`);
    expect(fine.body.errors).toBeUndefined();
    const many = await post(server.url, `{ ${Array.from({ length: 31 }, (_, i) => `t${i}: __typename`).join(" ")} }`);
    expect(many.body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
  });

  it("errors suggest no field names unless GRAPHQL_SUGGESTIONS is on", async () => {
    const typo = await post(server.url, "{ mee { id } }", w.token(w.mark));
    expect(typo.body.errors?.[0]?.message).toMatch(/Cannot query field "mee"/);
    expect(typo.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });

  it("modes: public lets anyone introspect (within the byte budget), off refuses everyone", async () => {
    const open = await spawnServer(db.url, { GRAPHQL_INTROSPECTION: "public", GRAPHQL_SUGGESTIONS: "true" });
    const closed = await spawnServer(db.url, { GRAPHQL_INTROSPECTION: "off" });
    try {
      expect((await post(open.url, "{ __schema { queryType { name } } }")).body.data).toEqual({ __schema: { queryType: { name: "Query" } } });
      expect((await post(open.url, ALIASED_SCHEMA)).body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
      expect((await post(open.url, "{ mee { id } }")).body.errors?.[0]?.message).toMatch(/Did you mean "me"/);
      const refused = await post(closed.url, "{ __schema { queryType { name } } }", w.token(w.admin));
      expect(refused.body.errors?.[0]?.message).toMatch(/introspection/i);
    } finally {
      await Promise.all([stopServer(open), stopServer(closed)]);
    }
  }, 60_000);

  it("anonymous introspection under load (4 clients at 11 requests/s) leaves a signed-in user's p50 within 2x of its quiet value", async () => {
    const api: ServerProcess = await spawnServer(db.url);
    try {
      const token = w.token(w.mark);
      const p50 = async (n: number): Promise<number> => {
        const times: number[] = [];
        for (let i = 0; i < n; i++) {
          const started = performance.now();
          const answer = await post(api.url, "{ me { id } }", token);
          times.push(performance.now() - started);
          expect(answer.body.data).toEqual({ me: { id: w.mark.id } });
          await new Promise((r) => setTimeout(r, 20));
        }
        return times.sort((a, b) => a - b)[Math.floor(n / 2)];
      };
      await p50(20); // warm up
      const quiet = await p50(60);
      let stop = false;
      const refusedCodes = new Set<unknown>();
      const attackers = Array.from({ length: 4 }, async () => {
        while (!stop) {
          const answer = await post(api.url, ALIASED_SCHEMA);
          refusedCodes.add(answer.body.errors?.[0]?.extensions?.code);
          await new Promise((r) => setTimeout(r, 90)); // ~11 requests/s each
        }
      });
      const loaded = await p50(60);
      stop = true;
      await Promise.all(attackers);
      expect(loaded, `quiet p50 ${quiet.toFixed(1)} ms, under load ${loaded.toFixed(1)} ms`).toBeLessThan(2 * quiet);
      // Every attack refused before it ran: too big for anyone, and anonymous.
      expect([...refusedCodes].every((code) => code === "QUERY_TOO_COMPLEX" || code === "UNAUTHENTICATED"), String([...refusedCodes])).toBe(true);
    } finally {
      await stopServer(api);
    }
  }, 60_000);
});

describe("browser hardening", () => {
  it("the console and the API carry CSP (frame-ancestors 'none'), nosniff and no-referrer; no X-Powered-By", async () => {
    for (const path of ["/", "/graphql?query=%7B__typename%7D"]) {
      const res = await fetch(server.url.replace(/\/graphql$/, path));
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(res.headers.get("x-powered-by"), path).toBeNull();
    }
  });

  it("GET /graphql from a browser loads no landing page from a CDN", async () => {
    const res = await fetch(server.url, { headers: { accept: "text/html" } });
    const text = await res.text();
    expect(text).not.toMatch(/<script|cdn\.|apollographql\.com|embeddable-sandbox/i);
  });

  it("the console's files are compressed (brotli, else gzip) with long-lived caching, its source maps never served, the API's answers not compressed (#26)", async () => {
    const root = server.url.replace(/\/graphql$/, "");
    const html = await (await fetch(`${root}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeTruthy();
    // fetch decodes what it asks for; the raw headers say how it came.
    const raw = (encoding: string) =>
      new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: number; body: Buffer }>((resolve, reject) => {
        http.get(`${root}${script}`, { headers: { "accept-encoding": encoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks).length, body: Buffer.concat(chunks) }));
        }).on("error", reject);
      });
    const plain = await raw("identity");
    const br = await raw("br, gzip");
    const gz = await raw("gzip");
    expect(br.headers["content-encoding"]).toBe("br");
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(br.bytes).toBeLessThan(plain.bytes / 2);
    expect(br.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(plain.body.toString()).not.toContain("sourceMappingURL");
    expect((await fetch(`${root}${script}.map`)).status).toBe(404);
    const api = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      const req = http.request(server.url, { method: "POST", headers: { "content-type": "application/json", "accept-encoding": "br, gzip" } }, (res) => {
        res.resume();
        resolve(res.headers);
      });
      req.on("error", reject);
      req.end(JSON.stringify({ query: "{ __typename }" }));
    });
    expect(api["content-encoding"]).toBeUndefined();
  });

  it("unknown paths answer a JSON 404", async () => {
    for (const path of ["/nope", "/console/nothing.json", "/exports/nothing.csv"]) {
      const res = await fetch(server.url.replace(/\/graphql$/, path));
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toMatch(/application\/json/);
      const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0]?.extensions.code, path).toBe("NOT_FOUND");
    }
  });

  it("a path that cannot be decoded answers JSON (404), not an HTML page", async () => {
    const res = await fetch(server.url.replace(/\/graphql$/, "/%E0%A4%A"));
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const text = await res.text();
    expect(text).not.toMatch(/<html|<pre|at .*\.js:\d+/i);
    expect((JSON.parse(text) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe("NOT_FOUND");
  });

  it("CONSOLE_API_ORIGINS are the only other origins the console's page may connect to", async () => {
    const listed = await startTestServer(db.dataSource, { consoleApiOrigins: ["https://baton.example.com"] });
    try {
      const csp = (await fetch(listed.url.replace(/\/graphql$/, "/"))).headers.get("content-security-policy") ?? "";
      const connect = /connect-src ([^;]+)/.exec(csp)?.[1]?.split(" ") ?? [];
      expect(connect.sort()).toEqual(["'self'", "https://baton.example.com", "wss://baton.example.com"].sort());
    } finally {
      await listed.stop();
    }
  });
});
