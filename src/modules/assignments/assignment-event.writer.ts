import { randomUUID } from "node:crypto";
import type { Tx } from "../../db/transaction";
import { fromRow } from "../../db/hydrate";
import { type BatonPubSub, publishAssignmentEvent } from "../../events/pubsub";
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
  const [event] = await appendEvents(tx, pubsub, [{ item, subjects }], now);
  return event;
}

/** `appendEvent` for many events at once: one statement for the chats it must read, one insert. */
export async function appendEvents(
  tx: Tx,
  pubsub: BatonPubSub,
  entries: ReadonlyArray<{ item: NewAssignmentEvent; subjects: EventSubjects }>,
  now: Date,
): Promise<AssignmentEvent[]> {
  if (entries.length === 0) return [];
  const unread = [...new Set(entries.filter((e) => !e.subjects.chat).map((e) => e.item.chatSessionId))];
  const chats = new Map<string, ChatSession>();
  if (unread.length > 0) {
    const rows = await tx.manager.query<Array<Record<string, unknown>>>(`SELECT * FROM chat_sessions WHERE id = ANY($1::uuid[])`, [unread]);
    for (const row of rows) chats.set(row.id as string, fromRow(ChatSession, row));
  }
  const items = entries.map((e) => e.item);
  const eventIds = items.map(() => randomUUID());
  await tx.manager.query(
    `INSERT INTO assignment_event_outbox
       (event_id, organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
     SELECT *, $10::timestamptz FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[], $8::uuid[], $9::uuid[])`,
    [
      eventIds,
      items.map((i) => i.organizationId),
      items.map((i) => i.type),
      items.map((i) => i.requestId),
      items.map((i) => i.trackingRecordId),
      items.map((i) => i.chatSessionId),
      items.map((i) => i.actorId),
      items.map((i) => i.fromUserId),
      items.map((i) => i.toUserId),
      now,
    ],
  );
  const events = items.map((item) => Object.assign(new AssignmentEvent(), item, { sequence: "", occurredAt: now }));
  const dataSource = tx.manager.dataSource;
  tx.afterCommit(async () => {
    // Sequences are drawn at commit (see above): read them back, then publish in sequence order.
    const rows = await dataSource.query<Array<{ event_id: string; sequence: string }>>(
      `SELECT event_id, sequence FROM assignment_events WHERE event_id = ANY($1::uuid[])`,
      [eventIds],
    );
    const sequenceOf = new Map(rows.map((r) => [r.event_id, String(r.sequence)]));
    const order = events.map((event, i) => ({ event, i }));
    for (const { event, i } of order) event.sequence = sequenceOf.get(eventIds[i]) ?? "";
    order.sort((a, b) => (BigInt(a.event.sequence || 0) < BigInt(b.event.sequence || 0) ? -1 : 1));
    for (const { event, i } of order) {
      const { subjects, item } = entries[i];
      const chat = subjects.chat ?? chats.get(item.chatSessionId) ?? fromRow(ChatSession, {});
      publishAssignmentEvent(pubsub, { event, request: subjects.request, trackingRecord: subjects.trackingRecord, chat });
    }
  });
  return events;
}
