import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Event sequences are drawn at commit, not at insert. A transaction writes its events to
 * `assignment_event_outbox`; a deferred constraint trigger moves each row into
 * `assignment_events` as the transaction commits, after taking the organization's advisory lock.
 * Sequences therefore commit in order within an organization (catch-up never skips an event that
 * commits late), yet the lock is held only inside the commit, never across a client round trip.
 */
export class CommitOrderedEvents1764080000000 implements MigrationInterface {
  name = "CommitOrderedEvents1764080000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE assignment_events ADD COLUMN event_id uuid;
      CREATE UNIQUE INDEX assignment_events_event_id_uq ON assignment_events (event_id);

      -- Rows live only inside their transaction: unlogged, no foreign keys (the real row has them).
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

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE assignment_event_outbox;
      DROP FUNCTION assignment_event_outbox_flush();
      DROP INDEX assignment_events_event_id_uq;
      ALTER TABLE assignment_events DROP COLUMN event_id;
    `);
  }
}
