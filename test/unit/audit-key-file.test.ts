import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadAuditSigningKey } from "../../src/kernel/audit-key-file";
import { StartupError } from "../../src/startup-error";

// Issue #25: where the checkpoints' signing key comes from, and the sentences when it cannot be used.

const dir = mkdtempSync(path.join(tmpdir(), "baton-audit-key-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the audit signing key", () => {
  it("the embedded demo makes its own once (0600) and keeps it; with DATABASE_URL and no file there is none", async () => {
    const made = await loadAuditSigningKey(undefined, { dataDir: path.join(dir, "data") });
    const file = path.join(dir, "data", "audit-signing-key.pem");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toContain("BEGIN PRIVATE KEY");
    const again = await loadAuditSigningKey(undefined, { dataDir: path.join(dir, "data") });
    expect(again?.keyId).toBe(made?.keyId);
    expect(made?.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(await loadAuditSigningKey(undefined, null)).toBeNull();
  });

  it("AUDIT_SIGNING_KEY_FILE: an Ed25519 PEM is read; a missing file, text that is no key, or another kind of key stops the start with a reason", async () => {
    const good = path.join(dir, "good.pem");
    writeFileSync(good, generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    expect((await loadAuditSigningKey(good, null))?.publicKeyPem).toContain("BEGIN PUBLIC KEY");

    const fails = async (file: string) => (await loadAuditSigningKey(file, null).then(() => null, (e: unknown) => e)) as StartupError;
    const missing = await fails(path.join(dir, "none.pem"));
    expect(missing).toBeInstanceOf(StartupError);
    expect(missing.message).toContain("cannot be read (ENOENT)");
    writeFileSync(path.join(dir, "text.pem"), "not a key");
    expect((await fails(path.join(dir, "text.pem"))).message).toContain("not a PEM private key");
    writeFileSync(path.join(dir, "rsa.pem"), generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    expect((await fails(path.join(dir, "rsa.pem"))).message).toContain("an rsa key, not Ed25519");
  });
});
