import { describe, expect, it } from "vitest";
import { ASSIGN, canTransition, isTerminal, LIFECYCLE } from "../../src/engine/lifecycle";
import { AssignmentEventType } from "../../src/modules/assignments/assignment-event.entity";
import { RequestStatus } from "../../src/modules/assignments/assignment-request.entity";
import { NotificationType } from "../../src/modules/notifications/notification.entity";

const all = Object.values(RequestStatus);
const terminal = all.filter((s) => s !== RequestStatus.PENDING);

describe("the request's life, as data", () => {
  it.each(terminal)("PENDING may become %s", (to) => {
    expect(canTransition(RequestStatus.PENDING, to)).toBe(true);
  });

  it("PENDING may not become PENDING; opening is the only way in", () => {
    expect(canTransition(RequestStatus.PENDING, RequestStatus.PENDING)).toBe(false);
    expect(Object.values(LIFECYCLE).filter((t) => t.to === RequestStatus.PENDING)).toEqual([LIFECYCLE.open]);
    expect(LIFECYCLE.open.from).toBeNull();
  });

  for (const from of terminal) {
    it.each(all)(`${from} is final: it may not become %s`, (to) => {
      expect(isTerminal(from)).toBe(true);
      expect(canTransition(from, to)).toBe(false);
    });
  }

  it("every terminal status is reached by exactly one transition, each with its own event", () => {
    for (const status of terminal) expect(Object.values(LIFECYCLE).filter((t) => t.to === status)).toHaveLength(1);
    const events = Object.values(LIFECYCLE).map((t) => t.event);
    expect(new Set(events).size).toBe(events.length);
    expect(events).not.toContain(AssignmentEventType.ASSIGNED); // bulk moves are not requests
  });

  it("who may act: people before the deadline, the deadline after it, the system any time", () => {
    expect(LIFECYCLE.accept.by).toBe("request.answer");
    expect(LIFECYCLE.reject.by).toBe("request.answer");
    expect(LIFECYCLE.withdraw.by).toBe("request.withdraw");
    expect(LIFECYCLE.open.by).toBe("chat.assign");
    for (const t of [LIFECYCLE.accept, LIFECYCLE.reject, LIFECYCLE.withdraw]) expect(t.window).toBe("beforeDeadline");
    expect(LIFECYCLE.timeOut).toMatchObject({ by: "deadline", window: "pastDeadline" });
    expect(LIFECYCLE.cancel).toMatchObject({ by: "system", window: "any" });
    expect([LIFECYCLE.reject.reasonRequired, LIFECYCLE.withdraw.reasonRequired, LIFECYCLE.accept.reasonRequired]).toEqual([true, true, false]);
  });

  it("tells the parties PRODUCT.md names, in the ASSIGN kind's words", () => {
    expect(LIFECYCLE.open.tell).toEqual(["recipient"]);
    expect(LIFECYCLE.accept.tell).toEqual(["sender"]);
    expect(LIFECYCLE.reject.tell).toEqual(["sender"]);
    expect([...LIFECYCLE.withdraw.tell].sort()).toEqual(["recipient", "sender"]);
    expect([...LIFECYCLE.timeOut.tell].sort()).toEqual(["recipient", "sender"]);
    expect(ASSIGN.notifications.accept).toBe(NotificationType.ASSIGNMENT_ACCEPTED);
    expect(ASSIGN.notifications.open).toBe(NotificationType.ASSIGNMENT_REQUESTED);
    expect(new Set(Object.values(ASSIGN.notifications)).size).toBe(Object.keys(LIFECYCLE).length);
  });
});
