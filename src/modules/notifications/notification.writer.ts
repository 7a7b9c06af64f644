import { randomUUID } from "node:crypto";
import type { Tx } from "../../db/transaction";
import { type BatonPubSub, publishNotification } from "../../events/pubsub";
import { Notification, type NotificationType } from "./notification.entity";

export interface NewNotification {
  organizationId: string;
  userId: string;
  type: NotificationType;
  message: string;
  requestId: string | null;
}

/** Stores notifications inside the caller's transaction and pushes them live after commit. */
export async function writeNotifications(
  tx: Tx,
  pubsub: BatonPubSub,
  items: NewNotification[],
  now: Date,
): Promise<Notification[]> {
  if (items.length === 0) return [];
  const rows = items.map((item) => Object.assign(new Notification(), { id: randomUUID(), ...item, createdAt: now, readAt: null }));
  await tx.manager.query(
    `INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::timestamptz[])`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.organizationId),
      rows.map((r) => r.userId),
      rows.map((r) => r.type),
      rows.map((r) => r.message),
      rows.map((r) => r.requestId),
      rows.map(() => now),
    ],
  );
  tx.afterCommit(() => {
    for (const row of rows) publishNotification(pubsub, row);
  });
  return rows;
}
