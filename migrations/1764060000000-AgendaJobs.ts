import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Agenda's Postgres backend table (the schema @agendajs/postgres-backend 3.0 creates), made here
 * so instances never race to create it on a fresh database; the backend runs with ensureSchema off.
 */
export class AgendaJobs1764060000000 implements MigrationInterface {
  name = "AgendaJobs1764060000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agenda_jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(255) NOT NULL,
        priority integer NOT NULL DEFAULT 0,
        next_run_at timestamptz,
        type varchar(10) NOT NULL DEFAULT 'normal' CHECK (type IN ('normal', 'single')),
        locked_at timestamptz,
        last_finished_at timestamptz,
        failed_at timestamptz,
        fail_count integer DEFAULT NULL,
        fail_reason text,
        repeat_timezone varchar(100),
        last_run_at timestamptz,
        repeat_interval varchar(255),
        data jsonb DEFAULT '{}'::jsonb,
        repeat_at varchar(255),
        disabled boolean DEFAULT false,
        progress real,
        fork boolean DEFAULT false,
        last_modified_by varchar(255),
        debounce_started_at timestamptz,
        start_date timestamptz,
        end_date timestamptz,
        skip_days jsonb,
        created_at timestamptz DEFAULT now(),
        updated_at timestamptz DEFAULT now()
      );
      CREATE INDEX agenda_jobs_find_and_lock_idx
        ON agenda_jobs (name, next_run_at, priority DESC, locked_at, disabled) WHERE disabled = false;
      CREATE UNIQUE INDEX agenda_jobs_single_job_idx ON agenda_jobs (name) WHERE type = 'single';
      CREATE INDEX agenda_jobs_locked_at_idx ON agenda_jobs (locked_at) WHERE locked_at IS NOT NULL;
      CREATE INDEX agenda_jobs_next_run_at_idx ON agenda_jobs (next_run_at) WHERE next_run_at IS NOT NULL;
      -- agenda.cancel({ data: { requestId } }) filters with data @> ...: after every accept/reject/withdraw.
      CREATE INDEX agenda_jobs_data_idx ON agenda_jobs USING gin (data jsonb_path_ops);

      CREATE OR REPLACE FUNCTION update_agenda_jobs_updated_at() RETURNS trigger AS $$
      BEGIN
        NEW.updated_at = now();
        RETURN NEW;
      END;
      $$ LANGUAGE plpgsql;
      CREATE TRIGGER agenda_jobs_updated_at_trigger BEFORE UPDATE ON agenda_jobs
        FOR EACH ROW EXECUTE FUNCTION update_agenda_jobs_updated_at();
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agenda_jobs; DROP FUNCTION update_agenda_jobs_updated_at();`);
  }
}
