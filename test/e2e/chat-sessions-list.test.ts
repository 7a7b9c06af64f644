import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatSessionsFoundDocument } from "../../schema/generated/graphql";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { createChat, createWorld, type World } from "../support/factories";
import { codeOf, startTestServer, type TestServer } from "../support/server";

// Issue #26 point 4: Chat Sessions searched by customer (name or phone) and sorted by the
// customer's latest message, as the console's list asks.

let db: TestDatabase;
let server: TestServer;
let w: World;
let other: World;

const find = (variables: Record<string, unknown>, world = w) => server.gql(ChatSessionsFoundDocument, variables, world.token(world.maria));
const names = async (variables: Record<string, unknown>, world = w) => {
  const res = await find(variables, world);
  expect(res.errors).toBeUndefined();
  return res.data!.chatSessions.edges.map((e) => e.node.customerName);
};
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource, "Acme");
  other = await createWorld(db.dataSource, "Globex");
  await createChat(db.dataSource, w.organizationId, w.mark.id, { customerName: "Zoë Müller", customerPhone: "+4915112345678", lastCustomerMessageAt: minutesAgo(30) });
  await createChat(db.dataSource, w.organizationId, w.mark.id, { customerName: "Ann 100% Real_Name", customerPhone: "+14155550100", lastCustomerMessageAt: minutesAgo(5) });
  await createChat(db.dataSource, w.organizationId, w.martha.id, { customerName: "Bob Stone", customerPhone: "+14155550199", lastCustomerMessageAt: null });
  await createChat(db.dataSource, w.organizationId, w.martha.id, { customerName: "Cleo Rivers", customerPhone: "+442071234567", lastCustomerMessageAt: minutesAgo(60) });
  await createChat(db.dataSource, other.organizationId, other.mark.id, { customerName: "Zoë Elsewhere", customerPhone: "+4915112345679" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe("chatSessions: search and order", () => {
  it("search: part of the name in any case, or of the phone's digits; % and _ match themselves; never another organization's", async () => {
    expect(await names({ filter: { search: "zoë" } })).toEqual(["Zoë Müller"]);
    expect(await names({ filter: { search: "  STONE " } })).toEqual(["Bob Stone"]);
    expect((await names({ filter: { search: "415 555" } })).sort()).toEqual(["Ann 100% Real_Name", "Ann Customer", "Bob Stone"]);
    expect(await names({ filter: { search: "5550199" } })).toEqual(["Bob Stone"]);
    expect(await names({ filter: { search: "+44 20" } })).toEqual(["Cleo Rivers"]);
    expect(await names({ filter: { search: "0% r" } })).toEqual(["Ann 100% Real_Name"]);
    expect(await names({ filter: { search: "x%" } })).toEqual([]);
    expect(await names({ filter: { search: "a_e" } })).toEqual([]); // "_" as a wildcard would match "ame"
    expect(await names({ filter: { search: "real_" } })).toEqual(["Ann 100% Real_Name"]);
    expect(await names({ filter: { search: "Elsewhere" } })).toEqual([]);
    expect(await names({ filter: { search: "zoë", ownerId: w.martha.id } })).toEqual([]);
    expect(await names({ filter: { search: "" } })).toHaveLength(5); // empty: no search (the world's own chat too)
    const long = await find({ filter: { search: "x".repeat(101) } });
    expect(codeOf(long)).toBe("BAD_USER_INPUT");
    expect(long.errors![0].extensions).toMatchObject({ field: "search" });
  });

  it("orderBy LATEST_CUSTOMER_MESSAGE: the customer who wrote last first, never-written last; pages continue the order", async () => {
    // The world's own chat ("Ann Customer") was written to as it was made, before the others.
    const all = await names({ filter: { status: "OPEN" }, orderBy: "LATEST_CUSTOMER_MESSAGE" });
    expect(all).toEqual(["Ann Customer", "Ann 100% Real_Name", "Zoë Müller", "Cleo Rivers", "Bob Stone"]);
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await find({ filter: { status: "OPEN" }, orderBy: "LATEST_CUSTOMER_MESSAGE", first: 2, after });
      seen.push(...res.data!.chatSessions.edges.map((e) => e.node.customerName));
      if (!res.data!.chatSessions.pageInfo.hasNextPage) break;
      after = res.data!.chatSessions.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
    const newest = await names({ orderBy: "NEWEST" });
    expect(newest[0]).toBe("Cleo Rivers"); // made last
    expect(codeOf(await find({ orderBy: "OLDEST" }))).toBe("BAD_USER_INPUT");
  });
});
