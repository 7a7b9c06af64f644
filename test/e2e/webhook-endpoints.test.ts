import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createWorld, type World } from "../support/factories";
import { codeOf, type GqlResult, startTestServer, type TestServer } from "../support/server";

// Issue #22, its first step: the admins' webhook endpoints over GraphQL. Who may manage them,
// the URL rules (https and the public internet only, unless private networks are allowed), the
// secret shown once and sealed at rest, rotation, and bad input leaving nothing written.

let db: TestDatabase;
let w: World;
let other: World;
let server: TestServer; // production defaults, with WEBHOOK_SECRET_KEY
let open: TestServer; // WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, no key

const ENDPOINT = "id url eventTypes enabled disabledReason createdAt";
const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { ${ENDPOINT} } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { ${ENDPOINT} } }`;
const ROTATE = `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id } } }`;
const DELETE = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`;
const LIST = `{ webhookEndpoints { ${ENDPOINT} } }`;

type Created = { createWebhookEndpoint: { secret: string; endpoint: { id: string; url: string; eventTypes: string[]; enabled: boolean } } };

const call = async <T>(s: TestServer, query: string, variables: Record<string, unknown>, token: string) => (await s.raw({ query, variables }, token)) as GqlResult<T>;
const rows = (): Promise<Array<Record<string, unknown>>> => db.dataSource.query(`SELECT * FROM webhook_endpoints WHERE organization_id = $1`, [w.organizationId]);

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
  other = await createWorld(db.dataSource, "Globex");
  server = await startTestServer(db.dataSource, { webhooks: { secretKey: randomBytes(32), allowPrivateNetworks: false } });
  open = await startTestServer(db.dataSource, { webhooks: { secretKey: null, allowPrivateNetworks: true } });
});

afterAll(async () => {
  await server?.stop();
  await open?.stop();
  await db?.drop();
});

describe("webhook endpoints", () => {
  it("an admin creates one: the secret is shown once, sealed at rest; the list never shows it", async () => {
    const res = await call<Created>(server, CREATE, { input: { url: "https://93.184.216.34/hooks/baton", eventTypes: ["ACCEPTED", "TIMED_OUT", "ACCEPTED"] } }, w.token(w.admin));
    expect(res.errors).toBeUndefined();
    const { secret, endpoint } = res.data!.createWebhookEndpoint;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint).toMatchObject({ url: "https://93.184.216.34/hooks/baton", eventTypes: ["ACCEPTED", "TIMED_OUT"], enabled: true, disabledReason: null });
    const [row] = await rows();
    expect(String(row?.secret)).toMatch(/^sealed:v1:/);
    expect(String(row?.secret)).not.toContain(secret.slice(6));
    const list = await call<{ webhookEndpoints: Array<Record<string, unknown>> }>(server, LIST, {}, w.token(w.admin));
    expect(list.data?.webhookEndpoints).toEqual([expect.objectContaining({ id: endpoint.id })]);
    expect(JSON.stringify(list)).not.toContain("whsec_");
    await call(server, DELETE, { id: endpoint.id }, w.token(w.admin));
  });

  it("only admins: a manager and a user are FORBIDDEN, and nothing is written", async () => {
    for (const who of [w.maria, w.mark]) {
      const res = await call(server, CREATE, { input: { url: "https://93.184.216.34/x" } }, w.token(who));
      expect(codeOf(res)).toBe("FORBIDDEN");
      expect(codeOf(await call(server, LIST, {}, w.token(who)))).toBe("FORBIDDEN");
    }
    expect(await rows()).toHaveLength(0);
  });

  it("refuses what a webhook must not reach, with the field, and writes nothing", async () => {
    const refused: Array<[string, string]> = [
      ["http://93.184.216.34/hook", "url must be an https:// URL"],
      ["https://127.0.0.1/hook", "public internet"],
      ["https://169.254.169.254/latest/meta-data", "public internet"],
      ["https://10.0.0.5/hook", "public internet"],
      ["https://[::1]/hook", "public internet"],
      ["https://localhost:8443/hook", "public internet"], // a name that resolves to loopback
      ["https://no-such-host.invalid/hook", "does not resolve"],
      ["https://user:pw@93.184.216.34/hook", "credentials"],
      ["ftp://93.184.216.34/hook", "https://"],
      ["not a url", "not a valid URL"],
      ["", "required"],
      [`https://93.184.216.34/${"a".repeat(2100)}`, "at most"],
    ];
    for (const [url, message] of refused) {
      const res = await call(server, CREATE, { input: { url } }, w.token(w.admin));
      expect(codeOf(res), url).toBe("BAD_USER_INPUT");
      expect(res.errors?.[0]?.extensions?.field, url).toBe("url");
      expect(res.errors?.[0]?.message, url).toContain(message);
    }
    const badType = await call(server, CREATE, { input: { url: "https://93.184.216.34/x", eventTypes: ["SHIPPED"] } }, w.token(w.admin));
    expect(codeOf(badType)).toBe("BAD_USER_INPUT");
    expect(await rows()).toHaveLength(0);
  });

  it("with private networks allowed (tests, on-premises CRMs), http and loopback are accepted", async () => {
    const res = await call<Created>(open, CREATE, { input: { url: "http://127.0.0.1:9/hook" } }, w.token(w.admin));
    expect(res.errors).toBeUndefined();
    const { secret, endpoint } = res.data!.createWebhookEndpoint;
    expect(endpoint.eventTypes).toEqual([]);
    // Without WEBHOOK_SECRET_KEY the secret is stored as it is (the README says what a dump exposes).
    expect((await rows()).find((r) => r.id === endpoint.id)?.secret).toBe(secret);
    await call(open, DELETE, { id: endpoint.id }, w.token(w.admin));
  });

  it("updates, disables and enables, rotates (the previous secret signs for 24 h), deletes; another organization's id is NOT_FOUND", async () => {
    const created = (await call<Created>(server, CREATE, { input: { url: "https://93.184.216.34/a" } }, w.token(w.admin))).data!.createWebhookEndpoint;
    const id = created.endpoint.id;
    const updated = await call<{ updateWebhookEndpoint: Record<string, unknown> }>(
      server,
      UPDATE,
      { id, input: { url: "https://93.184.216.34/b", eventTypes: ["CREATED"], enabled: false } },
      w.token(w.admin),
    );
    expect(updated.data?.updateWebhookEndpoint).toMatchObject({ url: "https://93.184.216.34/b", eventTypes: ["CREATED"], enabled: false });
    const badUpdate = await call(server, UPDATE, { id, input: { url: "https://192.168.0.10/c" } }, w.token(w.admin));
    expect(codeOf(badUpdate)).toBe("BAD_USER_INPUT");
    expect((await rows())[0]?.url).toBe("https://93.184.216.34/b");

    const rotated = await call<{ rotateWebhookSecret: { secret: string } }>(server, ROTATE, { id }, w.token(w.admin));
    expect(rotated.data?.rotateWebhookSecret.secret).toMatch(/^whsec_/);
    expect(rotated.data?.rotateWebhookSecret.secret).not.toBe(created.secret);
    const [row] = await rows();
    expect(String(row?.previous_secret)).toMatch(/^sealed:v1:/);
    const overlapHours = (new Date(row?.previous_secret_until as string).getTime() - Date.now()) / 3_600_000;
    expect(overlapHours).toBeGreaterThan(23.9);
    expect(overlapHours).toBeLessThanOrEqual(24);
    // The service signs with both during the overlap: the new secret first.
    const endpoint = (await server.app.services.webhooks.list(w.admin))[0];
    expect(server.app.services.webhooks.secretsOf(endpoint)).toEqual([rotated.data!.rotateWebhookSecret.secret, created.secret]);
    expect(server.app.services.webhooks.secretsOf(endpoint, new Date(Date.now() + 25 * 3_600_000))).toEqual([rotated.data!.rotateWebhookSecret.secret]);

    for (const [query, vars] of [
      [UPDATE, { id, input: { enabled: true } }],
      [ROTATE, { id }],
      [DELETE, { id }],
    ] as const) {
      expect(codeOf(await call(server, query, vars, other.token(other.admin))), query).toBe("NOT_FOUND");
    }
    expect(codeOf(await call(server, DELETE, { id: "not-an-id" }, w.token(w.admin)))).toBe("BAD_USER_INPUT");
    expect((await call<{ deleteWebhookEndpoint: boolean }>(server, DELETE, { id }, w.token(w.admin))).data?.deleteWebhookEndpoint).toBe(true);
    expect(codeOf(await call(server, DELETE, { id }, w.token(w.admin)))).toBe("NOT_FOUND");
    expect(await rows()).toHaveLength(0);
  });

  it("at most 20 endpoints per organization (LIMIT_EXCEEDED)", async () => {
    for (let i = 0; i < 20; i++) {
      expect((await call(server, CREATE, { input: { url: `https://93.184.216.34/${i}` } }, w.token(w.admin))).errors).toBeUndefined();
    }
    const res = await call(server, CREATE, { input: { url: "https://93.184.216.34/21" } }, w.token(w.admin));
    expect(codeOf(res)).toBe("LIMIT_EXCEEDED");
    expect(await rows()).toHaveLength(20);
    await db.dataSource.query(`DELETE FROM webhook_endpoints WHERE organization_id = $1`, [w.organizationId]);
  });
});
