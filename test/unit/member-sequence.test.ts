import type { ExecutionArgs } from "graphql";
import { describe, expect, it } from "vitest";
import { laterSequence, Member, Multiplexer } from "../../src/graphql/multiplex";
import type { SubscriberHooks } from "../../src/graphql/context";
import type { Services } from "../../src/services";
import type { User } from "../../src/modules/users/user.entity";

/**
 * A subscription member remembers the latest event it was given, by sequence, to resume after it
 * (from the event table, when it falls behind or its viewer's role changes). Two commits' events
 * can be published the other way round, so the last to arrive is not always the latest.
 */
describe("a member's resume point", () => {
  function member(): { m: Member; sent: string[] } {
    const sent: string[] = [];
    const hooks: SubscriberHooks = {
      tooSlow: () => undefined,
      interrupted: () => undefined,
      current: () => ({}) as User,
      onRoleChange: () => () => undefined,
      maxQueued: 10,
      send: (text) => sent.push(text),
      buffered: () => 0,
    };
    // The multiplexer only serializes here: no service is reached.
    return { m: new Member(new Multiplexer({} as Services), {} as ExecutionArgs, hooks, "op"), sent };
  }
  const event = (sequence: string) => ({ event: { sequence } });

  it("is the highest sequence delivered, not the last to arrive: an event published out of commit order is still delivered, and does not move it back", () => {
    const { m, sent } = member();
    m.deliver({ data: { n: 10 } }, event("10"));
    m.deliver({ data: { n: 9 } }, event("9"));
    expect(sent).toHaveLength(2);
    expect(m.lastSequence).toBe("10");
    m.deliver({ data: { n: 100 } }, event("100")); // longer, though "100" < "9" as text
    expect(m.lastSequence).toBe("100");
    m.deliver({ data: {} }, { chat: { id: "c" } }); // a result without an event leaves it
    expect(m.lastSequence).toBe("100");
  });

  it("compares sequences as numbers", () => {
    expect(laterSequence("10", undefined)).toBe(true);
    expect(laterSequence("10", "9")).toBe(true);
    expect(laterSequence("9", "10")).toBe(false);
    expect(laterSequence("123456789012345678", "123456789012345677")).toBe(true);
    expect(laterSequence("5", "5")).toBe(false);
  });
});
