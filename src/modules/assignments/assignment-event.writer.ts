import type { Tx } from "../../db/transaction";
import { fromRow } from "../../db/hydrate";
import type { BatonPubSub } from "../../graphql/pubsub";
import { ChatSession } from "../chat-sessions/chat-session.entity";
import type { EngagementTrackingRecord } from "../tracking/engagement-tracking-record.entity";
import { AssignmentEvent, type AssignmentEventType } from "./assignment-event.entity";
import type { AssignmentRequest } from "./assignment-request.entity";

export interface NewAssignmentEvent {
  organizationId: string;
  type: AssignmentEventType;
  requestId: string | null;
  trackingRecordId: string;
  chatSessionId: string;
  actorId: string | null;
  fromUserId: string;
  toUserId: string;
}

export interface EventSubjects {
  request: AssignmentRequest | null;
  trackingRecord: EngagementTrackingRecord;
  /** The chat as committed; read in the transaction when not given. */
  chat?: ChatSession;
}

/**
 * Appends the event row in the caller's transaction and publishes it after commit.
 *
 * The per-organization advisory lock, taken just before the sequence is drawn and held to commit,
 * makes sequences commit in order within an organization (callers append the event as their
 * transaction's last write, so the lock is held for one statement and the commit): once a client has seen sequence N,
 * every earlier event of its organization is committed, so `assignmentEventsSince(N)` never
 * skips one that commits late.
 */
export async function appendEvent(
  tx: Tx,
  pubsub: BatonPubSub,
  item: NewAssignmentEvent,
  now: Date,
  subjects: EventSubjects,
): Promise<AssignmentEvent> {
  // Read before taking the ordering lock, so the lock is held for the insert and the commit only.
  let chat = subjects.chat;
  if (!chat) {
    const [chatRow] = await tx.manager.query<Array<Record<string, unknown>>>(`SELECT * FROM chat_sessions WHERE id = $1`, [item.chatSessionId]);
    chat = fromRow(ChatSession, chatRow ?? {});
  }
  const [row] = await tx.manager.query<Array<{ sequence: string }>>(
    `WITH ordered AS (SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 0)))
     INSERT INTO assignment_events
       (organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
     SELECT $1::uuid, $2, $3::uuid, $4::uuid, $5::uuid, $6::uuid, $7::uuid, $8::uuid, $9::timestamptz FROM ordered
     RETURNING sequence`,
    [item.organizationId, item.type, item.requestId, item.trackingRecordId, item.chatSessionId, item.actorId, item.fromUserId, item.toUserId, now],
  );
  const event = Object.assign(new AssignmentEvent(), item, { sequence: String(row?.sequence), occurredAt: now });
  const message = { event, request: subjects.request, trackingRecord: subjects.trackingRecord, chat };
  tx.afterCommit(() => pubsub.publish("ASSIGNMENT_EVENT", message));
  return event;
}
