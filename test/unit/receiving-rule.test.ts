import { describe, expect, it } from "vitest";
import { type Candidate, HOP_GUARD, type ReceivingPart, receiveError, receiveProblem } from "../../src/engine/rules";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { Availability, UserRole } from "../../src/modules/users/user.entity";

// Who can receive a chat, without a database: every part (recipient, fallback, bulk target) x
// role x addressed type x active x availability x being the owner or the sender.

const OWNER = "00000000-0000-4000-8000-000000000001";
const SENDER = "00000000-0000-4000-8000-000000000002";
const OTHER = "00000000-0000-4000-8000-000000000003";

const person = (over: Partial<Candidate> = {}): Candidate => ({ id: OTHER, role: UserRole.USER, active: true, availability: Availability.AVAILABLE, ...over });

/** The parts as the engine and the bulk move ask them. */
const receiving = (as: ReceivingPart, type: RecipientType | null, awayRefused: boolean) => ({
  as,
  type: as === "bulk target" ? null : type,
  ownerId: as === "bulk target" ? null : OWNER,
  senderId: as === "bulk target" ? null : SENDER,
  awayRefused: as === "fallback" ? false : awayRefused,
});

/** The expected answer, written as the rule reads in words. */
function expected(as: ReceivingPart, c: Candidate | null, type: RecipientType, awayRefused: boolean): string | null {
  if (!c) return "NO_SUCH_USER";
  if (!c.active) return "INACTIVE";
  if (as !== "bulk target" && c.id === OWNER) return "OWNER";
  if (as !== "bulk target" && c.id === SENDER) return "SELF";
  if (as !== "bulk target" && type === RecipientType.MANAGER && c.role === UserRole.USER) return "NOT_MANAGER";
  if (as !== "bulk target" && type === RecipientType.USER && c.role !== UserRole.USER) return "NOT_USER";
  if (as !== "fallback" && awayRefused && c.availability === Availability.AWAY) return "AWAY";
  return null;
}

const parts: ReceivingPart[] = ["recipient", "fallback", "bulk target"];
const candidates: Array<Candidate | null> = [null];
for (const role of [UserRole.USER, UserRole.MANAGER, UserRole.ADMIN]) {
  for (const active of [true, false]) {
    for (const availability of [Availability.AVAILABLE, Availability.BUSY, Availability.AWAY]) {
      for (const id of [OTHER, OWNER, SENDER]) candidates.push(person({ id, role, active, availability }));
    }
  }
}
const cases = parts.flatMap((as) =>
  [RecipientType.USER, RecipientType.MANAGER].flatMap((type) =>
    [false, true].flatMap((awayRefused) => candidates.map((c) => ({ as, type, awayRefused, c, want: expected(as, c, type, awayRefused) }))),
  ),
);

describe("the receiving rule", () => {
  it("as a hop's guard (the data the hop query and the recipients' lock apply): admits exactly whom the rule lets receive at their turn", () => {
    // What handover.planHops and handover.lockRecipients do with the guard, read as they are written.
    const admits = (type: RecipientType, c: Candidate) =>
      c.active && !(HOP_GUARD.awayRefused && c.availability === Availability.AWAY) && c.id !== OWNER && c.id !== SENDER && HOP_GUARD.rolesFor[type].includes(c.role);
    let admitted = 0;
    for (const type of [RecipientType.USER, RecipientType.MANAGER]) {
      for (const c of candidates) {
        if (!c) continue;
        const rule = receiveProblem(c, { as: "fallback", type, ownerId: OWNER, senderId: SENDER, awayRefused: true }) === null;
        expect(admits(type, c), JSON.stringify({ type, c })).toBe(rule);
        if (rule) admitted++;
      }
    }
    expect(admitted).toBeGreaterThan(0);
  });

  it(`covers ${cases.length} cases, each answered as the rule reads`, () => {
    for (const { as, type, awayRefused, c, want } of cases) {
      const got = receiveProblem(c, receiving(as, type, awayRefused));
      expect(got?.code ?? null, JSON.stringify({ as, type, awayRefused, c })).toBe(want);
    }
    // Every answer occurs somewhere in the table.
    expect(new Set(cases.map((x) => x.want))).toEqual(new Set([null, "NO_SUCH_USER", "INACTIVE", "OWNER", "SELF", "NOT_MANAGER", "NOT_USER", "AWAY"]));
  });

  it("words each part's refusals its own way, with the codes the API answers", () => {
    expect(receiveProblem(null, receiving("recipient", RecipientType.USER, false))?.message).toBe("No such recipient");
    expect(receiveProblem(null, receiving("fallback", RecipientType.USER, false))?.message).toBe("No such user");
    expect(receiveProblem(null, receiving("bulk target", null, false))?.message).toBe("No such target user");
    expect(receiveProblem(person({ active: false }), receiving("bulk target", null, false))?.message).toBe("The target user is not active");
    expect(receiveProblem(person({ role: UserRole.MANAGER }), receiving("fallback", RecipientType.USER, false))?.message).toBe("The fallback is not a user");
    const away = receiveProblem(person({ availability: Availability.AWAY }), receiving("recipient", RecipientType.USER, true))!;
    expect(receiveError(away, "recipientId")).toMatchObject({ code: "RECIPIENT_UNAVAILABLE", details: { field: "recipientId" } });
    const owner = receiveProblem(person({ id: OWNER }), receiving("recipient", RecipientType.USER, false))!;
    expect(receiveError(owner, "recipientId")).toMatchObject({ code: "INVALID_RECIPIENT", message: "The recipient already owns this chat" });
  });
});
