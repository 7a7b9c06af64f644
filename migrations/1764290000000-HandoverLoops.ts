import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Loops (issue #24): a chat sent straight back to who handed it over (`ping_pong_minutes`), or
 * moved more than `max_handovers_per_chat_per_day` times in 24 h, is refused unless a manager
 * overrides; the rule overridden is kept on the tracking record. The rule's facts are a chat's
 * moves (an accepted handover, a direct move) by the time the chat moved: indexed for it.
 */
export class HandoverLoops1764290000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE assign_discuss_settings
                     ADD COLUMN max_handovers_per_chat_per_day integer NOT NULL DEFAULT 10,
                     ADD COLUMN ping_pong_minutes integer NOT NULL DEFAULT 30`);
    await q.query(`ALTER TABLE engagement_tracking_records ADD COLUMN overridden_rule text`);
    await q.query(`CREATE INDEX etr_chat_moves_idx ON engagement_tracking_records (chat_session_id, (coalesce(responded_at, requested_at)) DESC)
                    WHERE (kind = 'ASSIGN_REQUEST' AND status = 'ACCEPTED') OR kind = 'DIRECT_ASSIGN'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX etr_chat_moves_idx`);
    await q.query(`ALTER TABLE engagement_tracking_records DROP COLUMN overridden_rule`);
    await q.query(`ALTER TABLE assign_discuss_settings DROP COLUMN max_handovers_per_chat_per_day, DROP COLUMN ping_pong_minutes`);
  }
}
