import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { StartupError } from "../startup-error";
import { type SigningKey, signingKeyFromPem } from "./audit-chain";

/**
 * The verifiable log's signing key (issue #25): AUDIT_SIGNING_KEY_FILE when set; else, for the
 * embedded demo only, `<dataDir>/audit-signing-key.pem`, made on first start (0600); else none
 * (checkpoints are off). A file that is not an Ed25519 private key stops the start with a reason.
 */
export async function loadAuditSigningKey(file: string | undefined, embedded: { dataDir: string } | null): Promise<SigningKey | null> {
  if (file) {
    let pem: string;
    try {
      pem = await readFile(file, "utf8");
    } catch (err) {
      throw new StartupError(`AUDIT_SIGNING_KEY_FILE ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`, "Point it at an Ed25519 private key in PEM (README: Keys)");
    }
    try {
      return signingKeyFromPem(pem);
    } catch (err) {
      throw new StartupError(`AUDIT_SIGNING_KEY_FILE ${file} is ${(err as Error).message}`, "Make one with: openssl genpkey -algorithm ed25519 -out audit-key.pem");
    }
  }
  if (!embedded) return null;
  const own = path.join(embedded.dataDir, "audit-signing-key.pem");
  try {
    return signingKeyFromPem(await readFile(own, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new StartupError(`${own} is not a usable key: ${(err as Error).message}`, "Delete it: a new one is made");
  }
  const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  await mkdir(embedded.dataDir, { recursive: true });
  await writeFile(own, pem, { mode: 0o600 });
  return signingKeyFromPem(pem);
}
