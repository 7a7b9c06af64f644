import { randomUUID } from "node:crypto";
import type { Tx } from "../../db/transaction";
import { fromRow } from "../../db/hydrate";
import { type BatonPubSub, publishAssignmentEvent } from "../../graphql/pubsub";
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
 * Writes the event in the caller's transaction and publishes it, with its sequence, after commit.
 *
 * The row goes to `assignment_event_outbox`; as the transaction commits, a deferred trigger takes
 * the organization's advisory lock and moves it into `assignment_events`, drawing the sequence
 * there (see the CommitOrderedEvents migration). So sequences commit in order within an
 * organization: once a client has seen sequence N, every earlier event of its organization is
 * committed, and `assignmentEventsSince(N)` never skips one that commits late. The lock is held
 * only inside the commit, never across a round trip to this process.
 */
export async function appendEvent(
  tx: Tx,
  pubsub: BatonPubSub,
  item: NewAssignmentEvent,
  now: Date,
  subjects: EventSubjects,
): Promise<AssignmentEvent> {
  let chat = subjects.chat;
  if (!chat) {
    const [chatRow] = await tx.manager.query<Array<Record<string, unknown>>>(`SELECT * FROM chat_sessions WHERE id = $1`, [item.chatSessionId]);
    chat = fromRow(ChatSession, chatRow ?? {});
  }
  const eventId = randomUUID();
  await tx.manager.query(
    `INSERT INTO assignment_event_outbox
       (event_id, organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [eventId, item.organizationId, item.type, item.requestId, item.trackingRecordId, item.chatSessionId, item.actorId, item.fromUserId, item.toUserId, now],
  );
  const event = Object.assign(new AssignmentEvent(), item, { sequence: "", occurredAt: now });
  const dataSource = tx.manager.dataSource;
  const committedChat = chat;
  tx.afterCommit(async () => {
    const [row] = await dataSource.query<Array<{ sequence: string }>>(`SELECT sequence FROM assignment_events WHERE event_id = $1`, [eventId]);
    event.sequence = String(row?.sequence);
    publishAssignmentEvent(pubsub, { event, request: subjects.request, trackingRecord: subjects.trackingRecord, chat: committedChat });
  });
  return event;
}
