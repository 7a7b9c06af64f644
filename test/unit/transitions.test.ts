import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors";
import { RequestStatus } from "../../src/modules/assignments/assignment-request.entity";
import { ALLOWED_TRANSITIONS, assertTransition, canTransition, isTerminal, OUTCOMES } from "../../src/modules/assignments/transitions";
import { NotificationType } from "../../src/modules/notifications/notification.entity";

const all = Object.values(RequestStatus);
const terminal = all.filter((s) => s !== RequestStatus.PENDING);

describe("the request state machine", () => {
  it.each(terminal)("PENDING may become %s", (to) => {
    expect(canTransition(RequestStatus.PENDING, to)).toBe(true);
    expect(() => assertTransition(RequestStatus.PENDING, to)).not.toThrow();
  });

  it("PENDING may not become PENDING", () => {
    expect(canTransition(RequestStatus.PENDING, RequestStatus.PENDING)).toBe(false);
  });

  for (const from of terminal) {
    it.each(all)(`${from} is final: it may not become %s`, (to) => {
      expect(isTerminal(from)).toBe(true);
      expect(canTransition(from, to)).toBe(false);
      try {
        assertTransition(from, to);
        expect.unreachable();
      } catch (err) {
        const e = err as { code: string; details: { status: string } };
        expect(e.code).toBe(ErrorCode.REQUEST_NOT_PENDING);
        expect(e.details.status).toBe(from);
      }
    });
  }

  it("every terminal status has an outcome, and every status a row", () => {
    expect(Object.keys(ALLOWED_TRANSITIONS).sort()).toEqual([...all].sort());
    expect(Object.keys(OUTCOMES).sort()).toEqual([...terminal].sort());
  });

  it("tells the parties PRODUCT.md names", () => {
    expect(OUTCOMES.ACCEPTED.tell).toEqual({ sender: NotificationType.ASSIGNMENT_ACCEPTED, recipient: null });
    expect(OUTCOMES.REJECTED.tell).toEqual({ sender: NotificationType.ASSIGNMENT_REJECTED, recipient: null });
    expect(OUTCOMES.WITHDRAWN.tell).toEqual({ sender: null, recipient: NotificationType.ASSIGNMENT_WITHDRAWN });
    expect(OUTCOMES.TIMED_OUT.tell.sender).not.toBeNull();
    expect(OUTCOMES.TIMED_OUT.tell.recipient).not.toBeNull();
  });
});
