import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * WhatsApp's reply window (issue #24). Settings: `reply_window_hours` (24; 0: the channel has
 * none) and `cap_deadline_at_reply_window` (true). A request keeps the window's end as it stood
 * when it was sent (`assignment_requests.reply_window_ends_at`, and on its tracking record).
 *
 * The rules a write carries out, once, as SQL functions both statements that open a request (a
 * person's, a chain's hop) call:
 * - `baton_reply_window_end(last customer message, hours)`: when free text stops being allowed
 *   (null: no message yet, or no window);
 * - `baton_deadline(at, timeout seconds, window end, cap)`: the timeout, or with the cap and an
 *   open window the earlier of it and the window's end, never under 5 s (a window already closed
 *   does not shorten it: the request is allowed, and says so);
 * - `baton_window_note(window end, at)`: what the recipient's notification adds, when it matters
 *   to answering: " (reply window closes in 12 min)" within the next 2 hours, " (reply window
 *   closed: templates only)" after it; nothing otherwise.
 */
export class ReplyWindow1764260000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE assign_discuss_settings
        ADD COLUMN reply_window_hours integer NOT NULL DEFAULT 24 CHECK (reply_window_hours BETWEEN 0 AND 168),
        ADD COLUMN cap_deadline_at_reply_window boolean NOT NULL DEFAULT true;
      ALTER TABLE assignment_requests ADD COLUMN reply_window_ends_at timestamptz(3);
      ALTER TABLE engagement_tracking_records ADD COLUMN reply_window_ends_at timestamptz(3);

      CREATE FUNCTION baton_reply_window_end(last_message timestamptz, hours integer) RETURNS timestamptz
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT CASE WHEN hours > 0 AND last_message IS NOT NULL THEN last_message + hours * interval '1 hour' END $$;

      CREATE FUNCTION baton_deadline(at timestamptz, timeout_seconds integer, window_end timestamptz, cap boolean) RETURNS timestamptz
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT at + (CASE WHEN cap AND window_end > at
                                 THEN greatest(5, least(timeout_seconds, extract(epoch FROM window_end - at)))
                                 ELSE timeout_seconds END)::float8 * interval '1 second' $$;

      CREATE FUNCTION baton_window_note(window_end timestamptz, at timestamptz) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT CASE
                 WHEN window_end IS NULL OR window_end > at + interval '2 hours' THEN ''
                 WHEN window_end <= at THEN ' (reply window closed: templates only)'
                 ELSE ' (reply window closes in ' ||
                      CASE WHEN window_end - at < interval '1 hour'
                           THEN greatest(1, floor(extract(epoch FROM window_end - at) / 60))::int || ' min'
                           ELSE floor(extract(epoch FROM window_end - at) / 3600)::int || ' h ' ||
                                floor(mod(extract(epoch FROM window_end - at)::numeric, 3600) / 60)::int || ' min' END || ')'
               END $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP FUNCTION baton_window_note(timestamptz, timestamptz);
      DROP FUNCTION baton_deadline(timestamptz, integer, timestamptz, boolean);
      DROP FUNCTION baton_reply_window_end(timestamptz, integer);
      ALTER TABLE engagement_tracking_records DROP COLUMN reply_window_ends_at;
      ALTER TABLE assignment_requests DROP COLUMN reply_window_ends_at;
      ALTER TABLE assign_discuss_settings DROP COLUMN cap_deadline_at_reply_window, DROP COLUMN reply_window_hours;
    `);
  }
}
