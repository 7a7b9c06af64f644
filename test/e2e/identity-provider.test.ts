import { createPublicKey, createSecretKey } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createUser, createWorld, TEST_JWT_SECRET, type World } from "../support/factories";
import { TokenService } from "../../src/modules/auth/token.service";
import { startTestIssuer, type TestIssuer } from "../support/oidc-issuer";
import { codeOf, type GqlResult, startTestServer, type TestServer } from "../support/server";
import { connect } from "../support/ws-client";
import { until } from "../support/wait";

// Issue #23, identity: an organization signs its people in with its OpenID Connect provider.
// The provider here is the test's own (a discovery document and JWKS on loopback, keys made by
// jose), so every refusal the issue lists can be produced on purpose.

let db: TestDatabase;
let w: World; // Acme signs in with issuerA by email
let g: World; // Globex signs in with issuerB by oid
let issuerA: TestIssuer;
let issuerB: TestIssuer;
let server: TestServer; // insecure issuers allowed (loopback), unknown kids re-read at once
let strict: TestServer; // production defaults

const SET = `mutation($input: IdentityProviderInput!) { setIdentityProvider(input: $input) { issuer audience userClaim createUsers consoleClientId } }`;
const GET = `{ identityProvider { issuer audience userClaim createUsers consoleClientId } }`;
const REMOVE = `mutation { removeIdentityProvider }`;
const ME = `{ me { id email name role organizationId: id } }`;
const AUDIENCE_A = "api://baton-acme";
const AUDIENCE_B = "api://baton-globex";

const call = async <T>(s: TestServer, query: string, variables: Record<string, unknown>, token: string) => (await s.raw({ query, variables }, token)) as GqlResult<T>;
const me = (token: string, s: TestServer = server) => call<{ me: { id: string; email: string; name: string; role: string } }>(s, ME, {}, token);
const providerRows = (): Promise<Array<Record<string, unknown>>> => db.dataSource.query(`SELECT * FROM identity_providers ORDER BY audience`);

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
  g = await createWorld(db.dataSource, "Globex");
  issuerA = await startTestIssuer("/tenant-a/v2.0");
  issuerB = await startTestIssuer("/tenant-b/v2.0");
  server = await startTestServer(db.dataSource, { identity: { allowInsecureIssuers: true, keys: { unknownKidRefreshMs: 0 } } });
  strict = await startTestServer(db.dataSource);
  const a = await call(server, SET, { input: { issuer: issuerA.issuer, audience: AUDIENCE_A } }, w.token(w.admin));
  expect(a.errors).toBeUndefined();
  const b = await call(server, SET, { input: { issuer: issuerB.issuer, audience: AUDIENCE_B, userClaim: "oid" } }, g.token(g.admin));
  expect(b.errors).toBeUndefined();
});

afterAll(async () => {
  await server?.stop();
  await strict?.stop();
  await issuerA?.close();
  await issuerB?.close();
  await db?.drop();
});

describe("identity provider settings", () => {
  it("an admin reads and sets it; managers and users are FORBIDDEN and change nothing", async () => {
    const got = await call<{ identityProvider: Record<string, unknown> }>(server, GET, {}, w.token(w.admin));
    expect(got.data?.identityProvider).toEqual({ issuer: issuerA.issuer, audience: AUDIENCE_A, userClaim: "email", createUsers: false, consoleClientId: null });
    for (const who of [w.maria, w.mark]) {
      expect(codeOf(await call(server, GET, {}, w.token(who)))).toBe("FORBIDDEN");
      expect(codeOf(await call(server, SET, { input: { issuer: issuerA.issuer, audience: "x" } }, w.token(who)))).toBe("FORBIDDEN");
      expect(codeOf(await call(server, REMOVE, {}, w.token(who)))).toBe("FORBIDDEN");
    }
    expect((await providerRows()).map((r) => r.audience)).toEqual([AUDIENCE_A, AUDIENCE_B]);
  });

  it("refuses bad settings with the field, and writes nothing", async () => {
    const before = await providerRows();
    const refused: Array<[Record<string, unknown>, string, string, TestServer]> = [
      [{ issuer: "not a url", audience: "a" }, "issuer", "not a URL", server],
      [{ issuer: "ftp://127.0.0.1/x", audience: "a" }, "issuer", "https://", server],
      [{ issuer: `${issuerA.issuer}?tenant=1`, audience: "a" }, "issuer", "no query", server],
      [{ issuer: `${issuerA.issuer}/`, audience: "a" }, "issuer", "names the issuer", server], // the discovery document says otherwise
      [{ issuer: "http://127.0.0.1:9/none", audience: "a" }, "issuer", "discovery document", server], // nobody there
      [{ issuer: issuerA.issuer, audience: "" }, "audience", "audience", server],
      [{ issuer: issuerA.issuer, audience: "a", userClaim: "no spaces" }, "userClaim", "claim", server],
      [{ issuer: issuerA.issuer, audience: "a" }, "issuer", "https://", strict], // http:// without OIDC_ALLOW_INSECURE_ISSUERS
      [{ issuer: "https://127.0.0.1/tenant", audience: "a" }, "issuer", "not a public address", strict],
      [{ issuer: "https://localhost/tenant", audience: "a" }, "issuer", "not a public address", strict],
    ];
    for (const [input, field, message, s] of refused) {
      const res = await call(s, SET, { input }, g.token(g.admin));
      expect(codeOf(res), JSON.stringify(input)).toBe("BAD_USER_INPUT");
      expect(res.errors?.[0]?.extensions?.field).toBe(field);
      expect(res.errors?.[0]?.message).toContain(message);
    }
    // Another organization's issuer is refused too: an issuer picks one organization.
    const taken = await call(server, SET, { input: { issuer: issuerA.issuer, audience: AUDIENCE_B } }, g.token(g.admin));
    expect(codeOf(taken)).toBe("BAD_USER_INPUT");
    expect(taken.errors?.[0]?.message).toContain("Another organization");
    expect(await providerRows()).toEqual(before);
  });
});

describe("signing in with the provider's token", () => {
  it("by email: the user it names, in the issuer's organization; Baton's own tokens still work", async () => {
    const token = await issuerA.sign({ aud: AUDIENCE_A, sub: "aad-mark", email: w.mark.email.toUpperCase(), name: "Mark M" });
    const res = await me(token);
    expect(res.errors).toBeUndefined();
    expect(res.data?.me.id).toBe(w.mark.id);
    expect((await me(w.token(w.mark))).data?.me.id).toBe(w.mark.id);
    // Every algorithm the issue names.
    for (const alg of ["PS256", "ES256"] as const) {
      await issuerA.rotate(alg);
      const t = await issuerA.sign({ aud: [AUDIENCE_A, "other"], email: w.martha.email });
      expect((await me(t)).data?.me.id, alg).toBe(w.martha.id);
    }
  });

  it("by oid (a user's externalId, set with upsertUser); another organization's issuer never reaches these users", async () => {
    const up = await call<{ upsertUser: { id: string; externalId: string } }>(
      server,
      `mutation($input: UpsertUserInput!) { upsertUser(input: $input) { id externalId } }`,
      { input: { email: g.martha.email, name: "Martha", role: "USER", externalId: "oid-0001" } },
      g.token(g.admin),
    );
    expect(up.data?.upsertUser).toEqual({ id: g.martha.id, externalId: "oid-0001" });
    // Only admins see it.
    const seen = await call<{ me: { externalId: string | null } }>(server, `{ me { externalId } }`, {}, g.token(g.martha));
    expect(seen.data?.me.externalId).toBeNull();
    const token = await issuerB.sign({ aud: AUDIENCE_B, oid: "oid-0001", email: w.mark.email });
    expect((await me(token)).data?.me.id).toBe(g.martha.id);
    // Acme's issuer naming Globex's admin by email: Acme has no such user, and Globex is never looked at.
    const colliding = await createUser(db.dataSource, w.organizationId, { name: "Same Email", email: g.tom.email });
    const fromA = await me(await issuerA.sign({ aud: AUDIENCE_A, email: g.tom.email }));
    expect(fromA.data?.me.id).toBe(colliding.id);
    const nobody = await me(await issuerA.sign({ aud: AUDIENCE_A, email: g.maria.email }));
    expect(codeOf(nobody)).toBe("UNAUTHENTICATED");
    expect(nobody.errors?.[0]?.message).toContain("no Baton user for this sign-in");
  });

  it("refuses, as UNAUTHENTICATED with the reason: audience, issuer, key, expiry, algorithm, embedded keys, size", async () => {
    const now = Math.floor(Date.now() / 1000);
    const email = w.mark.email;
    const unknown = await issuerA.unpublishedKey();
    const hs = await new SignJWT({ iss: issuerA.issuer, aud: AUDIENCE_A, email, exp: now + 600 })
      .setProtectedHeader({ alg: "HS256", kid: issuerA.publicJwk().kid })
      .sign(createSecretKey(Buffer.from(createPublicKey({ key: issuerA.publicJwk() as never, format: "jwk" }).export({ type: "spki", format: "pem" }))));
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(
      JSON.stringify({ iss: issuerA.issuer, aud: AUDIENCE_A, email, exp: now + 600 }),
    ).toString("base64url")}.`;
    const cases: Array<[string, string | Promise<string>, string]> = [
      ["wrong audience", issuerA.sign({ aud: "api://someone-else", email }), "audience"],
      ["an issuer nobody configured", issuerA.sign({ aud: AUDIENCE_A, email, iss: "https://login.example.com/other" }), "not an identity provider"],
      ["a key its issuer does not publish", issuerA.signWith(unknown, { aud: AUDIENCE_A, email }), "not among its issuer's published keys"],
      ["expired", issuerA.sign({ aud: AUDIENCE_A, email, iat: now - 4000, exp: now - 3600 }), "expired"],
      ["no exp", issuerA.sign({ aud: AUDIENCE_A, email, exp: undefined }), "exp"],
      ["exp more than 24 h ahead", issuerA.sign({ aud: AUDIENCE_A, email, exp: now + 25 * 3600 }), "24 hours"],
      ["not valid yet", issuerA.sign({ aud: AUDIENCE_A, email, nbf: now + 600 }), "not valid yet"],
      ["issued in the future", issuerA.sign({ aud: AUDIENCE_A, email, iat: now + 600 }), "future"],
      ["alg none", none, "algorithm none is not accepted"],
      ["HS256 signed with the provider's public key", hs, "not valid"],
      ["an embedded jwk", issuerA.sign({ aud: AUDIENCE_A, email }, { header: { jwk: issuerA.publicJwk() } }), "carries its own key"],
      ["a jku", issuerA.sign({ aud: AUDIENCE_A, email }, { header: { jku: `${issuerA.issuer}/keys` } }), "carries its own key"],
      ["email_verified false", issuerA.sign({ aud: AUDIENCE_A, email, email_verified: false }), "not verified"],
      ["no email claim", issuerA.sign({ aud: AUDIENCE_A, sub: "x" }), "no email claim"],
      ["a signature that does not match", issuerA.sign({ aud: AUDIENCE_A, email }).then((t) => `${t.slice(0, -6)}AAAAAA`), "not valid"],
    ];
    for (const [what, token, message] of cases) {
      const res = await me(await token);
      expect(codeOf(res), what).toBe("UNAUTHENTICATED");
      expect(res.errors?.[0]?.message, what).toContain(message);
      expect(res.data ?? null, what).toBeNull();
    }
  });

  it("a token over 16 kB is refused before it is decoded: on a socket (4403), and over HTTP by the header limit (431)", async () => {
    const big = await issuerA.sign({ aud: AUDIENCE_A, email: w.mark.email, pad: "x".repeat(17_000) });
    let closedWith: number | null = null;
    const client = connect(server.url, big, (code) => (closedWith = code));
    client.subscribe({ query: "subscription { userAvailabilityChanged { id } }" }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await until(() => closedWith !== null, 5_000);
    expect(closedWith).toBe(4403);
    await client.dispose();
    const res = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${big}` }, body: JSON.stringify({ query: ME }) });
    expect(res.status).toBe(431);
    await expect(new TokenService(TEST_JWT_SECRET, db.dataSource).authenticate(`Bearer ${big}`)).rejects.toThrow("longer than 16 kB");
  });

  it("picks up a key rotation without a restart, and reads the keys again at most once per refresh window", async () => {
    const readsBefore = issuerA.jwksReads();
    const kid = await issuerA.rotate("RS256");
    const token = await issuerA.sign({ aud: AUDIENCE_A, email: w.tom.email }, { kid });
    expect((await me(token)).data?.me.id).toBe(w.tom.id);
    expect(issuerA.jwksReads()).toBe(readsBefore + 1);
    // The strict server keeps the production window (60 s): forged kids cannot make it hammer the provider.
    const other = await startTestServer(db.dataSource, { identity: { allowInsecureIssuers: true } });
    try {
      expect((await me(await issuerA.sign({ aud: AUDIENCE_A, email: w.tom.email }), other)).data?.me.id).toBe(w.tom.id);
      const reads = issuerA.jwksReads();
      for (let i = 0; i < 5; i++) {
        const forged = await issuerA.signWith(await issuerA.unpublishedKey(), { aud: AUDIENCE_A, email: w.tom.email });
        expect(codeOf(await me(forged, other))).toBe("UNAUTHENTICATED");
      }
      expect(issuerA.jwksReads()).toBe(reads);
    } finally {
      await other.stop();
    }
  });

  it("a provider that is down: cached keys keep working, expired ones too; without keys, SERVICE_UNAVAILABLE", async () => {
    const fresh = await startTestServer(db.dataSource, { identity: { allowInsecureIssuers: true, keys: { maxAgeMs: 1, failureBackoffMs: 0 } } });
    try {
      expect((await me(await issuerA.sign({ aud: AUDIENCE_A, email: w.mark.email }), fresh)).data?.me.id).toBe(w.mark.id);
      issuerA.setDown(true);
      // A new token (not one verified before) with a known key: its keys are past their max age, the refresh fails, they are kept.
      const res = await me(await issuerA.sign({ aud: AUDIENCE_A, email: w.martha.email, jti: "a" }), fresh);
      expect(res.errors).toBeUndefined();
      expect(res.data?.me.id).toBe(w.martha.id);
      // Globex's keys were never read by this instance: the provider being down is not the user's fault.
      issuerB.setDown(true);
      const unknown = await me(await issuerB.sign({ aud: AUDIENCE_B, oid: "oid-0001" }), fresh);
      expect(codeOf(unknown)).toBe("SERVICE_UNAVAILABLE");
      expect(unknown.status).toBe(503);
      issuerB.setDown(false);
      expect((await me(await issuerB.sign({ aud: AUDIENCE_B, oid: "oid-0001" }), fresh)).data?.me.id).toBe(g.martha.id);
    } finally {
      issuerA.setDown(false);
      issuerB.setDown(false);
      await fresh.stop();
    }
  });

  it("createUsers: on, a first sign-in creates an active USER from the token's name and email; off, it is refused", async () => {
    const email = `new.agent.${Date.now()}@acme.test`;
    const token = await issuerA.sign({ aud: AUDIENCE_A, email, name: "New Agent" });
    const refused = await me(token);
    expect(codeOf(refused)).toBe("UNAUTHENTICATED");
    expect(refused.errors?.[0]?.message).toBe("There is no Baton user for this sign-in");
    await call(server, SET, { input: { issuer: issuerA.issuer, audience: AUDIENCE_A, createUsers: true } }, w.token(w.admin));
    try {
      // Several first requests at once create one user.
      const answers = await Promise.all([0, 1, 2, 3].map(async (i) => me(await issuerA.sign({ aud: AUDIENCE_A, email, name: "New Agent", jti: String(i) }))));
      const ids = new Set(answers.map((a) => a.data?.me.id));
      expect(ids.size).toBe(1);
      expect(answers[0]?.data?.me).toMatchObject({ email, name: "New Agent", role: "USER" });
      const rows = await db.dataSource.query(`SELECT organization_id, active, role FROM users WHERE lower(email) = lower($1)`, [email]);
      expect(rows).toEqual([{ organization_id: w.organizationId, active: true, role: "USER" }]);
    } finally {
      await call(server, SET, { input: { issuer: issuerA.issuer, audience: AUDIENCE_A, createUsers: false } }, w.token(w.admin));
    }
  });

  it("a socket signs in with a provider token and is closed with 4401 when it expires", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await issuerA.sign({ aud: AUDIENCE_A, email: w.mark.email, exp: now + 3 });
    let closedWith: number | null = null;
    const client = connect(server.url, token, (code) => (closedWith = code));
    const events: unknown[] = [];
    client.subscribe({ query: "subscription { userAvailabilityChanged { id } }" }, { next: (v) => events.push(v), error: () => undefined, complete: () => undefined });
    await until(() => closedWith !== null, 8_000);
    expect(closedWith).toBe(4401);
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(now + 3 - 1);
    await client.dispose();
  });

  it("the console's sign-in finds the provider by email or organization, and its pages may talk to that issuer only", async () => {
    const base = server.url.replace(/\/graphql$/, "");
    const sso = (query: string) => fetch(`${base}/console/sso.json?${query}`);
    // Acme's provider has no console client id: no single sign-on in the console.
    const none = await sso(`email=${encodeURIComponent(w.mark.email)}`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe("NOT_FOUND");
    const set = await call(server, SET, { input: { issuer: issuerB.issuer, audience: AUDIENCE_B, userClaim: "oid", consoleClientId: "globex-console" } }, g.token(g.admin));
    expect(set.errors).toBeUndefined();
    const expected = { issuer: issuerB.issuer, clientId: "globex-console", token: "access_token", audience: AUDIENCE_B };
    expect(await (await sso(`email=${encodeURIComponent(g.maria.email.toUpperCase())}`)).json()).toEqual(expected);
    expect(await (await sso(`organization=${g.organizationId}`)).json()).toEqual(expected);
    expect((await sso("email=not-an-email")).status).toBe(400);
    expect((await sso("organization=42")).status).toBe(400);
    expect((await sso("")).status).toBe(400);
    // The console's page lets its scripts reach that issuer (its discovery, keys and token endpoint), and no other.
    const csp = (await fetch(`${base}/`)).headers.get("content-security-policy") ?? "";
    expect(csp).toContain(new URL(issuerB.issuer).origin);
    expect(csp).not.toContain(new URL(issuerA.issuer).origin);
  });

  it("removing the provider stops its tokens at once", async () => {
    const token = await issuerB.sign({ aud: AUDIENCE_B, oid: "oid-0001" });
    expect((await me(token)).data?.me.id).toBe(g.martha.id);
    expect((await call<{ removeIdentityProvider: boolean }>(server, REMOVE, {}, g.token(g.admin))).data?.removeIdentityProvider).toBe(true);
    expect(codeOf(await me(token))).toBe("UNAUTHENTICATED");
    expect((await call<{ removeIdentityProvider: boolean }>(server, REMOVE, {}, g.token(g.admin))).data?.removeIdentityProvider).toBe(false);
    expect(await call(server, GET, {}, g.token(g.admin))).toMatchObject({ data: { identityProvider: null } });
  });
});
