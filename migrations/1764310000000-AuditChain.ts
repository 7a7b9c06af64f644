import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A verifiable log (issue #25): every assignment event carries `audit_record` (the RFC 8785 JCS
 * text of what it established), `previous_hash` (the hash of its organization's previous event;
 * 64 zeros for the first) and `hash` (lowercase hex SHA-256 of the record's UTF-8 bytes), so the
 * organization's events form one hash chain in commit order.
 *
 * The chain is computed by a trigger as each event is inserted, under the organization's lock
 * that every event append already holds (events.repository.ts): `baton_audit_link` (BEFORE
 * INSERT, per row) links the row to the organization's head and `baton_audit_head` (AFTER
 * INSERT, per statement) moves the head (`audit_heads`) to the statement's last event. The head
 * is read once per transaction and organization, FOR UPDATE in a fresh snapshot (it sees the
 * commit of whoever held the lock before), then carried in transaction-local settings from row
 * to row (`baton.audit_<organization>`: "sequence hash"; `baton.audit_moved`: the organizations
 * whose head the statement moves): a bulk of 10,000 events updates the head once, not 10,000
 * times. A head row, not the last event: deleting the newest events cannot hide, the next append
 * links to their hash. A writer that appends without the organization's lock and draws its
 * sequence before another's commit is refused (the trigger never links an event behind the head).
 *
 * `facts` (jsonb, flat: strings, integers and null) is written by each statement that appends
 * events: the status the request moved to, the owner before and after, the recipient, the
 * sender, the reason, the note, the hop, the kind and an overridden loop rule. Events older than
 * this migration get facts from their tracking records as they stand now (the owner before and
 * after from the record's from and to users) and are chained from their organization's first,
 * in sequence order.
 *
 * Checkpoints (`audit_checkpoints`) are signed with Ed25519; the public keys stay published in
 * `audit_keys` with the time each was active. `reporting.assignment_events` (and the tenant's
 * `bi` view over it, and the events CSV) gain `previous_hash` and `hash`, at the end.
 */
const BI_FILTER = `(v.organization_id IN (SELECT a.organization_id FROM reporting.bi_access a WHERE a.role_name = current_user)
        OR EXISTS (SELECT 1 FROM reporting.bi_access a JOIN pg_roles r ON r.rolname = a.role_name
                    WHERE a.organization_id IS NULL AND pg_has_role(current_user, r.oid, 'USAGE')))`;

export class AuditChain1764310000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- JCS (RFC 8785) of a flat object: members sorted by name (UTF-16 code units; ASCII names sort
      -- the same by byte), no whitespace, strings escaped as ECMAScript's JSON.stringify does (as
      -- to_json does: \\b \\f \\n \\r \\t, other controls as lowercase \\u00xx), integers as digits.
      CREATE FUNCTION baton_jcs_flat(v jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
      BEGIN
        RETURN '{' || coalesce((SELECT string_agg(to_json(key)::text || ':' ||
                                  CASE jsonb_typeof(value) WHEN 'string' THEN to_json(value #>> '{}')::text ELSE value::text END,
                                  ',' ORDER BY key COLLATE "C")
                                  FROM jsonb_each(v)), '') || '}';
      END
      $f$;

      -- The audit record of an event: the JCS text of its ten members (in JCS order). PL/pgSQL, not
      -- SQL: called once per event from the trigger, a SQL function would be planned on every call.
      CREATE FUNCTION baton_audit_record(org uuid, seq bigint, typ text, at timestamptz, actor uuid, chat uuid, req uuid,
                                         rec uuid, facts jsonb, prev text) RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $f$
      BEGIN
        RETURN '{"actorId":' || coalesce('"' || actor::text || '"', 'null')
            || ',"chatSessionId":"' || chat::text || '"'
            || ',"facts":' || baton_jcs_flat(facts)
            || ',"occurredAt":"' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"'
            || ',"organizationId":"' || org::text || '"'
            || ',"previousHash":"' || prev || '"'
            || ',"requestId":' || coalesce('"' || req::text || '"', 'null')
            || ',"sequence":"' || seq::text || '"'
            || ',"trackingRecordId":"' || rec::text || '"'
            || ',"type":' || to_json(typ)::text || '}';
      END
      $f$;

      CREATE TABLE audit_heads (
        organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
        sequence bigint NOT NULL DEFAULT 0,
        hash text NOT NULL DEFAULT repeat('0', 64)
      );

      ALTER TABLE assignment_events
        ADD COLUMN facts jsonb,
        ADD COLUMN previous_hash text,
        ADD COLUMN hash text,
        ADD COLUMN audit_record text;

      ALTER TABLE assignment_events DISABLE RULE assignment_events_no_update;

      UPDATE assignment_events e
         SET facts = jsonb_build_object(
               'hop', t.hop, 'kind', t.kind, 'note', t.note, 'overriddenRule', t.overridden_rule,
               'ownerBefore', t.from_user_id,
               'ownerAfter', CASE WHEN e.type = 'ASSIGNED' OR (e.type = 'ACCEPTED' AND t.kind = 'ASSIGN_REQUEST') THEN t.to_user_id ELSE t.from_user_id END,
               'reason', CASE WHEN e.type = 'DISCUSSION_ENDED' THEN t.end_reason
                              WHEN e.type IN ('REJECTED', 'WITHDRAWN', 'TIMED_OUT', 'CANCELLED') THEN t.reason END,
               'recipientId', t.to_user_id, 'senderId', t.initiated_by_id,
               'status', CASE e.type WHEN 'CREATED' THEN 'PENDING' WHEN 'DISCUSSION_ENDED' THEN 'ENDED' ELSE e.type END)
        FROM engagement_tracking_records t
       WHERE t.id = e.tracking_record_id;

      DO $do$
      DECLARE
        r record;
        org uuid;
        prev text;
        text_ text;
        h text;
      BEGIN
        FOR r IN SELECT * FROM assignment_events ORDER BY organization_id, sequence LOOP
          IF org IS DISTINCT FROM r.organization_id THEN
            org := r.organization_id;
            prev := repeat('0', 64);
          END IF;
          text_ := baton_audit_record(r.organization_id, r.sequence, r.type, r.occurred_at, r.actor_id, r.chat_session_id,
                                      r.request_id, r.tracking_record_id, r.facts, prev);
          h := encode(sha256(convert_to(text_, 'UTF8')), 'hex');
          UPDATE assignment_events SET previous_hash = prev, audit_record = text_, hash = h WHERE sequence = r.sequence;
          prev := h;
        END LOOP;
      END
      $do$;

      ALTER TABLE assignment_events ENABLE RULE assignment_events_no_update;

      INSERT INTO audit_heads (organization_id, sequence, hash)
      SELECT DISTINCT ON (organization_id) organization_id, sequence, hash
        FROM assignment_events ORDER BY organization_id, sequence DESC;

      ALTER TABLE assignment_events
        ALTER COLUMN facts SET NOT NULL,
        ALTER COLUMN previous_hash SET NOT NULL,
        ALTER COLUMN hash SET NOT NULL,
        ALTER COLUMN audit_record SET NOT NULL;

      CREATE FUNCTION baton_audit_link() RETURNS trigger LANGUAGE plpgsql AS $f$
      DECLARE
        slot text := 'baton.audit_' || replace(NEW.organization_id::text, '-', '');
        head text := current_setting(slot, true);
        head_sequence bigint;
        head_hash text;
      BEGIN
        IF head IS NULL OR head = '' THEN
          SELECT h.sequence, h.hash INTO head_sequence, head_hash FROM audit_heads h WHERE h.organization_id = NEW.organization_id FOR UPDATE;
          IF NOT FOUND THEN
            INSERT INTO audit_heads (organization_id) VALUES (NEW.organization_id) ON CONFLICT DO NOTHING;
            SELECT h.sequence, h.hash INTO head_sequence, head_hash FROM audit_heads h WHERE h.organization_id = NEW.organization_id FOR UPDATE;
          END IF;
        ELSE
          head_sequence := split_part(head, ' ', 1)::bigint;
          head_hash := split_part(head, ' ', 2);
        END IF;
        IF NEW.sequence <= head_sequence THEN
          RAISE EXCEPTION 'audit chain: event % would follow the head % of organization %', NEW.sequence, head_sequence, NEW.organization_id;
        END IF;
        NEW.previous_hash := head_hash;
        NEW.audit_record := baton_audit_record(NEW.organization_id, NEW.sequence, NEW.type, NEW.occurred_at, NEW.actor_id, NEW.chat_session_id,
                                               NEW.request_id, NEW.tracking_record_id, NEW.facts, head_hash);
        NEW.hash := encode(sha256(convert_to(NEW.audit_record, 'UTF8')), 'hex');
        PERFORM set_config(slot, NEW.sequence::text || ' ' || NEW.hash, true);
        -- The organizations whose head this statement moves (for baton_audit_head).
        IF position(NEW.organization_id::text IN coalesce(current_setting('baton.audit_moved', true), '')) = 0 THEN
          PERFORM set_config('baton.audit_moved', coalesce(current_setting('baton.audit_moved', true), '') || NEW.organization_id::text || ',', true);
        END IF;
        RETURN NEW;
      END
      $f$;

      -- At the end of each statement that appended events: each organization's head moves to its last
      -- event (kept row to row in the transaction's settings: no transition table, a cached plan).
      CREATE FUNCTION baton_audit_head() RETURNS trigger LANGUAGE plpgsql AS $f$
      DECLARE
        moved text := current_setting('baton.audit_moved', true);
        org text;
        head text;
      BEGIN
        IF moved IS NULL OR moved = '' THEN
          RETURN NULL;
        END IF;
        FOREACH org IN ARRAY string_to_array(rtrim(moved, ','), ',') LOOP
          head := current_setting('baton.audit_' || replace(org, '-', ''));
          UPDATE audit_heads SET sequence = split_part(head, ' ', 1)::bigint, hash = split_part(head, ' ', 2) WHERE organization_id = org::uuid;
        END LOOP;
        PERFORM set_config('baton.audit_moved', '', true);
        RETURN NULL;
      END
      $f$;

      CREATE TRIGGER assignment_events_audit_link BEFORE INSERT ON assignment_events
        FOR EACH ROW EXECUTE FUNCTION baton_audit_link();
      CREATE TRIGGER assignment_events_audit_head AFTER INSERT ON assignment_events
        FOR EACH STATEMENT EXECUTE FUNCTION baton_audit_head();

      CREATE TABLE audit_keys (
        key_id text PRIMARY KEY,
        public_key_pem text NOT NULL,
        active_from timestamptz(3) NOT NULL,
        active_until timestamptz(3)
      );

      CREATE TABLE audit_checkpoints (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        sequence bigint NOT NULL,
        hash text NOT NULL,
        signed_at timestamptz(3) NOT NULL,
        signature text NOT NULL,
        key_id text NOT NULL REFERENCES audit_keys (key_id),
        PRIMARY KEY (organization_id, sequence)
      );

      CREATE OR REPLACE VIEW reporting.assignment_events AS
      SELECT e.sequence,
             e.organization_id,
             o.name AS organization_name,
             e.type,
             e.occurred_at,
             e.request_id,
             e.tracking_record_id,
             e.chat_session_id,
             c.customer_name,
             e.actor_id,
             a.name AS actor_name,
             a.email AS actor_email,
             e.from_user_id,
             fu.name AS from_user_name,
             fu.email AS from_user_email,
             e.to_user_id,
             tu.name AS to_user_name,
             tu.email AS to_user_email,
             r.kind AS request_kind,
             (e.occurred_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::date AS occurred_local_date,
             (e.occurred_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::time(0) AS occurred_local_time,
             e.previous_hash,
             e.hash
        FROM assignment_events e
        JOIN organizations o ON o.id = e.organization_id
        JOIN chat_sessions c ON c.id = e.chat_session_id
        JOIN users fu ON fu.id = e.from_user_id
        JOIN users tu ON tu.id = e.to_user_id
        LEFT JOIN users a ON a.id = e.actor_id
        LEFT JOIN assignment_requests r ON r.id = e.request_id
        LEFT JOIN assign_discuss_settings st ON st.organization_id = e.organization_id;
      CREATE OR REPLACE VIEW bi.assignment_events WITH (security_barrier) AS
        SELECT v.* FROM reporting.assignment_events v WHERE ${BI_FILTER};
    `);
  }

  async down(): Promise<void> {
    throw new Error("AuditChain1764310000000 is not reversible here: the bi views would have to drop columns");
  }
}
