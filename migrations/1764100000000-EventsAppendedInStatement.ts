import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Events are appended by the statement that writes their transition, which takes the
 * organization's advisory lock itself and draws the sequences (src/repositories/events.repository.ts).
 * Each of the engine's transitions is one statement, committed on its own, so the lock is still
 * held only while Postgres runs and commits it, and the sequence comes back with the statement
 * instead of being read back after commit. The outbox and its deferred trigger go.
 */
export class EventsAppendedInStatement1764100000000 implements MigrationInterface {
  name = "EventsAppendedInStatement1764100000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE assignment_event_outbox;
      DROP FUNCTION assignment_event_outbox_flush();
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE assignment_event_outbox (
        event_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        type text NOT NULL,
        request_id uuid,
        tracking_record_id uuid NOT NULL,
        chat_session_id uuid NOT NULL,
        actor_id uuid,
        from_user_id uuid NOT NULL,
        to_user_id uuid NOT NULL,
        occurred_at timestamptz(3) NOT NULL
      );
      CREATE FUNCTION assignment_event_outbox_flush() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(NEW.organization_id::text, 0));
        INSERT INTO assignment_events
          (event_id, organization_id, type, request_id, tracking_record_id, chat_session_id, actor_id, from_user_id, to_user_id, occurred_at)
        VALUES
          (NEW.event_id, NEW.organization_id, NEW.type, NEW.request_id, NEW.tracking_record_id, NEW.chat_session_id,
           NEW.actor_id, NEW.from_user_id, NEW.to_user_id, NEW.occurred_at);
        DELETE FROM assignment_event_outbox WHERE event_id = NEW.event_id;
        RETURN NULL;
      END;
      $$ LANGUAGE plpgsql;
      CREATE CONSTRAINT TRIGGER assignment_event_outbox_flush
        AFTER INSERT ON assignment_event_outbox
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION assignment_event_outbox_flush();
    `);
  }
}
