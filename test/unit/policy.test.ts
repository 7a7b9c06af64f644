import { describe, expect, it } from "vitest";
import { audienceOf, can, chatScope, type Permission, partyFilter, requestScope, requireAccess, SEEING_PERMISSIONS, visibilityClass } from "../../src/policy/access";
import { UserRole } from "../../src/modules/users/user.entity";

const org = "00000000-0000-4000-8000-0000000000aa";
const people = ["u1", "u2", "u3"].map((id) => id.padEnd(8, "0"));
const viewers = Object.values(UserRole).flatMap((role) => people.map((id) => ({ id, organizationId: org, role })));
const requests = people.flatMap((senderId) => people.filter((r) => r !== senderId).map((recipientId) => ({ senderId, recipientId })));

describe("the policy", () => {
  it("answers who may act on a request, as PRODUCT.md says", () => {
    const [user, manager, admin] = [UserRole.USER, UserRole.MANAGER, UserRole.ADMIN].map((role) => ({ id: people[2], organizationId: org, role }));
    const theirs = { senderId: people[0], recipientId: people[1] };
    const mine = { senderId: people[0], recipientId: people[2] };
    expect(can(user, "request.see", theirs)).toBe(false);
    expect(can(manager, "request.see", theirs)).toBe(true);
    expect(can(user, "request.answer", mine)).toBe(true);
    expect(can(manager, "request.answer", theirs)).toBe(false); // only the recipient answers
    expect(can(manager, "request.withdraw", theirs)).toBe(true);
    expect(can(user, "request.withdraw", mine)).toBe(false); // the recipient cannot withdraw
    expect(can(admin, "settings.manage")).toBe(true);
    expect(can(manager, "settings.manage")).toBe(false);
    expect(partyFilter(user)).toBe(user.id);
    expect(partyFilter(manager)).toBeNull();
  });

  it("FORBIDDEN for a refused action, NOT_FOUND for a request the viewer may not see", () => {
    const user = { id: people[2], organizationId: org, role: UserRole.USER };
    const theirs = { senderId: people[0], recipientId: people[1] };
    expect(() => requireAccess(user, "request.see", theirs)).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    expect(() => requireAccess(user, "request.withdraw", theirs)).toThrow(expect.objectContaining({ code: "FORBIDDEN" }));
    expect(() => requireAccess(user, "users.manage")).toThrow(expect.objectContaining({ code: "FORBIDDEN" }));
  });

  // The engine's one-statement path trusts requestScope; the read-first path trusts can. They must agree.
  for (const permission of ["request.answer", "request.withdraw"] as Permission[]) {
    it(`requestScope(${permission}) covers exactly the requests can() allows`, () => {
      for (const viewer of viewers) {
        const scope = requestScope(viewer, permission);
        expect(scope).not.toBeNull();
        for (const r of requests) {
          const inScope = (!scope?.senderId || r.senderId === scope.senderId) && (!scope?.recipientId || r.recipientId === scope.recipientId);
          const allowed = can(viewer, permission as "request.answer", r) && can(viewer, "request.see", r);
          expect(inScope, `${viewer.role} ${viewer.id} on ${JSON.stringify(r)}`).toBe(allowed);
        }
      }
    });
  }

  // Opening a request writes first within chatScope; the read-first path asks can. They must agree.
  it("chatScope(chat.assign) covers exactly the chats can() lets the viewer assign", () => {
    for (const viewer of viewers) {
      const scope = chatScope(viewer, "chat.assign");
      for (const ownerId of people) {
        const inScope = !scope.ownerId || scope.ownerId === ownerId;
        expect(inScope, `${viewer.role} ${viewer.id} on a chat of ${ownerId}`).toBe(can(viewer, "chat.assign", { ownerId }));
      }
    }
  });

  it("publishing audiences reach exactly who may see: an event (event.see) and a chat's change (chat.follow)", () => {
    // A manager hears through the organization's feed, anyone else through their own: reached iff allowed.
    const reaches = (v: { id: string; role: UserRole }, to: { userIds: string[] }) => v.role !== UserRole.USER || to.userIds.includes(v.id);
    let checked = 0;
    for (const fromUserId of people) {
      for (const toUserId of people) {
        const event = { fromUserId, toUserId };
        const chat = { chat: { ownerId: toUserId }, previousOwnerId: fromUserId === toUserId ? null : fromUserId };
        for (const v of viewers) {
          expect(reaches(v, audienceOf.event(org, event)), JSON.stringify({ v, event })).toBe(can(v, "event.see", event));
          expect(reaches(v, audienceOf.chat(org, chat)), JSON.stringify({ v, chat })).toBe(can(v, "chat.follow", chat));
          checked += 2;
        }
      }
    }
    expect(checked).toBe(2 * people.length * people.length * viewers.length);
  });

  // Issue #27: a subscription's event is resolved once per visibility class and sent to every
  // socket in it; two viewers in one class must be allowed exactly the same by every seeing rule.
  it("viewers of one visibility class see exactly the same, whatever the subject; viewers who see differently never share one", () => {
    const pairs = people.flatMap((a) => [...people, null].map((b) => [a, b] as const));
    const subjects: Record<(typeof SEEING_PERMISSIONS)[number], unknown[]> = {
      "chat.follow": pairs.map(([ownerId, previousOwnerId]) => ({ chat: { ownerId, organizationId: org }, previousOwnerId })),
      "request.see": requests,
      "event.see": pairs.map(([fromUserId, toUserId]) => ({ fromUserId, toUserId })),
      "discussion.see": requests.map((r) => ({ requesterId: r.senderId, consultantId: r.recipientId })),
      "organization.follow": [undefined],
      "organization.list": [undefined],
      "users.manage": [undefined],
    };
    const answers = (v: (typeof viewers)[number]) =>
      JSON.stringify(SEEING_PERMISSIONS.map((p) => subjects[p].map((subject) => (can as (v: unknown, p: Permission, ...s: unknown[]) => boolean)(v, p, ...(subject === undefined ? [] : [subject])))));
    const byClass = new Map<string, Set<string>>();
    for (const v of viewers) {
      const set = byClass.get(visibilityClass(v)) ?? new Set<string>();
      set.add(answers(v));
      byClass.set(visibilityClass(v), set);
    }
    for (const [cls, seen] of byClass) expect(seen.size, cls).toBe(1);
    // Managers (and admins) share a class per role; users never share one.
    expect(byClass.size).toBe(2 + people.length);
    const all = [...new Set(viewers.map(answers))];
    expect(all.length).toBe(byClass.size); // and no finer than needed: each class sees differently (admins see users' external ids)
  });
});

