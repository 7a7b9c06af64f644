import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { decodeCursor, encodeCursor, pageArgs } from "../../src/kernel/page";
import { notificationMessage } from "../../src/modules/notifications/messages";
import { NotificationType } from "../../src/modules/notifications/notification.entity";
import { optionalText, requireId, requirePhone, requireReason } from "../../src/validation";

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe("input validation", () => {
  it("trims reasons and holds them to 1..500 characters", () => {
    expect(requireReason("  In a meeting ")).toBe("In a meeting");
    expect(requireReason("x".repeat(500))).toHaveLength(500);
    expect(code(() => requireReason(""))).toBe("BAD_USER_INPUT");
    expect(code(() => requireReason(" \n\t "))).toBe("BAD_USER_INPUT");
    expect(code(() => requireReason("x".repeat(501)))).toBe("BAD_USER_INPUT");
  });

  it("accepts E.164 phones only", () => {
    expect(requirePhone("+14155550123")).toBe("+14155550123");
    for (const bad of ["4155550123", "+0155550123", "+1 415 555 0123", "+1234567890123456", "+1"]) {
      expect(code(() => requirePhone(bad))).toBe("BAD_USER_INPUT");
    }
  });

  it("accepts UUID ids only", () => {
    expect(requireId("5A2B0C1D-0000-4000-8000-000000000001", "id")).toBe("5a2b0c1d-0000-4000-8000-000000000001");
    for (const bad of ["", "1", "not-a-uuid", "5a2b0c1d-0000-4000-8000-00000000000g", "' OR 1=1 --"]) {
      expect(code(() => requireId(bad, "id"))).toBe("BAD_USER_INPUT");
    }
  });

  it("turns a blank note into null and refuses an overlong one", () => {
    expect(optionalText("   ", "note", 10)).toBeNull();
    expect(optionalText(null, "note", 10)).toBeNull();
    expect(code(() => optionalText("x".repeat(11), "note", 10))).toBe("BAD_USER_INPUT");
  });

  it("holds first to 1..100 and refuses forged cursors", () => {
    expect(pageArgs(undefined, undefined).first).toBe(20);
    expect(pageArgs(100, null).first).toBe(100);
    expect(code(() => pageArgs(0, null))).toBe("BAD_USER_INPUT");
    expect(code(() => pageArgs(101, null))).toBe("BAD_USER_INPUT");
    expect(code(() => pageArgs(10, "garbage"))).toBe("BAD_USER_INPUT");
    const at = new Date("2026-11-25T10:00:00.123Z");
    const id = "5a2b0c1d-0000-4000-8000-000000000001";
    expect(decodeCursor(encodeCursor(at, id))).toEqual({ at, id });
  });
});

describe("configuration", () => {
  it("reports every bad variable at once", () => {
    try {
      loadConfig({ PORT: "eighty", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join("\n");
      expect(problems).toMatch(/PORT/);
      expect(problems).toMatch(/DATABASE_URL/);
      expect(problems).toMatch(/JWT_SECRET is required/);
      expect(problems).toMatch(/LOG_LEVEL/);
      expect((err as ConfigError).problems).toHaveLength(4);
    }
  });

  it("needs nothing for the embedded setup", () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.databaseUrl).toBeUndefined();
  });
});

describe("notification messages", () => {
  const facts = { senderName: "Mark", recipientName: "Martha", actorName: "Martha", reason: "In a meeting" };
  it("read like the feature page", () => {
    expect(notificationMessage(NotificationType.ASSIGNMENT_REQUESTED, { ...facts, reader: "recipient" })).toBe(
      "Mark has sent you a chat assignment request.",
    );
    expect(notificationMessage(NotificationType.ASSIGNMENT_ACCEPTED, { ...facts, reader: "sender" })).toBe(
      "Martha accepted your chat assignment request.",
    );
    expect(notificationMessage(NotificationType.ASSIGNMENT_REJECTED, { ...facts, reader: "sender" })).toBe(
      "Martha rejected your chat assignment request: In a meeting",
    );
    expect(notificationMessage(NotificationType.ASSIGNMENT_TIMED_OUT, { ...facts, reader: "sender" })).toBe(
      "Your chat assignment request to Martha timed out.",
    );
    expect(notificationMessage(NotificationType.ASSIGNMENT_TIMED_OUT, { ...facts, reader: "recipient" })).toBe(
      "The chat assignment request from Mark timed out.",
    );
  });
});
