import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Availability: each user is AVAILABLE, BUSY or AWAY; the organization chooses whether requests
 * may go to AWAY users, and (for fallback chains) whether a rejection moves a chain on and
 * whether managers are the last resort.
 */
export class Availability1764120000000 implements MigrationInterface {
  name = "Availability1764120000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users ADD COLUMN availability text NOT NULL DEFAULT 'AVAILABLE' CHECK (availability IN ('AVAILABLE', 'BUSY', 'AWAY'));
      ALTER TABLE assign_discuss_settings
        ADD COLUMN fallback_on_reject boolean NOT NULL DEFAULT false,
        ADD COLUMN fallback_to_managers boolean NOT NULL DEFAULT false,
        ADD COLUMN require_available_recipient boolean NOT NULL DEFAULT false;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users DROP COLUMN availability;
      ALTER TABLE assign_discuss_settings DROP COLUMN fallback_on_reject, DROP COLUMN fallback_to_managers, DROP COLUMN require_available_recipient;
    `);
  }
}
