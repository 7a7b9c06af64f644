import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenService } from "../../src/modules/auth/token.service";
import { freePort } from "../../src/db/embedded-postgres";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createWorld, TEST_JWT_SECRET, type World } from "../support/factories";
import { startTestServer, type TestServer } from "../support/server";

// Issue #23: the console signs in with the organization's identity provider. The provider is
// oidc-provider (the certified OpenID Connect implementation for Node) on loopback, with its
// development sign-in pages, which the test fills in as a person would, in Chromium.

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const run = existsSync(CHROMIUM) || Boolean(process.env.REQUIRE_CHROMIUM);
const CLIENT_ID = "baton-console";

let db: TestDatabase;
let w: World;
let server: TestServer;
let browser: Browser;
let base: string;
let issuer: string;
let providerServer: Server;

describe.skipIf(!run)("the console's single sign-on, in Chromium, against oidc-provider", () => {
  beforeAll(async () => {
    db = await createTestDatabase();
    w = await createWorld(db.dataSource);
    server = await startTestServer(db.dataSource, { identity: { allowInsecureIssuers: true } });
    base = server.url.replace(/\/graphql$/, "/");
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    const { default: Provider } = await import("oidc-provider");
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: "none", // a browser app: PKCE instead of a secret
          redirect_uris: [base],
          grant_types: ["authorization_code"],
          response_types: ["code"],
        },
      ],
      // Whoever signs in names themselves by email (the development sign-in page's "login").
      findAccount: (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: () => ({ sub: `sub-${id}`, email: id, email_verified: true, name: id.split("@")[0] }),
      }),
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
      // The email in the ID token itself (Baton reads the token, not the userinfo endpoint).
      conformIdTokenClaims: false,
      clientBasedCORS: () => true,
      features: { devInteractions: { enabled: true } },
    });
    providerServer = provider.listen(port);
    const tokens = new TokenService(TEST_JWT_SECRET, db.dataSource);
    const set = await server.raw(
      {
        query: `mutation($input: IdentityProviderInput!) { setIdentityProvider(input: $input) { consoleClientId } }`,
        variables: { input: { issuer, audience: CLIENT_ID, consoleClientId: CLIENT_ID } },
      },
      tokens.sign(w.admin.id),
    );
    expect(set.errors).toBeUndefined();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => providerServer?.close(resolve));
    await server?.stop();
    await db?.drop();
  });

  it("Mark signs in with his work email at the provider and lands in the console; Sign out ends the session", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const blocked: string[] = [];
      page.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
      });
      await page.goto(base);
      await page.getByLabel("Work email").fill(w.mark.email);
      await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
      // The provider's own pages: sign in, then allow the console.
      await page.waitForURL((url) => url.origin === issuer, { timeout: 10_000 });
      await page.locator('input[name="login"]').fill(w.mark.email);
      await page.locator('input[name="password"]').fill("anything");
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click(); // consent: "Continue"
      // Back in the console, signed in as Mark, the address cleaned of the code.
      await expect.poll(() => page.getByText("Mark ·").count(), { timeout: 15_000 }).toBe(1);
      expect(new URL(page.url()).search).toBe("");
      expect(blocked).toEqual([]);
      // The token the console holds is the provider's (RS256), not one of Baton's.
      const held = await page.evaluate<string>(`Object.entries(sessionStorage).find(([k]) => k.startsWith("baton.token:"))?.[1] ?? ""`);
      expect(JSON.parse(Buffer.from(held.split(".")[0] ?? "", "base64url").toString()).alg).toBe("RS256");
      await page.getByRole("button", { name: "Sign out" }).first().click();
      await expect.poll(() => page.getByLabel("Work email").count()).toBe(1);
      const left = await page.evaluate<string[]>(`Object.keys(sessionStorage).filter((k) => k.startsWith("baton.") || k.startsWith("oidc."))`);
      expect(left).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("an email with no single sign-on gets a sentence, and nothing leaves the page", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(base);
      await page.getByLabel("Work email").fill("nobody@nowhere.test");
      await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
      await expect.poll(() => page.getByRole("alert").textContent()).toBe("No single sign-on is set up for this email or organization");
      expect(new URL(page.url()).origin).toBe(new URL(base).origin);
    } finally {
      await context.close();
    }
  }, 30_000);
});
