import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenService } from "../../src/modules/auth/token.service";
import { OrganizationService } from "../../src/modules/organizations/organization.service";
import type { User } from "../../src/modules/users/user.entity";
import { freePort } from "../../src/db/embedded-postgres";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createUser, TEST_JWT_SECRET } from "../support/factories";
import { startTestServer, type TestServer } from "../support/server";
import { testServices } from "../support/services";
import { WebhookReceiver } from "../support/webhook-receiver";
import { Webhook } from "standardwebhooks";
import { AcceptAssignmentDocument, AssignChatDocument } from "../../schema/generated/graphql";

// Issue #15: the agent console, in real Chromium (Debian's package, driven by playwright-core),
// against a real Baton on the public API only. The screenshots in docs/ are taken here.

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const SHOTS = path.resolve(__dirname, "../../docs/screenshots");

let db: TestDatabase;
let server: TestServer;
let browser: Browser;
let base: string;
let cast: Record<"admin" | "mark" | "martha" | "maria", User>;
let tokens: TokenService;
const contexts: BrowserContext[] = [];

// CI installs Chromium and sets REQUIRE_CHROMIUM: there these tests run (and fail without it), never skip.
const run = haveChromium || Boolean(process.env.REQUIRE_CHROMIUM);

describe.skipIf(!run)(`the agent console in Chromium (${run ? CHROMIUM : `skipped: no Chromium at ${CHROMIUM}; apt-get install -y chromium`})`, () => {
  beforeAll(async () => {
    db = await createTestDatabase();
    cast = (await new OrganizationService(db.dataSource).seedDemo());
    tokens = new TokenService(TEST_JWT_SECRET, db.dataSource);
    await testServices(db.dataSource).settings.update(cast.admin, {
      assignRequestTimeoutSeconds: 120,
      rejectReasonPresets: ["In a meeting", "Not my area"],
      withdrawReasonPresets: ["Resolved it myself"],
    });
    // Webhooks post to a receiver on loopback here (private networks allowed), retried quickly.
    server = await startTestServer(db.dataSource, {
      schedulerUrl: db.url,
      demo: true,
      webhooks: { allowPrivateNetworks: true, retryScheduleSeconds: Array<number>(20).fill(0.3), timeoutSeconds: 1 },
    });
    base = server.url.replace(/\/graphql$/, "/");
    // As root (CI) Chromium needs --no-sandbox; its own sandbox is not what this test is about.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  async function open(user: keyof typeof cast, hash = "#/", viewport = { width: 1200, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(base);
    await page.getByLabel("Token").fill(tokens.sign(cast[user].id));
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect.poll(() => page.getByText(`${cast[user].name} ·`).count()).toBe(1);
    if (hash !== "#/") await page.evaluate(`window.location.hash = ${JSON.stringify(hash)}`);
    return page;
  }

  /** Picks the option whose text contains `name`. */
  async function choose(select: Locator, name: string): Promise<void> {
    await expect.poll(() => select.locator("option", { hasText: name }).count()).toBeGreaterThan(0);
    const value = await select.locator("option", { hasText: name }).first().getAttribute("value");
    await select.selectOption(value);
  }

  const chatIdOf = async (customer: string): Promise<string> =>
    (await db.dataSource.query<Array<{ id: string }>>(`SELECT id FROM chat_sessions WHERE customer_name = $1`, [customer]))[0].id;

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

  async function assignFromChat(page: Page, customer: string, to: string): Promise<void> {
    await page.evaluate(`window.location.hash = ${JSON.stringify(`#/chats/${await chatIdOf(customer)}`)}`);
    await page.getByRole("button", { name: "Assign/Discuss" }).click();
    const dialog = page.getByRole("dialog", { name: "Assign/Discuss" });
    await choose(dialog.getByLabel("Select User"), to);
    await dialog.getByLabel("Note").fill("Wants a refund");
    await dialog.getByRole("button", { name: "Assign", exact: true }).click();
    // The page reads the chat again after the answer and after the event; on a loaded 2-core CI
    // machine that took over 1 s (the poll's default) while the answer itself came in ~0.3 s.
    await expect.poll(() => page.getByRole("group", { name: "Pending request" }).count(), { timeout: 5_000 }).toBe(1);
  }

  it("sign in: the demo's 'Sign in as' list, and a bad token answered with a sentence", async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(base);
    await expect.poll(() => page.getByRole("button", { name: /Martha/ }).count()).toBe(1);
    await shot(page, "sign-in");
    await page.getByLabel("Token").fill("not-a-token");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Your sign-in is no longer valid. Please sign in again.");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: /Martha/ }).click();
    await expect.poll(() => page.getByText("Martha · user").count()).toBe(1);
    // The token is kept for the tab: a reload stays signed in.
    await page.reload();
    await expect.poll(() => page.getByText("Martha · user").count()).toBe(1);
  });

  it("first contentful paint of the sign-in page, cold (no cache): measured, and within 3 s on this shared machine (#26)", async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(base, { waitUntil: "load" });
    await expect.poll(() => page.getByLabel("Work email").count()).toBe(1);
    // The paint entry is recorded after the frame is presented, which on a loaded machine can come
    // after the label is in the DOM (a CI run read it too early and got none): wait for it.
    const read = () => page.evaluate<number>(`performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1`);
    await expect.poll(read, { timeout: 5_000 }).toBeGreaterThan(0);
    const fcp = await read();
    console.log(`console: first contentful paint ${fcp.toFixed(0)} ms`);
    expect(fcp).toBeLessThan(3_000);
  });

  it("Mark assigns a chat to Martha; Martha is told live and accepts; Mark's page shows the chat as hers without a reload", async () => {
    const martha = await open("martha");
    const mark = await open("mark");
    // Every mutation the console sends carries an Idempotency-Key of its own (issue #23).
    const mutations: Array<{ key: string | undefined; body: string }> = [];
    mark.on("request", (r) => {
      const query = r.method() === "POST" && r.url().endsWith("/graphql") ? ((JSON.parse(r.postData() ?? "{}") as { query?: string }).query ?? "") : "";
      if (/^\s*mutation/.test(query)) {
        mutations.push({ key: r.headers()["idempotency-key"], body: r.postData() ?? "" });
      }
    });
    await shot(mark, "chat-sessions");
    await assignFromChat(mark, "Customer 1", "Martha");
    await expect.poll(() => mutations.length).toBeGreaterThan(0);
    expect(mutations.every((m) => /^[0-9a-f]{32}$/.test(m.key ?? ""))).toBe(true);
    expect(new Set(mutations.map((m) => m.key)).size).toBe(mutations.length);
    await expect.poll(() => mark.getByRole("group", { name: "Pending request" }).textContent()).toMatch(/to Martha.*left/);
    await shot(mark, "chat-pending");

    const card = martha.getByRole("group", { name: "Request from Mark" });
    await expect.poll(() => card.textContent()).toContain("Mark has sent you a chat assignment request.");
    await shot(martha, "incoming-request");
    await card.getByRole("button", { name: "Accept" }).click();

    await expect.poll(() => mark.getByTestId("chat-owner").textContent(), { timeout: 10_000 }).toBe("Martha");
    await expect.poll(() => mark.getByRole("status").filter({ hasText: "Last request" }).textContent()).toContain("accepted");
    expect((await db.dataSource.query(`SELECT owner_id FROM chat_sessions WHERE customer_name = 'Customer 1'`))[0].owner_id).toBe(cast.martha.id);
  }, 60_000);

  it("a reject with a quick-pick reason", async () => {
    const martha = await open("martha");
    const mark = await open("mark");
    await assignFromChat(mark, "Customer 2", "Martha");
    const card = martha.getByRole("group", { name: "Request from Mark" });
    await card.getByRole("button", { name: "Reject" }).click();
    const dialog = martha.getByRole("dialog", { name: "Reject the request" });
    await dialog.getByLabel("In a meeting").check();
    await shot(martha, "reject-reason");
    await dialog.getByRole("button", { name: "Reject" }).click();
    await expect.poll(() => mark.getByRole("status").filter({ hasText: "Last request" }).textContent(), { timeout: 10_000 }).toBe("Last request: rejected (In a meeting).");
    expect((await db.dataSource.query(`SELECT reason_is_preset FROM engagement_tracking_records WHERE status = 'REJECTED'`))[0].reason_is_preset).toBe(true);
  }, 60_000);

  it("a withdraw with a typed reason; the recipient's request disappears", async () => {
    const martha = await open("martha");
    const mark = await open("mark");
    await assignFromChat(mark, "Customer 3", "Martha");
    await expect.poll(() => martha.getByRole("group", { name: "Request from Mark" }).count()).toBe(1);
    await mark.getByRole("button", { name: "Withdraw" }).click();
    const dialog = mark.getByRole("dialog", { name: "Withdraw the request" });
    await dialog.getByLabel("Reason").fill("Customer left the chat");
    await dialog.getByRole("button", { name: "Withdraw" }).click();
    await expect.poll(() => mark.getByRole("status").filter({ hasText: "Last request" }).textContent()).toBe("Last request: withdrawn (Customer left the chat).");
    await expect.poll(() => martha.getByRole("group", { name: "Request from Mark" }).count(), { timeout: 10_000 }).toBe(0);
  }, 60_000);

  it("a bulk 'Assign Chat Sessions' of 3 selected chats", async () => {
    const maria = await open("maria");
    for (const name of ["Customer 10", "Customer 11", "Customer 12"]) await maria.getByRole("checkbox", { name, exact: true }).check();
    await maria.getByRole("button", { name: "More actions" }).click();
    await maria.getByRole("menuitem", { name: "Assign Chat Sessions" }).click();
    const dialog = maria.getByRole("dialog", { name: "Assign Chat Sessions" });
    // Any active member may receive a bulk move, managers and admins too (the API's rule).
    const offeredNow = async () => (await dialog.getByLabel("Select User").locator("option").allTextContents()).map((t) => t.split(" — ")[0]);
    await expect.poll(offeredNow).toEqual(expect.arrayContaining(["Martha", "Maria", "Mark"]));
    const offered = await offeredNow();
    expect(offered.length).toBeGreaterThan(4);
    await choose(dialog.getByLabel("Select User"), "Martha");
    await shot(maria, "bulk-assign");
    await dialog.getByRole("button", { name: "Assign" }).click();
    await expect.poll(() => maria.getByRole("status").filter({ hasText: "moved" }).textContent()).toBe("3 chats moved.");
    for (const name of ["Customer 10", "Customer 11", "Customer 12"]) {
      const row = maria.getByRole("row").filter({ has: maria.getByRole("checkbox", { name, exact: true }) });
      await expect.poll(() => row.getByTestId("owner").textContent()).toBe("Martha");
    }
  }, 60_000);

  it("settings: saved by an admin, validated with the API's codes, refused for a user", async () => {
    const admin = await open("admin", "#/settings");
    const timeout = admin.getByLabel("Assign Request Timeout Duration");
    await timeout.fill("3");
    await admin.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => admin.getByRole("alert").textContent()).toBe("The timeout must be a whole number of seconds between 5 and 86,400.");
    await timeout.fill("5");
    await admin.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => admin.getByRole("status").filter({ hasText: "saved" }).textContent()).toBe("Settings saved.");
    await shot(admin, "settings");
    expect((await db.dataSource.query(`SELECT assign_request_timeout_seconds AS s FROM assign_discuss_settings`))[0].s).toBe(5);

    // The loop rules and capacity (issue #24), each with its sentence when out of range.
    const window = admin.getByLabel("Hand-back window");
    expect(await window.inputValue()).toBe("30");
    expect(await admin.getByLabel("Handovers per chat per day").inputValue()).toBe("10");
    await window.fill("2000");
    await admin.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => admin.getByRole("alert").textContent()).toBe("The hand-back window must be a whole number of minutes from 0 (off) to 1,440.");
    await window.fill("45");
    await admin.getByLabel("Handovers per chat per day").fill("12");
    await admin.getByLabel("Open chats per person").fill("8");
    await admin.getByLabel("Refuse handovers to people at their limit").check();
    await admin.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => admin.getByRole("status").filter({ hasText: "saved" }).count()).toBe(1);
    const [saved] = await db.dataSource.query<Array<{ p: number; d: number; m: number; e: boolean }>>(
      `SELECT ping_pong_minutes AS p, max_handovers_per_chat_per_day AS d, default_max_open_chats AS m, enforce_capacity AS e FROM assign_discuss_settings`,
    );
    expect(saved).toEqual({ p: 45, d: 12, m: 8, e: true });
    // Every other setting the API has, under the feature page's "Assign/Discuss Settings".
    expect(await admin.getByRole("heading", { level: 1 }).textContent()).toBe("Assign/Discuss Settings");
    await admin.getByLabel("Time zone").fill("Mars/Olympus");
    await admin.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => admin.getByRole("alert").textContent()).toBe("The time zone must be a name such as Europe/Berlin.");
    await admin.getByLabel("Time zone").fill("Europe/Berlin");
    await admin.getByLabel("Discuss Request Timeout Duration").fill("90");
    await admin.getByLabel(/^Reply window/).fill("48");
    await admin.getByLabel("A rejection moves a fallback chain on").check();
    await admin.getByLabel("When nobody in a chain takes it, a manager gets it").check();
    await admin.getByLabel("Send requests to available people only").check();
    await admin.getByLabel("A request's deadline ends when the reply window closes").uncheck();
    await admin.getByRole("button", { name: "Save" }).click();
    await expect.poll(async () =>
      JSON.stringify(
        (
          await db.dataSource.query(
            `SELECT time_zone, discuss_request_timeout_seconds, reply_window_hours, fallback_on_reject, fallback_to_managers, require_available_recipient, cap_deadline_at_reply_window FROM assign_discuss_settings`,
          )
        )[0],
      ),
    ).toBe(
      JSON.stringify({
        time_zone: "Europe/Berlin",
        discuss_request_timeout_seconds: 90,
        reply_window_hours: 48,
        fallback_on_reject: true,
        fallback_to_managers: true,
        require_available_recipient: true,
        cap_deadline_at_reply_window: false,
      }),
    );
    // As the other tests expect the organization.
    await testServices(db.dataSource).settings.update(cast.admin, {
      pingPongMinutes: 30,
      maxHandoversPerChatPerDay: 10,
      defaultMaxOpenChats: 0,
      enforceCapacity: false,
      timeZone: "UTC",
      discussRequestTimeoutSeconds: 120,
      replyWindowHours: 24,
      fallbackOnReject: false,
      fallbackToManagers: false,
      requireAvailableRecipient: false,
      capDeadlineAtReplyWindow: true,
    });

    const user = await open("martha", "#/settings");
    await user.getByLabel("Assign Request Timeout Duration").fill("60");
    await user.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => user.getByRole("alert").textContent()).toBe("You are not allowed to do that.");
    expect((await db.dataSource.query(`SELECT assign_request_timeout_seconds AS s FROM assign_discuss_settings`))[0].s).toBe(5);
  }, 60_000);

  it("webhooks in Settings: an admin adds an endpoint (the secret shown once), sees its deliveries, and redelivers", async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    try {
      const admin = await open("admin", "#/settings");
      const form = admin.getByRole("form", { name: "New webhook endpoint" });
      await form.getByLabel("URL").fill(receiver.url);
      await form.getByLabel("accepted").check();
      await form.getByLabel("created").check();
      await form.getByRole("button", { name: "Add endpoint" }).click();
      const secret = admin.getByLabel("Signing secret");
      await expect.poll(() => secret.textContent()).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const endpoints = admin.getByRole("table", { name: "Webhook endpoints" });
      await expect.poll(() => endpoints.getByRole("row").filter({ hasText: receiver.url }).textContent()).toMatch(/accepted, created|created, accepted/);

      // A handover over the API: the receiver gets it, signed with the secret the page showed once.
      const chat = await chatIdOf("Customer 19");
      const sent = await server.gql(AssignChatDocument, { input: { chatSessionId: chat, recipientId: cast.martha.id, recipientType: "USER" } }, tokens.sign(cast.mark.id));
      expect(sent.errors).toBeUndefined();
      // Withdrawn at once (later tests count Martha's requests); WITHDRAWN is not a type it asked for.
      const withdrawn = await testServices(db.dataSource).handovers.withdrawAssignment(cast.mark, sent.data!.assignChat.id, "Resolved it myself");
      expect(withdrawn.status).toBe("WITHDRAWN");
      await expect.poll(() => receiver.accepted().length, { timeout: 5_000 }).toBe(1);
      const first = receiver.accepted()[0];
      expect(new Webhook((await secret.textContent())!).verify(first.body, first.headers)).toMatchObject({ type: "handover.created" });

      await endpoints.getByRole("button", { name: "Deliveries" }).click();
      const deliveries = admin.getByRole("table", { name: "Recent deliveries" });
      await expect.poll(() => deliveries.getByRole("row").nth(1).textContent(), { timeout: 5_000 }).toContain("delivered");
      await shot(admin, "settings-webhooks");

      // Redeliver from just before it: the same message again, with the same webhook-id.
      await admin.getByLabel("Send again every event after").fill(String(BigInt(first.json.data.sequence) - 1n));
      await admin.getByRole("button", { name: "Redeliver" }).click();
      await expect.poll(() => admin.getByRole("status").filter({ hasText: "queued" }).textContent()).toBe("1 delivery queued.");
      await expect.poll(() => receiver.accepted().length, { timeout: 5_000 }).toBe(2);
      expect(receiver.accepted()[1].id).toBe(first.id);

      // Bad input gets the API's sentence; a user never sees the section.
      await admin.getByLabel("Send again every event after").fill("soon");
      await admin.getByRole("button", { name: "Redeliver" }).click();
      await expect.poll(() => admin.getByRole("alert").count()).toBe(1);
      expect(receiver.all.length).toBe(2); // the WITHDRAWN event was never posted
      admin.once("dialog", (d) => void d.accept());
      await endpoints.getByRole("button", { name: "Delete" }).click();
      await expect.poll(() => admin.getByText("No endpoints yet.").count()).toBe(1);
      expect((await db.dataSource.query(`SELECT count(*)::int AS n FROM webhook_deliveries`))[0].n).toBe(0);
      const user = await open("martha", "#/settings");
      await expect.poll(() => user.getByRole("heading", { name: "Settings" }).count()).toBe(1);
      expect(await user.getByRole("heading", { name: "Webhooks" }).count()).toBe(0);
    } finally {
      await receiver.stop();
    }
  }, 60_000);

  it("the countdown reaches zero and the page shows the request timed out (5 s deadline, the server's scheduler)", async () => {
    const mark = await open("mark");
    await assignFromChat(mark, "Customer 4", "Martha");
    await expect.poll(() => mark.getByLabel("Time left").textContent()).toMatch(/^0:0[0-5] left$/);
    await expect.poll(() => mark.getByRole("status").filter({ hasText: "Last request" }).textContent(), { timeout: 12_000 }).toBe("Last request: timed out.");
  }, 60_000);

  it("a fallback chain from the Assign dialog: Martha does not answer, the request goes to Lisa and Mark is told (5 s deadline)", async () => {
    const lisa = await createUser(db.dataSource, cast.mark.organizationId, { name: "Lisa" });
    const mark = await open("mark");
    await mark.evaluate(`window.location.hash = ${JSON.stringify(`#/chats/${await chatIdOf("Customer 8")}`)}`);
    await mark.getByRole("button", { name: "Assign/Discuss" }).click();
    const dialog = mark.getByRole("dialog", { name: "Assign/Discuss" });
    await choose(dialog.getByLabel("Select User"), "Martha");
    await choose(dialog.getByLabel("Then try"), "Lisa");
    await dialog.getByRole("button", { name: "Add" }).click();
    await expect.poll(() => dialog.getByRole("list", { name: "Fallback chain" }).textContent()).toContain("Lisa");
    await dialog.getByRole("button", { name: "Assign", exact: true }).click();
    await expect.poll(() => mark.getByRole("group", { name: "Pending request" }).textContent()).toContain("to Martha");
    await expect.poll(() => mark.getByRole("group", { name: "Pending request" }).textContent(), { timeout: 12_000 }).toContain("to Lisa");
    await expect.poll(() => mark.getByText("Martha did not respond in time; the request went to Lisa.").count()).toBeGreaterThan(0);
    expect((await db.dataSource.query(`SELECT count(*)::int AS n FROM assignment_requests WHERE recipient_id = $1 AND hop = 2`, [lisa.id]))[0].n).toBe(1);
  }, 60_000);

  it("availability: Martha goes Away from the header and Mark's Select User shows it", async () => {
    const martha = await open("martha");
    await martha.getByLabel("My availability").selectOption("AWAY");
    await expect.poll(async () => (await db.dataSource.query<Array<{ availability: string }>>(`SELECT availability FROM users WHERE id = $1`, [cast.martha.id]))[0].availability).toBe("AWAY");
    const mark = await open("mark");
    await mark.evaluate(`window.location.hash = ${JSON.stringify(`#/chats/${await chatIdOf("Customer 9")}`)}`);
    await mark.getByRole("button", { name: "Assign/Discuss" }).click();
    const select = mark.getByRole("dialog", { name: "Assign/Discuss" }).getByLabel("Select User");
    await expect.poll(() => select.locator("option", { hasText: "Martha" }).textContent()).toContain("away");
    await martha.getByLabel("My availability").selectOption("AVAILABLE");
    await expect.poll(async () => (await db.dataSource.query<Array<{ availability: string }>>(`SELECT availability FROM users WHERE id = $1`, [cast.martha.id]))[0].availability).toBe("AVAILABLE");
  }, 60_000);

  it("a chat shows its reply window; Assign/Discuss suggests who should take it, with reasons, and choosing one selects them (#24)", async () => {
    await db.dataSource.query(`UPDATE chat_sessions SET last_customer_message_at = now() - interval '22 hours' WHERE id = $1`, [await chatIdOf("Customer 15")]);
    await db.dataSource.query(`UPDATE chat_sessions SET last_customer_message_at = now() - interval '30 hours' WHERE id = $1`, [await chatIdOf("Customer 16")]);
    const mark = await open("mark", `#/chats/${await chatIdOf("Customer 16")}`);
    await expect.poll(() => mark.getByTestId("reply-window").textContent()).toBe("Closed: templates only");
    await mark.evaluate(`window.location.hash = ${JSON.stringify(`#/chats/${await chatIdOf("Customer 15")}`)}`);
    await expect.poll(() => mark.getByTestId("reply-window").textContent()).toMatch(/^1 h 5\d min left$/);
    await mark.getByRole("button", { name: "Assign/Discuss" }).click();
    const dialog = mark.getByRole("dialog", { name: "Assign/Discuss" });
    const suggested = dialog.getByRole("list", { name: "Suggested" });
    // The agents besides Mark (Martha, and Lisa from the fallback test), each with the API's reasons.
    await expect.poll(() => suggested.getByRole("listitem").count()).toBeGreaterThan(0);
    const martha = suggested.getByRole("listitem").filter({ hasText: "Martha" });
    await expect.poll(() => martha.textContent()).toMatch(/^Martha (online|offline) · (available|busy|away) · /);
    await suggested.getByRole("button", { name: "Martha" }).click();
    await expect.poll(() => dialog.getByLabel("Select User").inputValue()).toBe(cast.martha.id);
    await dialog.getByRole("button", { name: "Cancel" }).click();
  }, 60_000);

  it("Discuss: Martha accepts, the private panel carries messages live both ways, Mark ends it", async () => {
    const martha = await open("martha");
    const mark = await open("mark");
    await mark.evaluate(`window.location.hash = ${JSON.stringify(`#/chats/${await chatIdOf("Customer 6")}`)}`);
    await mark.getByRole("button", { name: "Assign/Discuss" }).click();
    const dialog = mark.getByRole("dialog", { name: "Assign/Discuss" });
    await dialog.getByLabel("Discuss").check();
    await choose(dialog.getByLabel("Select User"), "Martha");
    await dialog.getByRole("button", { name: "Discuss", exact: true }).click();
    const card = martha.getByRole("group", { name: "Request from Mark" });
    await expect.poll(() => card.textContent()).toContain("Mark has requested to discuss with you.");
    await card.getByRole("button", { name: "Accept" }).click();

    await martha.getByRole("link", { name: "Discussions" }).click();
    const hers = martha.getByRole("article", { name: "Discussion about Customer 6" });
    await hers.getByLabel("Message", { exact: true }).fill("Can we refund this one?");
    await hers.getByRole("button", { name: "Send" }).click();
    const his = mark.getByRole("article", { name: "Discussion about Customer 6" });
    await expect.poll(() => his.getByRole("list", { name: "Messages" }).textContent(), { timeout: 10_000 }).toContain("Martha: Can we refund this one?");
    await his.getByLabel("Message", { exact: true }).fill("Yes, under 50 EUR.");
    await his.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => hers.getByRole("list", { name: "Messages" }).textContent(), { timeout: 10_000 }).toContain("Mark: Yes, under 50 EUR.");
    await shot(martha, "discussion");
    await his.getByRole("button", { name: "End discussion" }).click();
    await expect.poll(() => martha.getByRole("article", { name: "Discussion about Customer 6" }).count(), { timeout: 10_000 }).toBe(0);
    expect((await db.dataSource.query(`SELECT status FROM discussions`))[0].status).toBe("ENDED");
  }, 60_000);

  it("a dropped socket shows 'Reconnecting…', comes back by itself and catches up with what happened meanwhile", async () => {
    const mark = await open("mark");
    await expect.poll(() => mark.getByRole("link", { name: "Customer 7", exact: true }).count()).toBe(1);
    const context = mark.context();
    await context.setOffline(true);
    // Every socket that may have missed events is closed (4503), as after a Redis outage.
    server.app.pubsub.reportMissed();
    await expect.poll(() => mark.getByRole("status").filter({ hasText: "Reconnecting" }).count(), { timeout: 10_000 }).toBe(1);
    // Meanwhile Maria moves Customer 7 to Martha.
    await testServices(db.dataSource).bulk.bulkAssign(cast.maria, { chatSessionIds: [await chatIdOf("Customer 7")], toUserId: cast.martha.id });
    await context.setOffline(false);
    await expect.poll(() => mark.getByRole("status").filter({ hasText: "Reconnecting" }).count(), { timeout: 15_000 }).toBe(0);
    // Mark's list ("Mine") no longer shows the chat: the catch-up read it again.
    await expect.poll(() => mark.getByRole("link", { name: "Customer 7", exact: true }).count(), { timeout: 10_000 }).toBe(0);
  }, 60_000);

  it("works against a Baton on another origin that the console's server lists, and that allows the console's origin", async () => {
    // Each must name the other: the API allows the console's origin (CORS), the console's server lists the API.
    const [consolePort, apiPort] = [await freePort(), await freePort()];
    const consoleOrigin = `http://127.0.0.1:${consolePort}`;
    const apiOrigin = `http://127.0.0.1:${apiPort}`;
    const consoleServer = await startTestServer(db.dataSource, { port: consolePort, consoleApiOrigins: [apiOrigin] });
    const api = await startTestServer(db.dataSource, { port: apiPort, corsOrigins: [consoleOrigin] });
    try {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const requests: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      await page.goto(`${consoleOrigin}/?api=${encodeURIComponent(apiOrigin)}`);
      await page.getByLabel("Token").fill(tokens.sign(cast.mark.id));
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect.poll(() => page.getByText("Mark ·").count()).toBe(1);
      await expect.poll(() => page.getByRole("link", { name: "Customer 5", exact: true }).count()).toBe(1);
      expect(requests.some((u) => u.startsWith(`${apiOrigin}/graphql`))).toBe(true);
      expect(requests.some((u) => u.startsWith(`${consoleOrigin}/graphql`))).toBe(false);
    } finally {
      await api.stop();
      await consoleServer.stop();
    }
  }, 60_000);

  it("?api= naming an origin the server does not list: a sentence, and not one request there (no token, no fake 'Sign in as')", async () => {
    // A recording server standing in for the attacker: it must receive nothing.
    const seen: Array<{ url: string; authorization?: string }> = [];
    const recorder = createServer((req, res) => {
      seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
      res.setHeader("access-control-allow-origin", "*");
      res.setHeader("access-control-allow-headers", "*");
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify([{ name: "Attacker's admin", role: "ADMIN", token: "x" }]));
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
    const attacker = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    try {
      // A signed-in tab (its token kept for this server's own API) is sent to the link.
      const mark = await open("mark");
      await mark.goto(`${base}?api=${encodeURIComponent(attacker)}`);
      await expect.poll(() => mark.getByRole("alert").textContent()).toContain(`does not connect to ${attacker}`);
      // A fresh tab: no "Sign in as" list from that origin either.
      const context = await browser.newContext();
      contexts.push(context);
      const fresh = await context.newPage();
      await fresh.goto(`${base}?api=${encodeURIComponent(attacker)}`);
      await expect.poll(() => fresh.getByRole("alert").textContent()).toContain("CONSOLE_API_ORIGINS");
      expect(await fresh.getByText("Attacker's admin").count()).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
      expect(seen).toEqual([]);
      // Back on the page's own API, the tab is still signed in.
      await mark.goto(base);
      await expect.poll(() => mark.getByText("Mark ·").count()).toBe(1);
    } finally {
      await new Promise<void>((resolve) => recorder.close(() => resolve()));
    }
  }, 60_000);

  it("Chat Sessions: search by customer or phone, select all on the page, sort by the latest customer message", async () => {
    const maria = await open("maria");
    const customers = () => maria.locator("tbody tr td:nth-child(2)").allTextContents();
    await expect.poll(() => maria.locator("tbody tr").count()).toBeGreaterThan(10);
    await maria.getByLabel("Search").fill("customer 1");
    await expect.poll(async () => (await customers()).every((n) => n.startsWith("Customer 1"))).toBe(true);
    expect((await customers()).sort()).toEqual(["Customer 1", ...Array.from({ length: 10 }, (_, i) => `Customer 1${i}`)].sort());
    await maria.getByLabel("Search").fill("555 1007");
    await expect.poll(() => customers()).toEqual(["Customer 8"]);
    await maria.getByLabel("Search").fill("");
    await expect.poll(async () => (await customers()).length).toBeGreaterThan(11);

    // Customer 20 writes now: first in the order by latest customer message.
    await db.dataSource.query(`UPDATE chat_sessions SET last_customer_message_at = now() WHERE customer_name = 'Customer 20' AND organization_id = $1`, [cast.admin.organizationId]);
    await maria.getByLabel("Sort").selectOption("LATEST_CUSTOMER_MESSAGE");
    await expect.poll(async () => (await customers())[0]).toBe("Customer 20");

    const rows = await maria.locator("tbody tr").count();
    await maria.getByRole("checkbox", { name: "Select all on this page" }).check();
    await expect.poll(() => maria.getByText(/\d+ selected/).textContent()).toBe(`${rows} selected`);
    await maria.getByRole("checkbox", { name: "Select all on this page" }).uncheck();
    await expect.poll(() => maria.getByText(/\d+ selected/).textContent()).toBe("0 selected");
  }, 60_000);

  it("agents: the note, the customer and the chat on the card and in a toast (dismissable); the tab title counts; Accept opens the chat; the inbox links and reads; Discuss beside a pending Assign; Close chat; a warning for someone away", async () => {
    const free = async (): Promise<string[]> =>
      (
        await db.dataSource.query<Array<{ customer_name: string }>>(
          `SELECT c.customer_name FROM chat_sessions c WHERE c.owner_id = $1 AND c.status = 'OPEN'
              AND NOT EXISTS (SELECT 1 FROM assignment_requests r WHERE r.chat_session_id = c.id AND r.status = 'PENDING') ORDER BY c.customer_name`,
          [cast.mark.id],
        )
      ).map((r) => r.customer_name);
    const [first, second] = await free();
    const martha = await open("martha");
    const mark = await open("mark");
    await mark.evaluate(`window.location.hash = ${JSON.stringify(`#/chats/${await chatIdOf(first)}`)}`);
    await mark.getByRole("button", { name: "Assign/Discuss" }).click();
    const dialog = mark.getByRole("dialog", { name: "Assign/Discuss" });
    // "Select User" is searchable: typing narrows the list, and one person left is chosen; each shows presence, availability and load.
    await dialog.getByLabel("Find a person by name").fill("mart");
    await expect.poll(() => dialog.getByLabel("Select User").locator("option").allTextContents()).toEqual(["Choose…", expect.stringMatching(/^Martha — (online|offline), available, \d+ open chats?$/)]);
    expect(await dialog.getByLabel("Select User").inputValue()).toBe(cast.martha.id);
    // A name nobody has: the list keeps only whoever is chosen.
    await dialog.getByLabel("Find a person by name").fill("zzz");
    await expect.poll(() => dialog.getByLabel("Select User").locator("option").count()).toBe(2);
    expect(await dialog.getByLabel("Select User").inputValue()).toBe(cast.martha.id);
    await dialog.getByLabel("Find a person by name").fill("");
    await dialog.getByLabel("Note").fill("Wants a refund");
    await dialog.getByRole("button", { name: "Assign", exact: true }).click();

    // Martha: the card carries the note and links the chat; a toast names and links the customer; the title counts.
    const card = martha.getByRole("group", { name: "Request from Mark" });
    await expect.poll(() => card.textContent(), { timeout: 5_000 }).toContain("Wants a refund");
    expect(await card.getByRole("link", { name: first }).getAttribute("href")).toBe(`#/chats/${await chatIdOf(first)}`);
    await expect.poll(() => martha.title()).toBe("(1) Baton");
    const toast = martha.locator(".toast").filter({ hasText: "assignment request" });
    await expect.poll(() => toast.getByRole("link", { name: first }).count()).toBe(1);
    await toast.getByRole("button", { name: "Dismiss" }).click();
    await expect.poll(() => toast.count()).toBe(0);
    // Accept is the primary button, and opens the chat.
    expect(await card.getByRole("button", { name: "Accept" }).getAttribute("class")).toContain("primary");
    await card.getByRole("button", { name: "Accept" }).click();
    await expect.poll(() => martha.evaluate("window.location.hash")).toBe(`#/chats/${await chatIdOf(first)}`);
    await expect.poll(() => martha.title()).toBe("Baton");

    // Mark's inbox: the acceptance links to the chat, and opening it marks it read.
    await mark.evaluate(`window.location.hash = "#/inbox"`);
    const item = mark.locator(".inbox li.unread").filter({ hasText: "accepted" }).first();
    await expect.poll(() => item.count(), { timeout: 5_000 }).toBe(1);
    const unreadBefore = await mark.locator(".inbox li.unread").count();
    await item.getByRole("link", { name: first }).click();
    await expect.poll(() => mark.evaluate("window.location.hash")).toBe(`#/chats/${await chatIdOf(first)}`);
    await mark.evaluate(`window.location.hash = "#/inbox"`);
    await expect.poll(() => mark.locator(".inbox li.unread").count()).toBe(unreadBefore - 1);

    // Discuss beside a pending Assign; then Close chat cancels what is pending.
    await assignFromChat(mark, second, "Martha");
    await mark.getByRole("button", { name: "Discuss", exact: true }).click();
    const discuss = mark.getByRole("dialog", { name: "Assign/Discuss" });
    expect(await discuss.getByRole("radio").count()).toBe(1);
    await discuss.getByLabel("Assign To").selectOption("MANAGER");
    // Someone away: a warning before sending.
    await db.dataSource.query(`UPDATE users SET availability = 'AWAY' WHERE id = $1`, [cast.maria.id]);
    await discuss.getByLabel("Assign To").selectOption("USER");
    await discuss.getByLabel("Assign To").selectOption("MANAGER");
    await choose(discuss.getByLabel("Select User"), "Maria");
    await expect.poll(() => discuss.getByRole("status").textContent()).toContain("Maria is away");
    await db.dataSource.query(`UPDATE users SET availability = 'AVAILABLE' WHERE id = $1`, [cast.maria.id]);
    await discuss.getByRole("button", { name: "Discuss", exact: true }).click();
    await expect.poll(() => discuss.count(), { timeout: 5_000 }).toBe(0);
    const secondId = await chatIdOf(second);
    const pendingKinds = async () =>
      (await db.dataSource.query<Array<{ kind: string }>>(`SELECT kind FROM assignment_requests WHERE chat_session_id = $1 AND status = 'PENDING' ORDER BY kind`, [secondId])).map(
        (r) => r.kind,
      );
    expect(await pendingKinds()).toEqual(["ASSIGN", "DISCUSS"]);
    await mark.getByRole("button", { name: "Close chat" }).click();
    const closing = mark.getByRole("dialog", { name: "Close the chat" });
    await closing.getByRole("button", { name: "Close chat" }).click();
    await expect.poll(() => mark.locator(".details dd").nth(2).textContent(), { timeout: 5_000 }).toBe("Closed");
    expect(await pendingKinds()).toEqual([]);
  }, 90_000);

  it("supervisor: pending requests live with countdowns (withdrawn from the board), agents with presence, availability and load, and today's charts from real data", async () => {
    const maria = await open("maria", "#/supervisor");
    await expect.poll(() => maria.getByRole("heading", { name: "Supervisor" }).count()).toBe(1);
    const pendingTable = maria.getByRole("table", { name: "Pending requests" });
    const [{ customer_name: customer }] = await db.dataSource.query<Array<{ customer_name: string }>>(
      `SELECT c.customer_name FROM chat_sessions c WHERE c.owner_id = $1 AND c.status = 'OPEN'
          AND NOT EXISTS (SELECT 1 FROM assignment_requests r WHERE r.chat_session_id = c.id AND r.status = 'PENDING') ORDER BY c.customer_name LIMIT 1`,
      [cast.mark.id],
    );
    // Mark, in another browser context, sends a request: the board shows it without a reload.
    const mark = await open("mark");
    await assignFromChat(mark, customer, "Martha");
    const row = pendingTable.getByRole("row").filter({ hasText: customer });
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(1);
    expect(await row.textContent()).toContain("Martha");
    await expect.poll(() => row.getByLabel("Time left").textContent()).toMatch(/^\d+:\d\d left$/);
    // The agents: Martha has one pending for her; Maria sets Tom's availability from the board.
    const marthaRow = maria.getByTestId("agent-Martha");
    await expect.poll(() => marthaRow.locator("td").nth(3).textContent()).toBe("1");
    await maria.getByLabel("Availability of Mark").selectOption("BUSY");
    await expect
      .poll(async () => (await db.dataSource.query<Array<{ availability: string }>>(`SELECT availability FROM users WHERE id = $1`, [cast.mark.id]))[0].availability)
      .toBe("BUSY");
    await db.dataSource.query(`UPDATE users SET availability = 'AVAILABLE' WHERE id = $1`, [cast.mark.id]);
    // Martha rejects with a reason: today's reject reasons chart draws it, from the API.
    const martha = await open("martha");
    const card = martha.getByRole("group", { name: "Request from Mark" });
    await expect.poll(() => card.count(), { timeout: 5_000 }).toBe(1);
    await card.getByRole("button", { name: "Reject" }).click();
    const reject = martha.getByRole("dialog", { name: "Reject the request" });
    await reject.getByLabel("Reason").fill("Too many chats right now");
    await reject.getByRole("button", { name: "Reject" }).click();
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(0);
    const chart = maria.getByRole("figure", { name: "Reject reasons today" });
    await expect.poll(() => chart.locator("svg [aria-label='Too many chats right now: 1']").count(), { timeout: 5_000 }).toBe(1);
    expect(await maria.getByRole("figure", { name: "Outcomes today" }).locator("svg").count()).toBeGreaterThan(0);
    const handovers = Number(await maria.getByTestId("today-handovers").textContent());
    expect(handovers).toBeGreaterThan(0);
    // Withdrawn from the board.
    await assignFromChat(mark, customer, "Martha");
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(1);
    await row.getByRole("button", { name: /Withdraw/ }).click();
    const dialog = maria.getByRole("dialog", { name: "Withdraw the request" });
    await dialog.getByLabel("Reason").fill("Handled by the team lead");
    await dialog.getByRole("button", { name: "Withdraw" }).click();
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(0);
    await shot(maria, "supervisor");
    // Agents cannot open it.
    const user = await open("mark", "#/supervisor");
    await expect.poll(() => user.getByRole("alert").textContent()).toBe("The supervisor board is for managers and admins.");
    expect(await user.getByRole("link", { name: "Supervisor" }).count()).toBe(0);
  }, 90_000);

  it("phones and keyboards: at 390 px no screen scrolls sideways, the dialog fits, the header folds into Menu; focus returns to the opener; the menu button's keys; axe-core finds no violation on any screen", async () => {
    /** axe-core (Deque) on the page as it is: every violation, named with its screen. */
    const axe = async (page: Page, screen: string) => {
      // Evaluated by the browser's devtools protocol: the console's Content-Security-Policy rightly refuses an injected <script>.
      if (!(await page.evaluate("typeof window.axe !== 'undefined'"))) await page.evaluate(readFileSync(path.resolve(__dirname, "../../node_modules/axe-core/axe.min.js"), "utf8"));
      const found = await page.evaluate<{ violations: Array<{ id: string; help: string; nodes: Array<{ target: unknown }> }> }>("window.axe.run(document, { resultTypes: ['violations'] })");
      return found.violations.map((v) => `${screen}: ${v.id} x${v.nodes.length} (${v.help}) at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
    };
    const sideways = (page: Page) => page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    const phone = { width: 390, height: 844 };
    const [{ id: markChat }] = await db.dataSource.query<Array<{ id: string }>>(
      `SELECT c.id FROM chat_sessions c WHERE c.owner_id = $1 AND c.status = 'OPEN'
          AND NOT EXISTS (SELECT 1 FROM assignment_requests r WHERE r.chat_session_id = c.id AND r.status = 'PENDING') LIMIT 1`,
      [cast.mark.id],
    );
    const violations: string[] = [];
    for (const [who, screens] of [
      ["maria", ["#/", "#/discussions", "#/tracking", "#/inbox", "#/supervisor"]],
      ["admin", ["#/settings"]],
      ["mark", [`#/chats/${markChat}`]],
    ] as const) {
      for (const viewport of [phone, { width: 1200, height: 800 }]) {
        const page = await open(who, "#/", viewport);
        for (const screen of screens) {
          await page.evaluate(`window.location.hash = ${JSON.stringify(screen)}`);
          await expect.poll(() => page.locator("h1").count()).toBeGreaterThan(0);
          await page.waitForLoadState("networkidle");
          if (viewport === phone) expect(await sideways(page), `${screen} at 390 px`).toBeLessThanOrEqual(0);
          if (viewport === phone && screen === "#/") await shot(page, "phone-chat-sessions");
          violations.push(...(await axe(page, `${screen} at ${viewport.width} px`)));
        }
        if (viewport === phone && who === "maria") {
          // The header folds: its links and Sign out behind "Menu", within the screen once opened.
          expect(await page.getByRole("button", { name: "Sign out" }).isVisible()).toBe(false);
          await page.getByRole("button", { name: "Menu" }).click();
          const signOut = page.getByRole("button", { name: "Sign out" });
          expect(await signOut.isVisible()).toBe(true);
          const box = (await signOut.boundingBox())!;
          expect(box.x + box.width).toBeLessThanOrEqual(390);
          await shot(page, "phone-menu");
          violations.push(...(await axe(page, "header menu at 390 px")));
          await page.getByRole("link", { name: "Tracking records" }).click();
          await expect.poll(() => signOut.isVisible()).toBe(false); // going to a page folds it again
        }
        if (who === "mark") {
          // The dialog fits the screen; Escape closes it and focus is back on its opener.
          await page.getByRole("button", { name: "Assign/Discuss" }).click();
          const dialog = page.getByRole("dialog", { name: "Assign/Discuss" });
          const box = (await dialog.boundingBox())!;
          expect(box.x).toBeGreaterThanOrEqual(0);
          expect(box.x + box.width, `the dialog at ${viewport.width} px`).toBeLessThanOrEqual(viewport.width);
          violations.push(...(await axe(page, `Assign/Discuss dialog at ${viewport.width} px`)));
          await page.keyboard.press("Escape");
          await expect.poll(() => dialog.count()).toBe(0);
          expect(await page.evaluate("document.activeElement?.textContent")).toBe("Assign/Discuss");
        }
      }
    }
    expect(violations).toEqual([]);

    // The menu button (WAI-ARIA): ArrowDown opens on the first item, Escape closes back to the button.
    const maria = await open("maria");
    const more = maria.getByRole("button", { name: "More actions" });
    await more.focus();
    await maria.keyboard.press("ArrowDown");
    await expect.poll(() => maria.evaluate("document.activeElement?.textContent")).toBe("Assign Chat Sessions");
    expect(await more.getAttribute("aria-expanded")).toBe("true");
    await maria.keyboard.press("Escape");
    await expect.poll(() => maria.getByRole("menu").count()).toBe(0);
    expect(await maria.evaluate("document.activeElement?.textContent")).toBe("More actions");
    // Chosen with the keyboard, the bulk dialog returns focus to the menu button when cancelled.
    await maria.getByRole("checkbox", { name: "Customer 5", exact: true }).check();
    await more.focus();
    await maria.keyboard.press("Enter");
    await maria.keyboard.press("Enter");
    const bulk = maria.getByRole("dialog", { name: "Assign Chat Sessions" });
    await expect.poll(() => bulk.count()).toBe(1);
    await bulk.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => maria.evaluate("document.activeElement?.textContent")).toBe("More actions");
  }, 120_000);

  it("tracking records: the table, and Download CSV for a manager with the page's filters; a user is not offered it", async () => {
    const maria = await open("maria", "#/tracking");
    await expect.poll(() => maria.getByRole("row").count()).toBeGreaterThan(5);
    await shot(maria, "tracking-records");
    const everything = maria.waitForEvent("download");
    await maria.getByRole("button", { name: "Download CSV" }).click();
    expect((await everything).suggestedFilename()).toBe("engagement-tracking-records.csv");
    // Narrowed to the bulk moves: the file holds exactly the records the page's filter keeps.
    await maria.getByLabel("Kind").selectOption("DIRECT_ASSIGN");
    const narrowed = maria.waitForEvent("download");
    await maria.getByRole("button", { name: "Download CSV" }).click();
    const file = await (await narrowed).path();
    const lines = readFileSync(file, "utf8").trim().split("\r\n");
    const kind = lines[0].split(",").indexOf("kind");
    const expected = await db.dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM engagement_tracking_records WHERE organization_id = $1 AND kind = 'DIRECT_ASSIGN'`,
      [cast.admin.organizationId],
    );
    expect(lines.length - 1).toBe(expected[0].n);
    expect(expected[0].n).toBeGreaterThan(0);
    expect(lines.slice(1).every((l) => l.split(",")[kind] === "DIRECT_ASSIGN")).toBe(true);
    const martha = await open("martha", "#/tracking");
    await expect.poll(() => martha.getByRole("row").count()).toBeGreaterThan(1);
    expect(await martha.getByRole("button", { name: "Download CSV" }).count()).toBe(0);
  }, 60_000);

  it("one accept costs each watching page at most one GraphQL request (#26): Mark's Chat Sessions and the chat, Maria's supervisor board and tracking records", async () => {
    // The settings test above left requests expiring after 5 s; this one's polls on a loaded
    // machine took longer once, and the accept found the request TIMED_OUT.
    await db.dataSource.query(`UPDATE assign_discuss_settings SET assign_request_timeout_seconds = 600`);
    const [{ id: chatId, customer_name: customer }] = await db.dataSource.query<Array<{ id: string; customer_name: string }>>(
      `SELECT c.id, c.customer_name FROM chat_sessions c WHERE c.owner_id = $1 AND c.status = 'OPEN'
          AND NOT EXISTS (SELECT 1 FROM assignment_requests r WHERE r.chat_session_id = c.id AND r.status = 'PENDING') ORDER BY c.customer_name LIMIT 1`,
      [cast.mark.id],
    );
    const pages: Record<string, Page> = {
      "Mark, Chat Sessions": await open("mark"),
      "Mark, the chat": await open("mark", `#/chats/${chatId}`),
      "Maria, supervisor": await open("maria", "#/supervisor"),
      "Maria, tracking records": await open("maria", "#/tracking"),
    };
    const sent = await server.gql(AssignChatDocument, { input: { chatSessionId: chatId, recipientId: cast.martha.id, recipientType: "USER" } }, tokens.sign(cast.mark.id));
    const requestId = sent.data!.assignChat.id;
    // Every page shows the request before the count starts.
    const customerRow = (page: Page) => page.getByRole("row").filter({ has: page.getByText(customer, { exact: true }) });
    await expect.poll(() => pages["Mark, the chat"].getByRole("group", { name: "Pending request" }).count(), { timeout: 5_000 }).toBe(1);
    await expect.poll(() => customerRow(pages["Maria, supervisor"]).count(), { timeout: 5_000 }).toBe(1);
    await expect.poll(() => customerRow(pages["Mark, Chat Sessions"]).textContent(), { timeout: 5_000 }).toContain("to Martha");
    // (The chat may have older records of the same second: the one this test sent is the pending one.)
    const records = (status: string) => customerRow(pages["Maria, tracking records"]).filter({ hasText: status }).count();
    await expect.poll(() => records("pending"), { timeout: 5_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 1_500));
    const counted = new Map<string, string[]>();
    for (const [name, page] of Object.entries(pages)) {
      counted.set(name, []);
      page.on("request", (r) => {
        if (!r.url().includes("/graphql")) return;
        const body = r.postData();
        const operation = body ? ((JSON.parse(body) as { operationName?: string }).operationName ?? "?") : (new URL(r.url()).searchParams.get("operationName") ?? "?");
        counted.get(name)!.push(operation);
      });
    }
    const accepted = await server.gql(AcceptAssignmentDocument, { requestId }, tokens.sign(cast.martha.id));
    expect(accepted.errors).toBeUndefined();
    // Every page shows the accept...
    await expect.poll(() => pages["Mark, the chat"].getByTestId("chat-owner").textContent(), { timeout: 5_000 }).toBe("Martha");
    await expect.poll(() => customerRow(pages["Mark, Chat Sessions"]).count(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => customerRow(pages["Maria, supervisor"]).count(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => records("pending"), { timeout: 5_000 }).toBe(0);
    expect(await records("accepted")).toBeGreaterThan(0);
    // ...and nothing more is asked once it settled.
    await new Promise((r) => setTimeout(r, 2_000));
    const summary = [...counted].map(([name, ops]) => `${name}: ${ops.length}${ops.length ? ` (${ops.join(", ")})` : ""}`);
    console.log(`console: GraphQL requests for one accept: ${summary.join("; ")}`);
    for (const [name, ops] of counted) expect(ops.length, `${name}: ${ops.join(", ")}`).toBeLessThanOrEqual(1);
  }, 60_000);
});
