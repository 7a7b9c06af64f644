import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Timeout jobs are found by their request id (`data->>'requestId'`): cancelled many at once when
 * requests settle, one statement whatever their number. The GIN index over all of `data` that
 * `agenda.cancel({ data })` used is no longer queried, and cost a write on every job update.
 */
export class TimeoutJobsByRequest1764090000000 implements MigrationInterface {
  name = "TimeoutJobsByRequest1764090000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX agenda_jobs_timeout_request_idx ON agenda_jobs ((data->>'requestId'))
        WHERE name = 'assignment-request-timeout';
      DROP INDEX agenda_jobs_data_idx;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX agenda_jobs_data_idx ON agenda_jobs USING gin (data jsonb_path_ops);
      DROP INDEX agenda_jobs_timeout_request_idx;
    `);
  }
}
