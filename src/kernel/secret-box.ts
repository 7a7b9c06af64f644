import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const PREFIX = "sealed:v1:";

/**
 * Secrets at rest (webhook secrets): sealed with AES-256-GCM under a 32-byte key when one is
 * configured (WEBHOOK_SECRET_KEY), else kept as they are. A sealed value is
 * "sealed:v1:<iv>:<tag>:<ciphertext>" (base64 parts); opening one without the key, or with
 * another, fails loudly rather than yield a wrong secret.
 */
export class SecretBox {
  constructor(private readonly key: Buffer | null) {
    if (key && key.length !== 32) throw new Error("a secret box key is 32 bytes");
  }

  get sealing(): boolean {
    return this.key !== null;
  }

  seal(plain: string): string {
    if (!this.key) return plain;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return `${PREFIX}${iv.toString("base64")}:${cipher.getAuthTag().toString("base64")}:${data.toString("base64")}`;
  }

  open(stored: string): string {
    if (!stored.startsWith(PREFIX)) return stored;
    if (!this.key) throw new Error("a sealed secret needs WEBHOOK_SECRET_KEY to be opened");
    const [iv, tag, data] = stored.slice(PREFIX.length).split(":");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv ?? "", "base64"));
    decipher.setAuthTag(Buffer.from(tag ?? "", "base64"));
    return Buffer.concat([decipher.update(Buffer.from(data ?? "", "base64")), decipher.final()]).toString("utf8");
  }
}

/** A 32-byte key given as 64 hex digits or as base64; null when it is neither. */
export function parseSecretKey(raw: string): Buffer | null {
  const text = raw.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const key = Buffer.from(text, "base64");
    return key.length === 32 ? key : null;
  }
  return null;
}

/** A webhook endpoint's secrets as stored: its own, and after a rotation the previous one with its end. */
export interface StoredSecrets {
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: Date | null;
}

/** The secrets that sign a message now: the endpoint's own, and during a rotation the previous one too. */
export function secretsInForce(box: SecretBox, stored: StoredSecrets, now: Date): string[] {
  const current = box.open(stored.secret);
  const previous = stored.previousSecret && stored.previousSecretUntil && stored.previousSecretUntil > now ? box.open(stored.previousSecret) : null;
  return previous ? [current, previous] : [current];
}
