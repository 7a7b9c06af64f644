import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Capacity (issue #24): how many open chats a user may hold. `users.max_open_chats` is the
 * user's own limit (null: the organization's default; 0: no limit for this user) and
 * `assign_discuss_settings.default_max_open_chats` the organization's default (0: no limit).
 * For now capacity ranks suggestions; refusing a handover over capacity comes with
 * `enforceCapacity`.
 */
export class Capacity1764250000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users ADD COLUMN max_open_chats integer CHECK (max_open_chats BETWEEN 0 AND 10000);
      ALTER TABLE assign_discuss_settings ADD COLUMN default_max_open_chats integer NOT NULL DEFAULT 0
        CHECK (default_max_open_chats BETWEEN 0 AND 10000);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE assign_discuss_settings DROP COLUMN default_max_open_chats;
      ALTER TABLE users DROP COLUMN max_open_chats;
    `);
  }
}
