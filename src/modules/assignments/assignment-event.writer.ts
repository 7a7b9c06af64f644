import type { Tx } from "../../db/transaction";
import type { BatonPubSub } from "../../graphql/pubsub";
import { AssignmentEvent, type AssignmentEventType } from "./assignment-event.entity";

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

/** Appends the event row in the caller's transaction and publishes it, with its sequence, after commit. */
export async function appendEvent(tx: Tx, pubsub: BatonPubSub, item: NewAssignmentEvent, now: Date): Promise<AssignmentEvent> {
  const [row] = await tx.manager.query<Array<{ sequence: string }>>(
    `INSERT INTO assignment_events
       (organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING sequence`,
    [item.organizationId, item.type, item.requestId, item.trackingRecordId, item.chatSessionId, item.actorId, item.fromUserId, item.toUserId, now],
  );
  const event = Object.assign(new AssignmentEvent(), item, { sequence: String(row?.sequence), occurredAt: now });
  tx.afterCommit(() => pubsub.publish("ASSIGNMENT_EVENT", event));
  return event;
}
