import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { assignInput, createChat, createWorld, type World } from "../support/factories";
import { codeOf, type GqlResult, startTestServer, type TestServer } from "../support/server";
import { connect } from "../support/ws-client";

// Issue #23, retries: a mutation sent with an Idempotency-Key happens at most once per user and
// key; a repeat answers what the first run answered, marked extensions.idempotentReplay.

let db: TestDatabase;
let w: World;
let server: TestServer;

const ASSIGN = `mutation($input: AssignChatInput!) { assignChat(input: $input) { id status expiresAt recipient { id } sender { id } trackingRecord { id status } } }`;
const DISCUSS = `mutation($input: DiscussChatInput!) { discussChat(input: $input) { id } }`;
const ACCEPT = `mutation($requestId: ID!) { acceptAssignment(requestId: $requestId) { id status discussion { id } } }`;
const WITHDRAW = `mutation($requestId: ID!) { withdrawAssignment(requestId: $requestId, reason: "test") { id status } }`;
const POST = `mutation($discussionId: ID!, $body: String!) { postDiscussionMessage(discussionId: $discussionId, body: $body) { id body } }`;
const BULK = `mutation($input: BulkAssignChatsInput!) { bulkAssignChats(input: $input) { operationId assignedCount results { chatSessionId outcome } } }`;

type Answer<T> = GqlResult<T> & { extensions?: { idempotentReplay?: boolean }; headers: Headers };

async function send<T>(query: string, variables: Record<string, unknown>, token: string, key?: string): Promise<Answer<T>> {
  const res = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...(key === undefined ? {} : { "idempotency-key": key }) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, ...((await res.json()) as Omit<Answer<T>, "status" | "headers">) };
}

const count = async (sql: string, params: unknown[]): Promise<number> => Number((await db.dataSource.query<Array<{ n: string }>>(sql, params))[0]?.n);
const requestsOf = (chatId: string) => count(`SELECT count(*) AS n FROM assignment_requests WHERE chat_session_id = $1`, [chatId]);
const eventsOf = (chatId: string) => count(`SELECT count(*) AS n FROM assignment_events WHERE chat_session_id = $1`, [chatId]);
let keys = 0;
const newKey = () => `key-${Date.now()}-${++keys}`;

beforeAll(async () => {
  db = await createTestDatabase();
  w = await createWorld(db.dataSource);
  server = await startTestServer(db.dataSource);
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe("Idempotency-Key", () => {
  it("a repeat answers the first run's answer, marked as a replay, and changes nothing", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const key = newKey();
    const vars = { input: assignInput(chat.id, w.martha.id) };
    const first = await send<{ assignChat: { id: string; status: string } }>(ASSIGN, vars, w.token(w.mark), key);
    expect(first.errors).toBeUndefined();
    expect(first.extensions?.idempotentReplay).toBeUndefined();
    // Meanwhile the request moves on: the replay is still the first answer, as it was sent.
    await send(WITHDRAW, { requestId: first.data?.assignChat.id }, w.token(w.mark));
    const again = await send<{ assignChat: { id: string } }>(ASSIGN, vars, w.token(w.mark), key);
    expect(again.status).toBe(200);
    expect(again.extensions?.idempotentReplay).toBe(true);
    expect(again.data).toEqual(first.data);
    expect(await requestsOf(chat.id)).toBe(1);
    expect(await eventsOf(chat.id)).toBe(2); // SENT and WITHDRAWN, no second SENT
    // Keys are per user: the same key from someone else is theirs.
    const other = await send<{ assignChat: { id: string } }>(ASSIGN, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark), `${key}-x`);
    expect(other.data?.assignChat.id).not.toBe(first.data?.assignChat.id);
  });

  it("the same key with another operation or variables is IDEMPOTENCY_KEY_REUSED (422), and runs nothing", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const key = newKey();
    const first = await send<{ assignChat: { id: string } }>(ASSIGN, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark), key);
    await send(WITHDRAW, { requestId: first.data?.assignChat.id }, w.token(w.mark));
    const reused = await send(ASSIGN, { input: assignInput(chat.id, w.tom.id) }, w.token(w.mark), key);
    expect(reused.status).toBe(422);
    expect(codeOf(reused)).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await requestsOf(chat.id)).toBe(1);
    // Variables in another order are the same variables.
    const input = assignInput(chat.id, w.martha.id);
    const reordered = { input: { recipientId: input.recipientId, recipientType: input.recipientType, chatSessionId: input.chatSessionId } };
    expect((await send(ASSIGN, reordered, w.token(w.mark), key)).extensions?.idempotentReplay).toBe(true);
  });

  it("malformed keys, and a key on two mutation fields, are BAD_USER_INPUT; a key on a query changes nothing", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    for (const key of ["x".repeat(256), "caf\u00e9", "tab\there"]) {
      const res = await send(ASSIGN, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark), key);
      expect(res.status, key).toBe(400);
      expect(codeOf(res), key).toBe("BAD_USER_INPUT");
      expect(res.errors?.[0]?.extensions?.field).toBe("Idempotency-Key");
    }
    const two = await send(
      `mutation($a: AssignChatInput!, $r: ID!) { assignChat(input: $a) { id } markNotificationsRead(ids: [$r]) }`,
      { a: assignInput(chat.id, w.martha.id), r: chat.id },
      w.token(w.mark),
      newKey(),
    );
    expect(codeOf(two)).toBe("BAD_USER_INPUT");
    expect(two.errors?.[0]?.message).toContain("exactly one mutation field");
    expect(await requestsOf(chat.id)).toBe(0);
    const query = await send<{ me: { id: string } }>(`{ me { id } }`, {}, w.token(w.mark), "x".repeat(256));
    expect(query.data?.me.id).toBe(w.mark.id);
    const longest = await send<{ assignChat: { id: string } }>(ASSIGN, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark), "~".repeat(255));
    expect(longest.data?.assignChat.id).toBeTruthy();
  });

  it("a run that fails with a domain error stores it: the repeat gets the same error even once it would succeed", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const pending = await send<{ assignChat: { id: string } }>(ASSIGN, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const key = newKey();
    const vars = { input: assignInput(chat.id, w.tom.id) };
    const refused = await send(ASSIGN, vars, w.token(w.mark), key);
    expect(codeOf(refused)).toBe("ASSIGNMENT_ALREADY_PENDING");
    await send(WITHDRAW, { requestId: pending.data?.assignChat.id }, w.token(w.mark));
    const again = await send(ASSIGN, vars, w.token(w.mark), key);
    expect(codeOf(again)).toBe("ASSIGNMENT_ALREADY_PENDING");
    expect(again.extensions?.idempotentReplay).toBe(true);
    expect(await requestsOf(chat.id)).toBe(1);
  });

  it("20 concurrent repeats of one key: one request; every answer is its answer, a replay of it, or IDEMPOTENCY_KEY_IN_USE (409, Retry-After)", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const key = newKey();
    const vars = { input: assignInput(chat.id, w.martha.id) };
    const answers = await Promise.all(Array.from({ length: 20 }, () => send<{ assignChat: { id: string } }>(ASSIGN, vars, w.token(w.mark), key)));
    expect(await requestsOf(chat.id)).toBe(1);
    const [request] = await db.dataSource.query<Array<{ id: string }>>(`SELECT id FROM assignment_requests WHERE chat_session_id = $1`, [chat.id]);
    let ran = 0;
    for (const a of answers) {
      if (a.data?.assignChat) {
        expect(a.data.assignChat.id).toBe(request?.id);
        if (!a.extensions?.idempotentReplay) ran++;
      } else {
        expect(a.status).toBe(409);
        expect(codeOf(a)).toBe("IDEMPOTENCY_KEY_IN_USE");
        expect(a.headers.get("retry-after")).toBe("1");
      }
    }
    expect(ran).toBe(1);
    // Retried after the first finished: the first's answer.
    expect((await send<{ assignChat: { id: string } }>(ASSIGN, vars, w.token(w.mark), key)).data?.assignChat.id).toBe(request?.id);
  });

  it("bulk moves and discussion messages repeated with a key do nothing twice", async () => {
    const chats = await Promise.all([0, 1, 2].map(() => createChat(db.dataSource, w.organizationId, w.mark.id)));
    const key = newKey();
    const input = { chatSessionIds: chats.map((c) => c.id), toUserId: w.tom.id };
    const first = await send<{ bulkAssignChats: { operationId: string; assignedCount: number } }>(BULK, { input }, w.token(w.maria), key);
    expect(first.data?.bulkAssignChats.assignedCount).toBe(3);
    const again = await send<{ bulkAssignChats: { operationId: string } }>(BULK, { input }, w.token(w.maria), key);
    expect(again.data).toEqual(first.data);
    expect(await count(`SELECT count(*) AS n FROM engagement_tracking_records WHERE chat_session_id = ANY($1)`, [chats.map((c) => c.id)])).toBe(3);

    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const discuss = await send<{ discussChat: { id: string } }>(DISCUSS, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const accepted = await send<{ acceptAssignment: { discussion: { id: string } } }>(ACCEPT, { requestId: discuss.data?.discussChat.id }, w.token(w.martha));
    const discussionId = accepted.data?.acceptAssignment.discussion.id;
    const postKey = newKey();
    const posted = await send<{ postDiscussionMessage: { id: string } }>(POST, { discussionId, body: "Hello?" }, w.token(w.mark), postKey);
    const repeated = await send<{ postDiscussionMessage: { id: string } }>(POST, { discussionId, body: "Hello?" }, w.token(w.mark), postKey);
    expect(repeated.data).toEqual(posted.data);
    expect(await count(`SELECT count(*) AS n FROM discussion_messages WHERE discussion_id = $1`, [discussionId])).toBe(1);
  });

  it("an answer whose storing was cut off (the process died after the commit) is rebuilt from the record", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const key = newKey();
    const vars = { input: assignInput(chat.id, w.martha.id) };
    const first = await send<{ assignChat: { id: string; status: string; recipient: { id: string } } }>(ASSIGN, vars, w.token(w.mark), key);
    await db.dataSource.query(`UPDATE idempotency_keys SET response = NULL, created_at = now() - interval '1 minute' WHERE user_id = $1 AND key = $2`, [w.mark.id, key]);
    const rebuilt = await send<{ assignChat: { id: string; status: string; recipient: { id: string } } }>(ASSIGN, vars, w.token(w.mark), key);
    expect(rebuilt.extensions?.idempotentReplay).toBe(true);
    expect(rebuilt.data?.assignChat).toMatchObject({ id: first.data?.assignChat.id, status: "PENDING", recipient: { id: w.martha.id } });
    expect(await requestsOf(chat.id)).toBe(1);
    // Its record holds the rows its answer was made of: the rebuilt answer is the first, even after the request moved on.
    await send(WITHDRAW, { requestId: first.data?.assignChat.id }, w.token(w.mark));
    const again = await send<{ assignChat: { id: string; status: string } }>(ASSIGN, vars, w.token(w.mark), key);
    expect(again.data).toEqual(first.data);

    // A mutation run as a unit (a discussion message), committed moments ago and not yet answered: still finishing.
    const other = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const discuss = await send<{ discussChat: { id: string } }>(DISCUSS, { input: assignInput(other.id, w.martha.id) }, w.token(w.mark));
    const accepted = await send<{ acceptAssignment: { discussion: { id: string } } }>(ACCEPT, { requestId: discuss.data?.discussChat.id }, w.token(w.martha));
    const postKey = newKey();
    const postVars = { discussionId: accepted.data?.acceptAssignment.discussion.id, body: "Still there?" };
    const posted = await send<{ postDiscussionMessage: { id: string } }>(POST, postVars, w.token(w.mark), postKey);
    await db.dataSource.query(`UPDATE idempotency_keys SET response = NULL, created_at = now() WHERE user_id = $1 AND key = $2`, [w.mark.id, postKey]);
    const finishing = await send(POST, postVars, w.token(w.mark), postKey);
    expect(codeOf(finishing)).toBe("IDEMPOTENCY_KEY_IN_USE");
    expect(finishing.status).toBe(409);
    // Later (its instance died before storing the answer): rebuilt from the recorded result.
    await db.dataSource.query(`UPDATE idempotency_keys SET created_at = now() - interval '1 minute' WHERE user_id = $1 AND key = $2`, [w.mark.id, postKey]);
    const rebuiltPost = await send<{ postDiscussionMessage: { id: string } }>(POST, postVars, w.token(w.mark), postKey);
    expect(rebuiltPost.extensions?.idempotentReplay).toBe(true);
    expect(rebuiltPost.data).toEqual(posted.data);
  });

  it("keys expire after IDEMPOTENCY_TTL_HOURS: then the same key runs again, and expired keys are deleted", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const discuss = await send<{ discussChat: { id: string } }>(DISCUSS, { input: assignInput(chat.id, w.martha.id) }, w.token(w.mark));
    const accepted = await send<{ acceptAssignment: { discussion: { id: string } } }>(ACCEPT, { requestId: discuss.data?.discussChat.id }, w.token(w.martha));
    const discussionId = accepted.data?.acceptAssignment.discussion.id;
    const key = newKey();
    await send(POST, { discussionId, body: "Once" }, w.token(w.mark), key);
    const [row] = await db.dataSource.query<Array<{ hours: number }>>(
      `SELECT round(extract(epoch FROM expires_at - created_at) / 3600)::int AS hours FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
      [w.mark.id, key],
    );
    expect(row?.hours).toBe(24);
    await db.dataSource.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND key = $2`, [w.mark.id, key]);
    const again = await send(POST, { discussionId, body: "Once" }, w.token(w.mark), key);
    expect(again.extensions?.idempotentReplay).toBeUndefined();
    expect(await count(`SELECT count(*) AS n FROM discussion_messages WHERE discussion_id = $1`, [discussionId])).toBe(2);
    await db.dataSource.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [w.mark.id]);
    expect(await server.app.services.idempotency.purgeExpired()).toBeGreaterThan(0);
    expect(await count(`SELECT count(*) AS n FROM idempotency_keys WHERE user_id = $1`, [w.mark.id])).toBe(0);
  });

  it("over a socket: extensions.idempotencyKey, with the same rules", async () => {
    const chat = await createChat(db.dataSource, w.organizationId, w.mark.id);
    const client = connect(server.url, w.token(w.mark));
    const run = (key: unknown) =>
      new Promise<{ data?: unknown; errors?: Array<{ extensions?: { code?: string } }>; extensions?: { idempotentReplay?: boolean } }>((resolve, reject) => {
        let result: unknown;
        client.subscribe(
          { query: ASSIGN, variables: { input: assignInput(chat.id, w.martha.id) }, extensions: { idempotencyKey: key } },
          { next: (v) => (result = v), error: reject, complete: () => resolve(result as never) },
        );
      });
    try {
      const key = newKey();
      const first = await run(key);
      const again = await run(key);
      expect(again.extensions?.idempotentReplay).toBe(true);
      expect(again.data).toEqual(first.data);
      expect(await requestsOf(chat.id)).toBe(1);
      const bad = await run(42).catch((errors: Array<{ extensions?: { code?: string } }>) => ({ errors }));
      expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    } finally {
      await client.dispose();
    }
  });
});
