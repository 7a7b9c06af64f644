import { createHmac, randomBytes } from "node:crypto";

/**
 * The Standard Webhooks signature scheme (standardwebhooks.com): a secret is "whsec_" + the
 * base64 of its key bytes; a message's signature is "v1," + base64 HMAC-SHA256 of
 * `${id}.${timestamp}.${body}` with those bytes. Receivers verify it with any Standard Webhooks
 * library (Baton's tests use the `standardwebhooks` package, not this code).
 */
export const SECRET_PREFIX = "whsec_";

/** A new secret: 32 random bytes. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

/** `webhook-signature`'s value for one secret: "v1,<base64>". */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error("not a Standard Webhooks secret");
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64")}`;
}

/** The header with every secret in force (during a rotation, the new and the old), space-separated. */
export function webhookSignatures(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  return secrets.map((s) => signWebhook(s, id, timestampSeconds, body)).join(" ");
}
