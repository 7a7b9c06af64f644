import { describe, expect, it } from "vitest";
import { assumeOpen, decideOpen, type OpenFacts, type OpenPlan, openAsk } from "../../src/engine/decide";
import { ASSIGN, DISCUSS, type KindSpec } from "../../src/engine/lifecycle";
import type { Candidate } from "../../src/engine/rules";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { ChatStatus } from "../../src/modules/chat-sessions/chat-session.entity";
import { Availability, UserRole } from "../../src/modules/users/user.entity";

// Opening a request, decided without a database: every actor (the owner, the recipient, another
// user, a manager, an admin, someone of another organization) x kind x chat status x recipient
// (role, active, availability, being the owner or the actor) x addressed type x pending request
// (none, live, past its deadline) x the organization's AWAY rule. And the write decided before
// reading (assumeOpen): its guards, as the statement applies them, let through exactly what the
// decision on the facts allows, so the one-round-trip path never writes what a read would refuse.

const ORG = "00000000-0000-4000-8000-0000000000aa";
const OTHER_ORG = "00000000-0000-4000-8000-0000000000bb";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const OWNER = id(1);
const RECIPIENT = id(2);
const STRANGER = id(3);
const BOSS = id(4);
const CHAT = id(10);
const NOW = new Date("2026-12-05T10:00:00.000Z");

type Actor = "owner" | "recipient" | "another user" | "manager" | "admin" | "other organization";
const ACTORS: Record<Actor, { id: string; organizationId: string; role: UserRole; name: string }> = {
  owner: { id: OWNER, organizationId: ORG, role: UserRole.USER, name: "Mark" },
  recipient: { id: RECIPIENT, organizationId: ORG, role: UserRole.USER, name: "Martha" },
  "another user": { id: STRANGER, organizationId: ORG, role: UserRole.USER, name: "Maria" },
  manager: { id: BOSS, organizationId: ORG, role: UserRole.MANAGER, name: "Ada" },
  admin: { id: BOSS, organizationId: ORG, role: UserRole.ADMIN, name: "Ada" },
  "other organization": { id: STRANGER, organizationId: OTHER_ORG, role: UserRole.ADMIN, name: "Eve" },
};

type Pending = "none" | "live" | "expired";

interface Case {
  actor: Actor;
  kind: KindSpec;
  status: ChatStatus;
  recipient: (Candidate & { name: string }) | null;
  type: RecipientType;
  pending: Pending;
  awayRefused: boolean;
}

/** The expected outcome, written as PRODUCT.md reads: an error code, "expire" or "open". */
function expected(c: Case): string {
  const viewer = ACTORS[c.actor];
  if (viewer.organizationId !== ORG) return "NOT_FOUND";
  if (c.status === ChatStatus.CLOSED) return "CHAT_CLOSED";
  if (viewer.role === UserRole.USER && viewer.id !== OWNER) return "FORBIDDEN";
  const r = c.recipient;
  if (!r) return "INVALID_RECIPIENT";
  if (!r.active || r.id === OWNER || r.id === viewer.id) return "INVALID_RECIPIENT";
  if (c.type === RecipientType.USER && r.role !== UserRole.USER) return "INVALID_RECIPIENT";
  if (c.type === RecipientType.MANAGER && r.role === UserRole.USER) return "INVALID_RECIPIENT";
  if (c.awayRefused && r.availability === Availability.AWAY) return "RECIPIENT_UNAVAILABLE";
  if (c.pending === "live") return "ASSIGNMENT_ALREADY_PENDING";
  if (c.pending === "expired") return "expire";
  return "open";
}

function facts(c: Case): OpenFacts {
  return {
    chat: { id: CHAT, organizationId: ORG, ownerId: OWNER, status: c.status },
    recipient: c.recipient,
    requireAvailableRecipient: c.awayRefused,
    capacityDefault: null,
    pending: c.pending === "none" ? null : { id: id(20), expiresAt: new Date(NOW.getTime() + (c.pending === "live" ? 60_000 : -1)) },
    timeoutSeconds: 90,
    fallbacks: new Map(),
    moves: { last: null, inDay: 0 },
    loop: { pingPongMinutes: 30, maxHandoversPerChatPerDay: 10 },
  };
}

/** The statement's guards (handover.repository.ts OPEN), as a predicate over the rows it would lock. */
function guardsHold(plan: OpenPlan, c: Case): boolean {
  const g = plan.guards;
  const chatOk = ORG === plan.organizationId && c.status === ChatStatus.OPEN && (g.chatOwnerId === null || g.chatOwnerId === OWNER);
  const r = c.recipient;
  const awayRefused = g.recipient.awayRefused === "setting" ? c.awayRefused : g.recipient.awayRefused;
  const recipientOk =
    r !== null &&
    r.active &&
    g.recipient.roles.includes(r.role) &&
    r.id !== OWNER &&
    !g.recipient.notIds.includes(r.id) &&
    !(awayRefused && r.availability === Availability.AWAY);
  // The partial unique index on pending requests refuses the insert when one is pending.
  return chatOk && recipientOk && c.pending === "none";
}

const recipients: Array<(Candidate & { name: string }) | null> = [null];
for (const rid of [RECIPIENT, OWNER, BOSS]) {
  for (const role of [UserRole.USER, UserRole.MANAGER, UserRole.ADMIN]) {
    for (const active of [true, false]) {
      for (const availability of [Availability.AVAILABLE, Availability.AWAY]) recipients.push({ id: rid, name: "R", role, active, availability });
    }
  }
}
const cases: Case[] = [];
for (const actor of Object.keys(ACTORS) as Actor[]) {
  for (const kind of [ASSIGN, DISCUSS]) {
    for (const status of [ChatStatus.OPEN, ChatStatus.CLOSED]) {
      for (const recipient of recipients) {
        for (const type of [RecipientType.USER, RecipientType.MANAGER]) {
          for (const pending of ["none", "live", "expired"] as Pending[]) {
            for (const awayRefused of [false, true]) cases.push({ actor, kind, status, recipient, type, pending, awayRefused });
          }
        }
      }
    }
  }
}

const outcome = (f: () => { do: string }): string => {
  try {
    return f().do;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

describe("opening a request, decided", () => {
  it(`answers ${cases.length} cases as PRODUCT.md reads`, () => {
    const seen = new Set<string>();
    for (const c of cases) {
      const ask = openAsk(c.kind, { chatSessionId: CHAT, recipientId: c.recipient?.id ?? RECIPIENT, recipientType: c.type }, null);
      const got = outcome(() => decideOpen(ACTORS[c.actor], c.kind, ask, facts(c), { requestId: id(30), recordId: id(31) }, NOW));
      expect(got, JSON.stringify({ ...c, kind: c.kind.name })).toBe(expected(c));
      seen.add(got);
    }
    expect(seen).toEqual(
      new Set(["open", "expire", "NOT_FOUND", "CHAT_CLOSED", "FORBIDDEN", "INVALID_RECIPIENT", "RECIPIENT_UNAVAILABLE", "ASSIGNMENT_ALREADY_PENDING"]),
    );
  });

  it("a chat that does not exist, or is another organization's, is NOT_FOUND alike", () => {
    const ask = openAsk(ASSIGN, { chatSessionId: CHAT, recipientId: RECIPIENT, recipientType: RecipientType.USER }, null);
    const theirs = { ...facts(cases[0]), chat: { id: CHAT, organizationId: OTHER_ORG, ownerId: OWNER, status: ChatStatus.OPEN } };
    expect(outcome(() => decideOpen(ACTORS.owner, ASSIGN, ask, null, { requestId: id(30), recordId: id(31) }, NOW))).toBe("NOT_FOUND");
    expect(outcome(() => decideOpen(ACTORS.owner, ASSIGN, ask, theirs, { requestId: id(30), recordId: id(31) }, NOW))).toBe("NOT_FOUND");
  });

  it("the plan: the recipient is told in the kind's words with the sender's name, the deadline is the organization's", () => {
    const c: Case = { actor: "manager", kind: DISCUSS, status: ChatStatus.OPEN, recipient: recipients[1], type: RecipientType.USER, pending: "none", awayRefused: false };
    const ask = openAsk(c.kind, { chatSessionId: CHAT, recipientId: RECIPIENT, recipientType: c.type, note: "Wants a refund" }, "Wants a refund");
    const d = decideOpen(ACTORS.manager, DISCUSS, ask, facts(c), { requestId: id(30), recordId: id(31) }, NOW);
    expect(d.do).toBe("open");
    if (d.do !== "open") return;
    expect(d.plan.told).toEqual([{ party: "recipient", type: "DISCUSSION_REQUESTED", message: "Ada has requested to discuss with you." }]);
    expect(d.plan.timeoutSeconds).toBe(90);
    expect(d.plan.guards.chatOwnerId).toBe(OWNER); // decided on this owner: the write applies only if it still is
    expect(d.plan.guards.recipient.awayRefused).toBe(false);
  });

  it(`the write decided before reading: its guards hold in exactly the ${cases.filter((c) => expected(c) === "open").length} cases the decision opens`, () => {
    let writes = 0;
    for (const c of cases) {
      const viewer = ACTORS[c.actor];
      const ask = openAsk(c.kind, { chatSessionId: CHAT, recipientId: c.recipient?.id ?? RECIPIENT, recipientType: c.type }, null);
      const plan = assumeOpen(viewer, c.kind, ask, { requestId: id(30), recordId: id(31) }, NOW);
      expect(plan).not.toBeNull();
      const applies = guardsHold(plan!, c);
      expect(applies, JSON.stringify({ ...c, kind: c.kind.name })).toBe(expected(c) === "open");
      if (applies) writes++;
    }
    expect(writes).toBeGreaterThan(0);
  });

  it("a request with fallbacks is not assumed (each fallback is checked against the chat's owner): read first", () => {
    const ask = openAsk(ASSIGN, { chatSessionId: CHAT, recipientId: RECIPIENT, recipientType: RecipientType.USER, fallbackRecipientIds: [STRANGER] }, null);
    expect(assumeOpen(ACTORS.owner, ASSIGN, ask, { requestId: id(30), recordId: id(31) }, NOW)).toBeNull();
  });

  it("bad input is refused before anything is decided", () => {
    const bad = (input: Record<string, unknown>) => outcome(() => ({ do: JSON.stringify(openAsk(ASSIGN, input as never, null)) }));
    expect(bad({ chatSessionId: "nope", recipientId: RECIPIENT, recipientType: RecipientType.USER })).toBe("BAD_USER_INPUT");
    expect(bad({ chatSessionId: CHAT, recipientId: RECIPIENT, recipientType: RecipientType.USER, fallbackRecipientIds: [RECIPIENT] })).toBe("BAD_USER_INPUT");
    expect(bad({ chatSessionId: CHAT, recipientId: RECIPIENT, recipientType: RecipientType.USER, fallbackRecipientIds: [STRANGER, STRANGER] })).toBe("BAD_USER_INPUT");
    expect(bad({ chatSessionId: CHAT, recipientId: RECIPIENT, recipientType: RecipientType.USER, fallbackRecipientIds: [1, 2, 3, 4, 5, 6].map((n) => id(40 + n)) })).toBe(
      "BAD_USER_INPUT",
    );
  });
});
