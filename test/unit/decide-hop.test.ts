import { describe, expect, it } from "vitest";
import { decideHop, type HopCause } from "../../src/engine/decide";
import { RecipientType, RequestStatus } from "../../src/modules/assignments/assignment-request.entity";
import { FORMER_USER } from "../../src/modules/notifications/messages";
import { DEFAULT_TIMEOUT_SECONDS } from "../../src/modules/settings/assign-discuss-settings.entity";
import type { HopPlanRow } from "../../src/repositories/handover.repository";

// A fallback chain's next step, decided without a database from the row its query read.

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function row(over: Partial<HopPlanRow> = {}): HopPlanRow {
  return {
    requestId: id(100),
    recipientType: RecipientType.USER,
    fallbacks: [id(2), id(3), id(4)],
    next: null,
    managers: [],
    timeoutSeconds: 90,
    triedNames: ["Martha"],
    triedStatuses: [RequestStatus.PENDING],
    ...over,
  };
}

describe("decideHop", () => {
  it("hands to the first able fallback and keeps those after it", () => {
    const plan = decideHop(row({ next: { id: id(3), name: "Lisa", position: 2 } }), "timeout", new Set());
    expect(plan.next).toEqual({ id: id(3), name: "Lisa", rest: [id(4)], recipientType: RecipientType.USER, lastResort: false });
    expect(plan.timeoutSeconds).toBe(90);
  });

  it("keeps the chain's recipient type on a fallback hop", () => {
    const plan = decideHop(row({ recipientType: RecipientType.MANAGER, next: { id: id(4), name: "Ada", position: 3 } }), "timeout", new Set());
    expect(plan.next?.recipientType).toBe(RecipientType.MANAGER);
    expect(plan.next?.rest).toEqual([]);
  });

  it("falls back to a manager as the last resort, an online one first, else the best ranked", () => {
    const managers = [
      { id: id(10), name: "Ada" },
      { id: id(11), name: "Alan" },
    ];
    const online = decideHop(row({ managers }), "timeout", new Set([id(11)]));
    expect(online.next).toEqual({ id: id(11), name: "Alan", rest: [], recipientType: RecipientType.MANAGER, lastResort: true });
    const offline = decideHop(row({ managers }), "timeout", new Set());
    expect(offline.next?.id).toBe(id(10));
  });

  it("ends the chain when nobody can take it, with the default deadline when the organization has none", () => {
    const plan = decideHop(row({ timeoutSeconds: null }), "reject", new Set());
    expect(plan.next).toBeNull();
    expect(plan.timeoutSeconds).toBe(DEFAULT_TIMEOUT_SECONDS);
  });

  it("names everyone tried, how each hop ended (the last by its cause), and a deleted user as a former user", () => {
    for (const cause of ["timeout", "reject", "away"] as HopCause[]) {
      const plan = decideHop(
        row({
          triedNames: ["Martha", null, "Lisa"],
          triedStatuses: [RequestStatus.REJECTED, RequestStatus.TIMED_OUT, RequestStatus.PENDING],
        }),
        cause,
        new Set(),
      );
      expect(plan.tried).toEqual([
        { name: "Martha", outcome: "reject" },
        { name: FORMER_USER, outcome: "timeout" },
        { name: "Lisa", outcome: cause },
      ]);
    }
  });
});
