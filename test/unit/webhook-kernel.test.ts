import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { isPrivateAddress, privateAddressesOf } from "../../src/kernel/public-address";
import { parseSecretKey, SecretBox } from "../../src/kernel/secret-box";
import { newWebhookSecret, webhookSignatures } from "../../src/kernel/standard-webhooks";

// The pieces of webhooks that need no database: Standard Webhooks signatures (checked with the
// `standardwebhooks` package, not with Baton's code), secrets sealed at rest, and which
// addresses a webhook may not reach.

describe("Standard Webhooks signatures", () => {
  const body = JSON.stringify({ type: "handover.accepted", timestamp: "2026-12-05T10:00:00.000Z", data: { sequence: "42", note: "Zoë ✓" } });

  it("verify with the standardwebhooks package, for the secret that signed and for either secret during a rotation", () => {
    const oldSecret = newWebhookSecret();
    const newSecret = newWebhookSecret();
    expect(newSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = "msg_2Lh9KVkqLd";
    const ts = Math.floor(Date.now() / 1000);
    const headers = { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": webhookSignatures([newSecret, oldSecret], id, ts, body) };
    expect(new Webhook(newSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(oldSecret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("fail verification for another secret, another body, another id or a stale timestamp", () => {
    const secret = newWebhookSecret();
    const id = "msg_1";
    const ts = Math.floor(Date.now() / 1000);
    const headers = { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": webhookSignatures([secret], id, ts, body) };
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "msg_2" })).toThrow();
    const old = ts - 3600;
    expect(() =>
      new Webhook(secret).verify(body, { ...headers, "webhook-timestamp": String(old), "webhook-signature": webhookSignatures([secret], id, old, body) }),
    ).toThrow();
  });
});

describe("secrets at rest", () => {
  it("are sealed with AES-256-GCM under the key, opened back, and refused under another key or without one", () => {
    const box = new SecretBox(randomBytes(32));
    const secret = newWebhookSecret();
    const sealed = box.seal(secret);
    expect(sealed).toMatch(/^sealed:v1:/);
    expect(sealed).not.toContain(secret.slice(6));
    expect(box.open(sealed)).toBe(secret);
    expect(box.seal(secret)).not.toBe(sealed); // a fresh nonce each time
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
    expect(() => new SecretBox(null).open(sealed)).toThrow(/WEBHOOK_SECRET_KEY/);
    const tampered = `${sealed.slice(0, -4)}AAAA`;
    expect(() => box.open(tampered)).toThrow();
  });

  it("are kept as they are without a key; keys are 32 bytes in hex or base64", () => {
    const secret = newWebhookSecret();
    expect(new SecretBox(null).seal(secret)).toBe(secret);
    expect(parseSecretKey("ab".repeat(32))?.length).toBe(32);
    expect(parseSecretKey(randomBytes(32).toString("base64"))?.length).toBe(32);
    for (const bad of ["", "short", "ab".repeat(31), randomBytes(16).toString("base64"), "zz".repeat(32)]) expect(parseSecretKey(bad)).toBeNull();
    expect(() => new SecretBox(randomBytes(16))).toThrow();
  });
});

describe("addresses a webhook may not reach", () => {
  it("are loopback, private, link-local (metadata), CGNAT, reserved and their IPv6 forms; public ones pass", () => {
    for (const a of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not an address"]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) expect(isPrivateAddress(a), a).toBe(false);
  });

  it("judge a name by every address it resolves to", async () => {
    const resolve = async (name: string) => (name === "rebind.example" ? ["93.184.216.34", "10.0.0.7"] : ["93.184.216.34"]);
    expect((await privateAddressesOf("rebind.example", resolve)).private).toEqual(["10.0.0.7"]);
    expect((await privateAddressesOf("crm.example", resolve)).private).toEqual([]);
    expect((await privateAddressesOf("[::1]", resolve)).private).toEqual(["::1"]);
  });
});
