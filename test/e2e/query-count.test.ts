import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignmentRequestsDocument, MeDocument, RequestInboxDocument } from "../../schema/generated/graphql";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createUser, createWorld, type World } from "../support/factories";
import { startTestServer, type TestServer } from "../support/server";
import { testServices } from "../support/services";
import { sleep } from "../support/wait";
import { connect, subscribe } from "../support/ws-client";

let db: TestDatabase;
let server: TestServer;
let w: World;


beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.dataSource);
  w = await createWorld(db.dataSource);
  const svc = testServices(db.dataSource);
  // 100 requests from 10 senders to 10 recipients, so relations really fan out.
  const senders = await Promise.all(Array.from({ length: 10 }, (_, i) => createUser(db.dataSource, w.organizationId, { name: `Sender ${i}` })));
  const recipients = await Promise.all(Array.from({ length: 10 }, (_, i) => createUser(db.dataSource, w.organizationId, { name: `Recipient ${i}` })));
  for (let i = 0; i < 100; i++) {
    const sender = senders[i % 10];
    const chat = await createChat(db.dataSource, w.organizationId, sender.id);
    await svc.handovers.assignChat(sender, assignInput(chat.id, recipients[(i * 3) % 10].id));
  }
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function statementsFor(run: () => Promise<unknown>): Promise<number> {
  const before = db.counter.count;
  await run();
  return db.counter.count - before;
}

describe("lists resolve relations in batches", () => {
  it("a page of 100 requests with chat, sender, recipient and record costs at most 6 statements", async () => {
    let edges = 0;
    const n = await statementsFor(async () => {
      const res = await server.gql(RequestInboxDocument, { first: 100 }, w.token(w.maria));
      edges = res.data!.assignmentRequests.edges.length;
      expect(res.data!.assignmentRequests.edges.every((e) => e.node.sender.name.startsWith("Sender"))).toBe(true);
    });
    expect(edges).toBe(100);
    expect(n).toBeLessThanOrEqual(6);
  });

  it("the full example operation costs the same for 10 items as for 100", async () => {
    const ten = await statementsFor(() => server.gql(AssignmentRequestsDocument, { first: 10 }, w.token(w.maria)));
    const hundred = await statementsFor(() => server.gql(AssignmentRequestsDocument, { first: 100 }, w.token(w.maria)));
    expect(hundred).toBe(ten);
    expect(hundred).toBeLessThanOrEqual(10);
  });
});

describe("the hot path's statement budget", () => {
  /** A mutation selecting only scalars, as the benchmark sends it: the statements are the transition's own. */
  const post = async (token: string, query: string, variables: unknown) => {
    const res = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const json = (await res.json()) as { data?: Record<string, { id: string; status: string }>; errors?: unknown };
    expect(json.errors).toBeUndefined();
    return json.data!;
  };

  it("over HTTP, with the users' authentication cached: assigning costs 1 statement, accepting 1", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    await server.gql(MeDocument, {}, w.token(w.mark));
    await server.gql(MeDocument, {}, w.token(w.martha));
    let requestId = "";
    const assign = await statementsFor(async () => {
      const sent = await post(w.token(w.mark), `mutation($input: AssignChatInput!) { assignChat(input: $input) { id } }`, { input: assignInput(chat.id, w.martha.id) });
      requestId = sent.assignChat.id;
    });
    const accept = await statementsFor(async () => {
      const done = await post(w.token(w.martha), `mutation($id: ID!) { acceptAssignment(requestId: $id) { id status } }`, { id: requestId });
      expect(done.acceptAssignment.status).toBe("ACCEPTED");
    });
    expect(assign).toBe(1); // write everything, the chat, the recipient and the settings checked in the statement
    expect(accept).toBe(1); // write everything, checking the recipient, the status and the deadline in the statement
  });

  it("answers come from the write: with what a front end asks (people, record), assigning still costs 1 statement, accepting 1", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    await server.gql(MeDocument, {}, w.token(w.mark));
    await server.gql(MeDocument, {}, w.token(w.martha));
    let requestId = "";
    const assign = await statementsFor(async () => {
      const sent = (await post(
        w.token(w.mark),
        `mutation($input: AssignChatInput!) { assignChat(input: $input) { id status expiresAt recipient { id name } sender { id name } trackingRecord { id status } chatSession { id owner { id } } } }`,
        { input: assignInput(chat.id, w.martha.id) },
      )) as unknown as { assignChat: { id: string; recipient: { id: string; name: string }; sender: { name: string }; trackingRecord: { status: string }; chatSession: { owner: { id: string } } } };
      requestId = sent.assignChat.id;
      expect(sent.assignChat.recipient).toEqual({ id: w.martha.id, name: "Martha" });
      expect(sent.assignChat.sender.name).toBe("Mark");
      expect(sent.assignChat.trackingRecord.status).toBe("PENDING");
      expect(sent.assignChat.chatSession.owner.id).toBe(w.mark.id);
    });
    const accept = await statementsFor(async () => {
      const done = (await post(
        w.token(w.martha),
        `mutation($id: ID!) { acceptAssignment(requestId: $id) { id status respondedAt trackingRecord { status responseSeconds } chatSession { id owner { id } } } }`,
        { id: requestId },
      )) as unknown as { acceptAssignment: { status: string; trackingRecord: { status: string; responseSeconds: number | null }; chatSession: { owner: { id: string } } } };
      expect(done.acceptAssignment.status).toBe("ACCEPTED");
      expect(done.acceptAssignment.trackingRecord.status).toBe("ACCEPTED");
      expect(done.acceptAssignment.trackingRecord.responseSeconds).not.toBeNull();
      expect(done.acceptAssignment.chatSession.owner.id).toBe(w.martha.id); // the chat as the write moved it
    });
    expect(assign).toBe(1);
    expect(accept).toBe(1);
  });

  it("live deliveries read an event's people once, not once per subscription class: an assign and an accept heard by both agents and a manager cost the two writes and one read each", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    for (const u of [w.mark, w.martha, w.maria]) await server.gql(MeDocument, {}, w.token(u));
    type Heard = { assignmentEvents: { type: string; actor: { name: string } | null; chatSession: { owner: { id: string; name: string } } } };
    const doc = (scope: string) => parse(`subscription { assignmentEvents(scope: ${scope}) { sequence type actor { id name } request { id } chatSession { id owner { id name } } } }`) as TypedDocumentNode<Heard, Record<string, never>>;
    const clients = [connect(server.url, w.token(w.mark)), connect(server.url, w.token(w.martha)), connect(server.url, w.token(w.maria))];
    try {
      const subs = [subscribe(clients[0], doc("MINE"), {}), subscribe(clients[1], doc("MINE"), {}), subscribe(clients[2], doc("ORGANIZATION"), {})];
      await sleep(300); // subscribed
      const heard: Heard["assignmentEvents"][] = [];
      const n = await statementsFor(async () => {
        const sent = await post(w.token(w.mark), `mutation($input: AssignChatInput!) { assignChat(input: $input) { id } }`, { input: assignInput(chat.id, w.martha.id) });
        for (const sub of subs) heard.push((await sub.next(3_000)).data!.assignmentEvents);
        await post(w.token(w.martha), `mutation($id: ID!) { acceptAssignment(requestId: $id) { id status } }`, { id: sent.assignChat.id });
        for (const sub of subs) heard.push((await sub.next(3_000)).data!.assignmentEvents);
      });
      expect(heard.map((e) => `${e.type} by ${e.actor?.name}: ${e.chatSession.owner.name}`)).toEqual([
        ...Array(3).fill("CREATED by Mark: Mark"),
        ...Array(3).fill("ACCEPTED by Martha: Martha"),
      ]);
      expect(n).toBe(4); // the assign, the accept, and each event's people once; read by each class, it was 8
    } finally {
      for (const c of clients) await c.dispose();
    }
  });

  it("a write decided before reading that finds its guards broken reads and decides again: the precise error, nothing written", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const raw = async (token: string, input: unknown) => {
      const res = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: `mutation($input: AssignChatInput!) { assignChat(input: $input) { id } }`, variables: { input } }),
      });
      return (await res.json()) as { errors?: Array<{ extensions: { code: string } }> };
    };
    const before = await db.dataSource.query(`SELECT count(*)::int AS n FROM assignment_requests WHERE chat_session_id = $1`, [chat.id]);
    // Not the viewer's chat (Martha is a user): the assumed write finds no chat of hers, the read says FORBIDDEN.
    const notMine = await statementsFor(async () => {
      expect((await raw(w.token(w.martha), assignInput(chat.id, w.mark.id))).errors?.[0].extensions.code).toBe("FORBIDDEN");
    });
    // To the chat's own owner: no recipient passes the guard, the read says INVALID_RECIPIENT.
    const toOwner = await statementsFor(async () => {
      expect((await raw(w.token(w.mark), assignInput(chat.id, w.mark.id))).errors?.[0].extensions.code).toBe("INVALID_RECIPIENT");
    });
    expect(notMine).toBe(2);
    expect(toOwner).toBe(2);
    const after = await db.dataSource.query(`SELECT count(*)::int AS n FROM assignment_requests WHERE chat_session_id = $1`, [chat.id]);
    expect(after).toEqual(before);
  });
});
