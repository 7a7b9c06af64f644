/**
 * The lean peer: the minimal chat handover written by hand on Baton's stack, for the benchmark to
 * measure Baton against in the same run. Apollo Server 5 + express + raw `pg`, a JWT checked on
 * every request, one transaction per mutation that locks the chat and writes request, tracking
 * record, notification and event in five statements (seven round trips with BEGIN and COMMIT),
 * and no other lock (issue #21's peer). Same database, same tables as Baton, but for its events:
 * `lean_peer_events` is `assignment_events` as it was before the verifiable log (issue #25; the
 * same columns, indexes and foreign keys, without the hash chain's triggers), made by the bench
 * (scenarios/assign.ts). It answers what a
 * front end asks (`recipient { id } sender { id } trackingRecord { id status }` and the like) from
 * the values its statements had or returned, never reading again.
 *
 * With LEAN_PEER_ORG_LOCK=1 its event also takes the organization's event lock (as Baton does, so
 * that sequences commit in order for gap-free catch-up): the locked variant, an extra row.
 *
 * What it leaves out is what makes Baton a product: validation messages, the policy beyond
 * "owner sends, recipient accepts", deadlines (no timeout job), settings, request logs, metrics,
 * rate limits, query limits, live delivery.
 *
 * Run: `node dist/test/bench/lean-peer.js` with DATABASE_URL, JWT_SECRET; prints `listening <url>`.
 */
import { createSecretKey, randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { GraphQLError } from "graphql";
import jwt from "jsonwebtoken";
import { Pool, type PoolClient } from "pg";

const typeDefs = `#graphql
  enum RecipientType { USER MANAGER }
  input AssignChatInput { chatSessionId: ID!, recipientType: RecipientType!, recipientId: ID!, note: String }
  type User { id: ID! }
  type TrackingRecord { id: ID!, status: String!, responseSeconds: Float }
  type AssignmentRequest {
    id: ID!, status: String!, expiresAt: String, respondedAt: String,
    recipient: User!, sender: User!, trackingRecord: TrackingRecord!
  }
  type Query { ok: Boolean }
  type Mutation {
    assignChat(input: AssignChatInput!): AssignmentRequest!
    acceptAssignment(requestId: ID!): AssignmentRequest!
  }
`;

interface Ctx {
  userId: string;
}

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 20) });
pool.on("error", () => {});
const key = createSecretKey(Buffer.from(process.env.JWT_SECRET ?? "", "utf8"));

async function inTx<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

const refuse = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

/** The event's statement: with the organization's lock only in the locked variant. */
const ORG_LOCK = process.env.LEAN_PEER_ORG_LOCK === "1";
const eventInsert = ORG_LOCK
  ? `WITH ordered AS (SELECT pg_advisory_xact_lock(hashtextextended($2::uuid::text, 0)))
     INSERT INTO lean_peer_events (event_id, organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
     SELECT $1, $2, $9, $3, $4, $5, $6, $7, $8, $10 FROM ordered`
  : `INSERT INTO lean_peer_events (event_id, organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
     VALUES ($1, $2, $9, $3, $4, $5, $6, $7, $8, $10)`;

const resolvers = {
  Mutation: {
    assignChat: (_: unknown, { input }: { input: { chatSessionId: string; recipientType: string; recipientId: string; note?: string } }, ctx: Ctx) =>
      inTx(async (c) => {
        const now = new Date();
        // 1: lock the chat, check the sender owns it, read the names for the notification.
        const { rows } = await c.query<{ organization_id: string; owner_id: string; sender: string; recipient: string | null }>(
          `SELECT c.organization_id, c.owner_id, (SELECT name FROM users WHERE id = $2) AS sender,
                  (SELECT name FROM users WHERE id = $3 AND organization_id = c.organization_id AND active) AS recipient
             FROM chat_sessions c WHERE c.id = $1 AND c.status = 'OPEN' FOR NO KEY UPDATE`,
          [input.chatSessionId, ctx.userId, input.recipientId],
        );
        const chat = rows[0];
        if (!chat || chat.owner_id !== ctx.userId) throw refuse("Chat session not found", "NOT_FOUND");
        if (!chat.recipient) throw refuse("No such recipient", "INVALID_RECIPIENT");
        const requestId = randomUUID();
        const recordId = randomUUID();
        const expiresAt = new Date(now.getTime() + 120_000);
        // 2: the request.
        await c.query(
          `INSERT INTO assignment_requests (id, organization_id, chat_session_id, sender_id, recipient_id, recipient_type, status, note, timeout_seconds, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, 120, $8, $9)`,
          [requestId, chat.organization_id, input.chatSessionId, ctx.userId, input.recipientId, input.recipientType, input.note ?? null, now, expiresAt],
        );
        // 3: its tracking record.
        await c.query(
          `INSERT INTO engagement_tracking_records (id, organization_id, kind, status, chat_session_id, request_id, initiated_by_id, from_user_id, to_user_id,
                                                   recipient_type, note, requested_at, expires_at, timeout_seconds, created_at, updated_at)
           VALUES ($1, $2, 'ASSIGN_REQUEST', 'PENDING', $3, $4, $5, $5, $6, $7, $8, $9, $10, 120, $9, $9)`,
          [recordId, chat.organization_id, input.chatSessionId, requestId, ctx.userId, input.recipientId, input.recipientType, input.note ?? null, now, expiresAt],
        );
        // 4: the recipient's notification.
        await c.query(
          `INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at) VALUES ($1, $2, $3, 'ASSIGNMENT_REQUESTED', $4, $5, $6)`,
          [randomUUID(), chat.organization_id, input.recipientId, `${chat.sender} has sent you a chat assignment request.`, requestId, now],
        );
        // 5 (last, so a lock on the organization's events would be held only into COMMIT): the event.
        await c.query(eventInsert, [randomUUID(), chat.organization_id, requestId, recordId, input.chatSessionId, ctx.userId, ctx.userId, input.recipientId, "CREATED", now]);
        return {
          id: requestId,
          status: "PENDING",
          expiresAt: expiresAt.toISOString(),
          recipient: { id: input.recipientId },
          sender: { id: ctx.userId },
          trackingRecord: { id: recordId, status: "PENDING", responseSeconds: null },
        };
      }),
    acceptAssignment: (_: unknown, { requestId }: { requestId: string }, ctx: Ctx) =>
      inTx(async (c) => {
        const now = new Date();
        // 1: lock the request by settling it, if the viewer may.
        const { rows } = await c.query<{ organization_id: string; chat_session_id: string; sender_id: string; recipient: string }>(
          `UPDATE assignment_requests SET status = 'ACCEPTED', responded_at = $3, responded_by_id = $2
            WHERE id = $1 AND recipient_id = $2 AND status = 'PENDING'
            RETURNING organization_id, chat_session_id, sender_id, (SELECT name FROM users WHERE id = $2) AS recipient`,
          [requestId, ctx.userId, now],
        );
        const request = rows[0];
        if (!request) throw refuse("Assignment request not found or not pending", "REQUEST_NOT_PENDING");
        // 2: the chat moves.
        await c.query(`UPDATE chat_sessions SET owner_id = $2, updated_at = $3 WHERE id = $1`, [request.chat_session_id, ctx.userId, now]);
        // 3: the tracking record.
        const { rows: records } = await c.query<{ id: string; response_seconds: string | null }>(
          `UPDATE engagement_tracking_records SET status = 'ACCEPTED', responded_at = $2, responded_by_id = $3, updated_at = $2,
                  response_seconds = round(extract(epoch FROM ($2::timestamptz - requested_at))::numeric, 3)
            WHERE request_id = $1 RETURNING id, response_seconds`,
          [requestId, now, ctx.userId],
        );
        // 4: the sender's notification.
        await c.query(
          `INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at) VALUES ($1, $2, $3, 'ASSIGNMENT_ACCEPTED', $4, $5, $6)`,
          [randomUUID(), request.organization_id, request.sender_id, `${request.recipient} accepted your chat assignment request.`, requestId, now],
        );
        // 5 (last): the event.
        await c.query(eventInsert, [randomUUID(), request.organization_id, requestId, records[0]?.id, request.chat_session_id, ctx.userId, request.sender_id, ctx.userId, "ACCEPTED", now]);
        const record = records[0];
        return {
          id: requestId,
          status: "ACCEPTED",
          respondedAt: now.toISOString(),
          recipient: { id: ctx.userId },
          sender: { id: request.sender_id },
          trackingRecord: { id: record?.id, status: "ACCEPTED", responseSeconds: record?.response_seconds == null ? null : Number(record.response_seconds) },
        };
      }),
  },
};

async function main(): Promise<void> {
  const apollo = new ApolloServer<Ctx>({ typeDefs, resolvers });
  await apollo.start();
  const app = express();
  app.use(
    "/graphql",
    express.json(),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
        try {
          const claims = jwt.verify(token ?? "", key, { algorithms: ["HS256"] });
          if (typeof claims === "string" || !claims.sub) throw new Error("no subject");
          return { userId: claims.sub };
        } catch {
          throw refuse("Not authenticated", "UNAUTHENTICATED");
        }
      },
    }),
  );
  const server = app.listen(0, "127.0.0.1", () => {
    const address = server.address();
    if (address && typeof address === "object") process.stdout.write(`listening http://127.0.0.1:${address.port}/graphql\n`);
  });
  process.on("SIGTERM", () => {
    server.close();
    void apollo.stop().then(() => pool.end());
  });
}

void main();
