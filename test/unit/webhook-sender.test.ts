import type { lookup } from "node:dns";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEPT_BODY_BYTES, WebhookSender } from "../../src/kernel/webhook-sender";

// The sender on its own (issue #22): what it refuses to connect to, judged after DNS at connect
// time (a name that passed at creation may resolve elsewhere later: DNS rebinding), and how it
// treats answers. A real HTTP server on loopback stands for the receiver.

const message = (url: string) => ({ url, headers: { "webhook-id": "msg_1" }, body: '{"type":"handover.accepted"}' });

/** A resolver that answers `addresses` for every name and records the names asked. */
function resolver(addresses: string[]): { resolve: typeof lookup; asked: string[] } {
  const asked: string[] = [];
  const resolve = ((hostname: string, _options: unknown, callback: (err: Error | null, a: Array<{ address: string; family: number }>) => void) => {
    asked.push(hostname);
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
    );
  }) as unknown as typeof lookup;
  return { resolve, asked };
}

describe("without private networks allowed", () => {
  const sender = new WebhookSender({ timeoutMs: 1_000, allowPrivateNetworks: false });
  afterAll(() => sender.close());

  it.each([
    ["http://127.0.0.1:9/hooks", /only https/],
    ["http://169.254.169.254/latest/meta-data/", /only https/],
    ["https://127.0.0.1:9/hooks", /127\.0\.0\.1 is not a public address/],
    ["https://169.254.169.254/latest/meta-data/", /169\.254\.169\.254 is not a public address/],
    ["https://10.0.0.8/hooks", /not a public address/],
    ["https://[::1]/hooks", /not a public address/],
    ["https://[::ffff:10.0.0.1]/hooks", /not a public address/],
    ["https://100.64.0.1/hooks", /not a public address/],
  ])("refuses %s before any connection", async (url, why) => {
    const attempt = await sender.post(message(url));
    expect(attempt).toMatchObject({ ok: false, status: null, outcome: "refused_address" });
    expect(attempt.error).toMatch(why);
  });

  it("refuses a name that resolves to 10.x at connect time (the resolver is asked then, not only at creation)", async () => {
    const dns = resolver(["10.1.2.3"]);
    const rebinding = new WebhookSender({ timeoutMs: 1_000, allowPrivateNetworks: false, resolve: dns.resolve });
    const attempt = await rebinding.post(message("https://crm.example.com/hooks"));
    rebinding.close();
    expect(dns.asked).toEqual(["crm.example.com"]);
    expect(attempt).toMatchObject({ ok: false, status: null, outcome: "refused_address" });
    expect(attempt.error).toBe("crm.example.com resolves to 10.1.2.3, not a public address");
  });

  it("refuses a name whose answers mix public and private addresses, and `localhost` through the system's resolver", async () => {
    const dns = resolver(["93.184.216.34", "192.168.1.20"]);
    const mixed = new WebhookSender({ timeoutMs: 1_000, allowPrivateNetworks: false, resolve: dns.resolve });
    const attempt = await mixed.post(message("https://crm.example.com/hooks"));
    mixed.close();
    expect(attempt.outcome).toBe("refused_address");
    expect(attempt.error).toMatch(/192\.168\.1\.20/);
    const local = await sender.post(message("https://localhost:9/hooks"));
    expect(local.outcome).toBe("refused_address");
    expect(local.error).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), not a public address$/);
  });
});

describe("answers (private networks allowed, a receiver on loopback)", () => {
  let server: Server;
  let base = "";
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? "");
      req.resume();
      req.on("end", () => {
        if (req.url === "/ok") return res.writeHead(204).end();
        if (req.url === "/redirect") return res.writeHead(302, { location: "/ok" }).end();
        if (req.url === "/big-error") return res.writeHead(500).end("x".repeat(5_000));
        if (req.url === "/hang") return; // never answers
        res.writeHead(404).end("no such hook");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const sender = new WebhookSender({ timeoutMs: 500, allowPrivateNetworks: true });
  afterAll(() => sender.close());

  it("a 2xx is delivered", async () => {
    expect(await sender.post(message(`${base}/ok`))).toMatchObject({ ok: true, status: 204, error: null, outcome: "delivered" });
  });

  it("a redirect is a failure and is not followed", async () => {
    seen.length = 0;
    const attempt = await sender.post(message(`${base}/redirect`));
    expect(attempt).toMatchObject({ ok: false, status: 302, outcome: "http" });
    expect(attempt.error).toMatch(/redirect to \/ok not followed/);
    expect(seen).toEqual(["/redirect"]);
  });

  it("keeps at most 1 kB of a failing answer", async () => {
    const attempt = await sender.post(message(`${base}/big-error`));
    expect(attempt).toMatchObject({ ok: false, status: 500, outcome: "http" });
    expect(attempt.error!.length).toBeLessThanOrEqual(KEPT_BODY_BYTES);
    expect(attempt.error).toMatch(/^HTTP 500: x+/);
  });

  it("a receiver that never answers is a timeout", async () => {
    const attempt = await sender.post(message(`${base}/hang`));
    expect(attempt).toMatchObject({ ok: false, status: null, outcome: "timeout" });
    expect(attempt.ms).toBeGreaterThanOrEqual(450);
    expect(attempt.ms).toBeLessThan(3_000);
  });

  it("nothing listening is a network failure", async () => {
    const attempt = await sender.post(message("http://127.0.0.1:9/hooks"));
    expect(attempt).toMatchObject({ ok: false, status: null, outcome: "network" });
    expect(attempt.error).toMatch(/ECONNREFUSED/);
  });

  it("a kept-alive connection the receiver drops as it is reused is sent again at once on a new one", async () => {
    const served = new WeakMap<object, number>();
    let requests = 0;
    const closing = createServer((req, res) => {
      requests++;
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      // The second request on a connection: the receiver closes it unanswered (its idle timeout fired).
      if (n > 1) return req.socket.destroy();
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closing.address() as AddressInfo).port}/hooks`;
    const keepAlive = new WebhookSender({ timeoutMs: 1_000, allowPrivateNetworks: true });
    try {
      expect((await keepAlive.post(message(url))).ok).toBe(true);
      const again = await keepAlive.post(message(url));
      expect(again).toMatchObject({ ok: true, status: 204, outcome: "delivered" });
      expect(requests).toBe(3); // the first, the one dropped, the one sent again
    } finally {
      keepAlive.close();
      closing.closeAllConnections();
      await new Promise((resolve) => closing.close(resolve));
    }
  });
});
