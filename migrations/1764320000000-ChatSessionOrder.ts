import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Chat Sessions by latest customer message (issue #26): `chatSessions(orderBy: LATEST_CUSTOMER_MESSAGE)`
 * reads the organization's chats of a status in that order (chats never written to last), one index
 * range per page. The expression is the list's own (src/repositories/chat.repository.ts CHAT_LATEST_MESSAGE).
 */
export class ChatSessionOrder1764320000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX chat_sessions_org_status_last_message_idx
                     ON chat_sessions (organization_id, status, (coalesce(last_customer_message_at, '1970-01-01 00:00:00+00'::timestamptz)) DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX chat_sessions_org_status_last_message_idx`);
  }
}
