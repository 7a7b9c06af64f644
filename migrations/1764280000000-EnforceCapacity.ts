import type { MigrationInterface, QueryRunner } from "typeorm";

/** Capacity enforced (issue #24): with `enforce_capacity`, nobody is handed a chat beyond their limit. */
export class EnforceCapacity1764280000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE assign_discuss_settings ADD COLUMN enforce_capacity boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE assign_discuss_settings DROP COLUMN enforce_capacity`);
  }
}
