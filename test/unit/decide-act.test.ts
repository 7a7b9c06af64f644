import { describe, expect, it } from "vitest";
import { type ActFacts, decideAct, tell, tellKnowing } from "../../src/engine/decide";
import { ASSIGN, DISCUSS, LIFECYCLE } from "../../src/engine/lifecycle";
import { RequestStatus } from "../../src/modules/assignments/assignment-request.entity";
import { UserRole } from "../../src/modules/users/user.entity";
import { requestScope } from "../../src/policy/access";

// Accept, reject and withdraw, decided without a database: every action x kind x actor (sender,
// recipient, the chat's owner, a manager, an admin, a stranger, someone of another organization)
// x status x deadline side. And the write the engine makes before reading (within requestScope,
// still pending, before the deadline): it applies in exactly the cases the decision settles.

const ORG = "00000000-0000-4000-8000-0000000000aa";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const SENDER = id(1);
const RECIPIENT = id(2);
const NOW = new Date("2026-12-05T10:00:00.000Z");

type Actor = "sender" | "recipient" | "owner" | "manager" | "admin" | "stranger" | "other organization";
const ACTORS: Record<Actor, { id: string; organizationId: string; role: UserRole; name: string }> = {
  sender: { id: SENDER, organizationId: ORG, role: UserRole.USER, name: "Mark" },
  recipient: { id: RECIPIENT, organizationId: ORG, role: UserRole.USER, name: "Martha" },
  owner: { id: id(3), organizationId: ORG, role: UserRole.USER, name: "Owen" }, // owns the chat, no part in the request
  manager: { id: id(4), organizationId: ORG, role: UserRole.MANAGER, name: "Ada" },
  admin: { id: id(5), organizationId: ORG, role: UserRole.ADMIN, name: "Alan" },
  stranger: { id: id(6), organizationId: ORG, role: UserRole.USER, name: "Maria" },
  "other organization": { id: id(7), organizationId: "00000000-0000-4000-8000-0000000000bb", role: UserRole.ADMIN, name: "Eve" },
};
const ACTIONS = ["accept", "reject", "withdraw"] as const;

/** As PRODUCT.md reads: who may see, who may act, only PENDING moves, the deadline wins. */
function expected(action: (typeof ACTIONS)[number], actor: Actor, status: RequestStatus, past: boolean): string {
  const v = ACTORS[actor];
  if (v.organizationId !== ORG) return "NOT_FOUND";
  const party = v.id === SENDER || v.id === RECIPIENT;
  const manager = v.role !== UserRole.USER;
  if (!party && !manager) return "NOT_FOUND";
  const may = action === "withdraw" ? v.id === SENDER || manager : v.id === RECIPIENT;
  if (!may) return "FORBIDDEN";
  if (status !== RequestStatus.PENDING) return "REQUEST_NOT_PENDING";
  return past ? "expire" : "settle";
}

const outcome = (f: () => { do: string }): string => {
  try {
    return f().do;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

describe("accept, reject and withdraw, decided", () => {
  const cases = ACTIONS.flatMap((action) =>
    [ASSIGN, DISCUSS].flatMap((kind) =>
      (Object.keys(ACTORS) as Actor[]).flatMap((actor) =>
        Object.values(RequestStatus).flatMap((status) => [false, true].map((past) => ({ action, kind, actor, status, past }))),
      ),
    ),
  );

  it(`answers ${cases.length} cases as PRODUCT.md reads`, () => {
    const seen = new Set<string>();
    for (const c of cases) {
      const request: ActFacts = { organizationId: ORG, senderId: SENDER, recipientId: RECIPIENT, status: c.status, expiresAt: new Date(NOW.getTime() + (c.past ? 0 : 1)) };
      const got = outcome(() => decideAct(ACTORS[c.actor], LIFECYCLE[c.action], request, NOW));
      expect(got, JSON.stringify({ ...c, kind: c.kind.name })).toBe(expected(c.action, c.actor, c.status, c.past));
      seen.add(got);
    }
    expect(seen).toEqual(new Set(["settle", "expire", "NOT_FOUND", "FORBIDDEN", "REQUEST_NOT_PENDING"]));
  });

  it("a request that is not there is NOT_FOUND, like another organization's", () => {
    expect(outcome(() => decideAct(ACTORS.admin, LIFECYCLE.withdraw, null, NOW))).toBe("NOT_FOUND");
  });

  it("the write made before reading applies in exactly the cases the decision settles", () => {
    let applied = 0;
    for (const c of cases) {
      const viewer = ACTORS[c.actor];
      const transition = LIFECYCLE[c.action];
      if (transition.by === "deadline" || transition.by === "system") continue;
      const scope = requestScope(viewer, transition.by)!;
      // The statement's WHERE (handover.repository.ts SETTLE): organization, scope, status, deadline side.
      const applies =
        viewer.organizationId === ORG &&
        (!scope.senderId || scope.senderId === SENDER) &&
        (!scope.recipientId || scope.recipientId === RECIPIENT) &&
        c.status === RequestStatus.PENDING &&
        !c.past;
      expect(applies, JSON.stringify({ ...c, kind: c.kind.name })).toBe(expected(c.action, c.actor, c.status, c.past) === "settle");
      if (applies) applied++;
    }
    expect(applied).toBeGreaterThan(0);
  });

  it("words before the read: the parties but the actor, or null when a name is not known yet", () => {
    const mark = ACTORS.sender;
    const ada = ACTORS.manager;
    // The recipient accepts: the sender is told, with the recipient's (the actor's) name.
    expect(tellKnowing(LIFECYCLE.accept, ASSIGN, { recipientId: RECIPIENT }, ACTORS.recipient, null)).toEqual([
      { party: "sender", type: "ASSIGNMENT_ACCEPTED", message: "Martha accepted your chat assignment request." },
    ]);
    // The sender withdraws: the recipient is told, the sender is not.
    expect(tellKnowing(LIFECYCLE.withdraw, ASSIGN, { senderId: SENDER }, mark, "Sorted")).toEqual([
      { party: "recipient", type: "ASSIGNMENT_WITHDRAWN", message: "Mark withdrew the chat assignment request: Sorted" },
    ]);
    // A manager withdraws someone's request: the sender's message names the recipient, not known before the read.
    expect(tellKnowing(LIFECYCLE.withdraw, DISCUSS, {}, ada, "Sorted")).toBeNull();
    // Read, every name known: the same words as before the read, where both could say them.
    expect(tell(LIFECYCLE.withdraw, DISCUSS, { senderName: "Mark", recipientName: "Martha" }, ada, "Sorted").map((n) => n.message)).toEqual([
      "Ada withdrew the request to discuss: Sorted",
      "Ada withdrew your request to discuss with Martha: Sorted",
    ]);
  });
});
