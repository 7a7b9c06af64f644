import { newestFirst } from "../db/keyset";
import { Conditions, type Sql, type Statement } from "../db/sql";
import type { Page, PageArgs } from "../kernel/page";
import { Notification } from "../modules/notifications/notification.entity";

const INSERT_MANY: Statement = {
  name: "notifications.insertMany",
  text: `INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::timestamptz[])`,
};
const MARK_READ: Statement = {
  name: "notifications.markRead",
  text: "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND id = ANY($2::uuid[]) AND read_at IS NULL RETURNING id",
};

const UNREAD: Statement = {
  name: "notifications.unread",
  text: "SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL",
};

export class NotificationRepository {
  constructor(private readonly db: Sql) {}

  /** Stores notifications (in the caller's transaction). */
  async insertMany(sql: Sql, rows: Notification[]): Promise<void> {
    if (rows.length === 0) return;
    await sql.rows(INSERT_MANY, [
      rows.map((r) => r.id),
      rows.map((r) => r.organizationId),
      rows.map((r) => r.userId),
      rows.map((r) => r.type),
      rows.map((r) => r.message),
      rows.map((r) => r.requestId),
      rows.map((r) => r.createdAt),
    ]);
  }

  list(userId: string, unreadOnly: boolean, page: PageArgs): Promise<Page<Notification>> {
    const where = new Conditions().and("t.user_id = ?", userId);
    if (unreadOnly) where.and("t.read_at IS NULL");
    return newestFirst(this.db, Notification, "notifications", where, page);
  }

  /** How many of the user's notifications are unread. */
  async unreadCount(userId: string): Promise<number> {
    const [row] = await this.db.rows<{ n: number }>(UNREAD, [userId]);
    return row?.n ?? 0;
  }

  /** Marks these of the user's notifications read; returns how many changed. */
  async markRead(userId: string, ids: string[]): Promise<number> {
    return (await this.db.rows(MARK_READ, [userId, ids])).length;
  }
}
