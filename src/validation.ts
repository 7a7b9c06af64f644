import { badInput } from "./errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const E164 = /^\+[1-9]\d{6,14}$/;

export const isUuid = (value: string): boolean => UUID.test(value);

/** Ids are UUIDs; anything else is a malformed input, not a missing row. */
export function requireId(value: string, field: string): string {
  if (!isUuid(value)) throw badInput(`${field} is not a well-formed id`, field);
  return value.toLowerCase();
}

export function requireIds(values: readonly string[], field: string, max: number): string[] {
  if (values.length > max) throw badInput(`${field} takes at most ${max} ids`, field);
  return values.map((v) => requireId(v, field));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why Baton will not store this text (Postgres refuses NUL; a lone surrogate is not Unicode), or null. */
export function badText(value: string): string | null {
  if (value.includes("\u0000")) return "contains a NUL character";
  if (LONE_SURROGATE.test(value)) return "is not valid Unicode (it contains a lone surrogate)";
  return null;
}

/** Length in characters (code points), as people count them: an emoji is one, not two UTF-16 units. */
export const characters = (text: string): number => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

/** Trimmed text of `min..max` characters. */
export function requireText(value: string, field: string, min: number, max: number): string {
  const text = value.trim();
  const length = characters(text);
  if (length < min || length > max) {
    throw badInput(`${field} must be ${min} to ${max} characters after trimming`, field);
  }
  return text;
}

/** Reject and withdraw reasons: trimmed, 1 to 500 characters. */
export const requireReason = (value: string): string => requireText(value, "reason", 1, 500);

/** Optional text: blank becomes null. */
export function optionalText(value: string | null | undefined, field: string, max: number): string | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (text.length === 0) return null;
  if (characters(text) > max) throw badInput(`${field} must be at most ${max} characters`, field);
  return text;
}

export function requirePhone(value: string): string {
  const phone = value.trim();
  if (!E164.test(phone)) throw badInput("customerPhone must be E.164, e.g. +14155550123", "customerPhone");
  return phone;
}

export function requireEmail(value: string): string {
  const email = value.trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw badInput("email is not valid", "email");
  return email;
}
