import { newestFirst } from "../db/keyset";
import { fromJson, fromRow } from "../db/hydrate";
import { Conditions, type Sql, type Statement } from "../db/sql";
import type { Page, PageArgs } from "../kernel/page";
import { Notification } from "../modules/notifications/notification.entity";
import { WebhookDelivery, type WebhookDeliveryStatus } from "../modules/webhooks/webhook-delivery.entity";

/** ISO 8601 in UTC with milliseconds and Z, as the API writes times. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const person = (id: string) => `(SELECT json_build_object('id', u.id, 'name', u.name, 'email', u.email) FROM users u WHERE u.id = ${id})`;
/** A request's or record's status as of the event: what the event moved it to (CREATED: still pending). */
const statusAsOfEvent = (current: string) =>
  `CASE e.type WHEN 'CREATED' THEN 'PENDING' WHEN 'DISCUSSION_ENDED' THEN ${current} WHEN 'ASSIGNED' THEN ${current} ELSE e.type END`;

/**
 * The body of the message for the event whose sequence is `sequence` (the Standard Webhooks
 * shape: type, timestamp, data), from the event and the rows it is about. The event's own facts
 * (type, parties, actor, time, the status it moved the request to) are exact; the chat is as it
 * stands when the body is prepared: at the first claim of one of its deliveries, normally
 * milliseconds after the commit. Kept in webhook_payloads: every endpoint's message of the event,
 * and every attempt, sends the same body.
 */
const payloadOf = (sequence: string) => `(
  SELECT json_build_object(
    'type', 'handover.' || lower(e.type),
    'timestamp', ${iso("e.occurred_at")},
    'data', json_build_object(
      'sequence', e.sequence::text,
      'type', e.type,
      'occurredAt', ${iso("e.occurred_at")},
      'organizationId', e.organization_id,
      'actor', ${person("e.actor_id")},
      'fromUser', ${person("e.from_user_id")},
      'toUser', ${person("e.to_user_id")},
      'chat', (SELECT json_build_object('id', c.id, 'ownerId', c.owner_id, 'status', c.status, 'channel', c.channel,
                                        'customerName', c.customer_name, 'customerPhone', c.customer_phone)
                 FROM chat_sessions c WHERE c.id = e.chat_session_id),
      'request', (SELECT json_build_object('id', r.id, 'kind', r.kind, 'status', ${statusAsOfEvent("r.status")},
                                           'sender', ${person("r.sender_id")}, 'recipient', ${person("r.recipient_id")},
                                           'recipientType', r.recipient_type, 'note', r.note, 'reason', r.reason, 'hop', r.hop,
                                           'createdAt', ${iso("r.created_at")}, 'expiresAt', ${iso("r.expires_at")},
                                           'respondedAt', CASE WHEN e.type = 'CREATED' THEN NULL ELSE ${iso("r.responded_at")} END)
                    FROM assignment_requests r WHERE r.id = e.request_id),
      'trackingRecord', (SELECT json_build_object('id', t.id, 'kind', t.kind, 'status', ${statusAsOfEvent("t.status")},
                                                  'fromUserId', t.from_user_id, 'toUserId', t.to_user_id, 'initiatedById', t.initiated_by_id,
                                                  'reason', t.reason, 'requestedAt', ${iso("t.requested_at")},
                                                  'respondedAt', CASE WHEN e.type = 'CREATED' THEN NULL ELSE ${iso("t.responded_at")} END,
                                                  'responseSeconds', CASE WHEN e.type = 'CREATED' THEN NULL ELSE t.response_seconds END)
                           FROM engagement_tracking_records t WHERE t.id = e.tracking_record_id)
    ))::text
    FROM assignment_events e WHERE e.sequence = ${sequence})`;

/**
 * Claims deliveries to send now, as runs: for each (endpoint, chat) whose earliest pending
 * delivery (its head) is due, not held by a live lease and of an enabled endpoint, the head and up
 * to `$8 - 1` deliveries that follow it in sequence order with nothing between them that is not
 * yet due or still leased. A run is sent one message after another by one worker, so a chat's
 * order holds without a claim between two of its messages (a failing delivery holds back its
 * chat's later ones, not other chats'). At most `$4` runs are held per endpoint across every
 * instance: a run is one request at a time. Rows another instance is claiming are skipped (SKIP
 * LOCKED), and a row claimed is leased until `$2`: two instances never send the same attempt at
 * once. The body is prepared at the first claim of any of the event's deliveries. The claim's
 * update changes no indexed column (a heap-only tuple when the page has room).
 */
const CLAIM: Statement = {
  name: "webhookDeliveries.claim",
  // The heads: the first pending delivery of each (endpoint, chat), found by skipping through
  // webhook_deliveries_heads_idx one (endpoint, chat) at a time (a "loose index scan"), so the
  // cost follows the number of chats waiting, not the backlog. Heads are then locked by id (SKIP
  // LOCKED) and re-checked; a locked head's run is taken by this statement alone (every other
  // claimer skips the head). The same statement first records the 2xx answers since the last
  // claim ($5..$7: id, when, status), and counts them as done already.
  text: `WITH RECURSIVE recorded AS (
           UPDATE webhook_deliveries w
              SET status = 'DELIVERED', delivered_at = x.at, lease_until = NULL, next_attempt_at = NULL, last_response_status = x.status, last_error = NULL
             FROM unnest($5::uuid[], $6::timestamptz[], $7::int[]) AS x(id, at, status)
            WHERE w.id = x.id AND w.status = 'PENDING' RETURNING w.endpoint_id),
         recovered AS (
           UPDATE webhook_endpoints w SET failing_since = NULL WHERE w.id IN (SELECT endpoint_id FROM recorded) AND w.failing_since IS NOT NULL RETURNING 1),
         heads AS (
           (SELECT endpoint_id, chat_session_id, id, next_attempt_at, lease_until FROM webhook_deliveries
             WHERE status = 'PENDING' AND id <> ALL ($5) ORDER BY endpoint_id, chat_session_id, event_sequence LIMIT 1)
           UNION ALL
           SELECT n.* FROM heads h, LATERAL (
             SELECT d.endpoint_id, d.chat_session_id, d.id, d.next_attempt_at, d.lease_until FROM webhook_deliveries d
              WHERE d.status = 'PENDING' AND (d.endpoint_id, d.chat_session_id) > (h.endpoint_id, h.chat_session_id) AND d.id <> ALL ($5)
              ORDER BY d.endpoint_id, d.chat_session_id, d.event_sequence LIMIT 1) n),
         -- A run starts at its chat's head and holds it until its end: an endpoint's runs in flight
         -- (on any instance) are its heads under a live lease.
         busy AS (
           SELECT endpoint_id, count(*)::int AS n FROM heads WHERE lease_until > $1 GROUP BY endpoint_id),
         cand AS (
           SELECT d.id, d.endpoint_id, d.chat_session_id, d.next_attempt_at, d.event_sequence
             FROM webhook_deliveries d
             JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
            WHERE d.id = ANY (ARRAY(SELECT h.id FROM heads h WHERE h.next_attempt_at <= $1 AND (h.lease_until IS NULL OR h.lease_until <= $1)))
              AND d.status = 'PENDING' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
            ORDER BY d.next_attempt_at, d.event_sequence
            LIMIT $3 * 4
            FOR UPDATE OF d SKIP LOCKED),
         picked AS (
           SELECT r.id, r.endpoint_id, r.chat_session_id, r.event_sequence FROM (
             SELECT c.*, row_number() OVER (PARTITION BY c.endpoint_id ORDER BY c.next_attempt_at, c.event_sequence) AS rn FROM cand c) r
             LEFT JOIN busy b ON b.endpoint_id = r.endpoint_id
            WHERE r.rn <= $4 - coalesce(b.n, 0)
            ORDER BY r.next_attempt_at, r.event_sequence
            LIMIT $3),
         runs AS (
           SELECT p.id FROM picked p
           UNION ALL
           SELECT f.id FROM picked p, LATERAL (
             SELECT s.id, bool_and(s.ready) OVER (ORDER BY s.event_sequence) AS unbroken FROM (
               SELECT d.id, d.event_sequence, (d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)) AS ready
                 FROM webhook_deliveries d
                WHERE d.endpoint_id = p.endpoint_id AND d.chat_session_id = p.chat_session_id AND d.status = 'PENDING'
                  AND d.event_sequence > p.event_sequence
                ORDER BY d.event_sequence LIMIT $8 - 1) s) f
            WHERE f.unbroken),
         claimed AS (
           UPDATE webhook_deliveries d
              SET lease_until = $2, attempts = d.attempts + 1
             FROM runs WHERE d.id = runs.id AND d.status = 'PENDING'
           RETURNING d.*),
         -- Bodies not prepared yet. Another claimer preparing the same one at once: the conflict
         -- waits for it and returns its row (an update to itself), so every claimed row has a body.
         bodies AS (
           INSERT INTO webhook_payloads (event_sequence, body)
           SELECT s.event_sequence, ${payloadOf("s.event_sequence")}
             FROM (SELECT DISTINCT c.event_sequence FROM claimed c) s
            WHERE NOT EXISTS (SELECT 1 FROM webhook_payloads p WHERE p.event_sequence = s.event_sequence)
           ON CONFLICT (event_sequence) DO UPDATE SET body = webhook_payloads.body
           RETURNING event_sequence, body)
       SELECT c.*, coalesce(b.body, p.body) AS payload, w.url, w.secret, w.previous_secret, w.previous_secret_until
         FROM claimed c JOIN webhook_endpoints w ON w.id = c.endpoint_id
         LEFT JOIN bodies b ON b.event_sequence = c.event_sequence
         LEFT JOIN webhook_payloads p ON p.event_sequence = c.event_sequence
        WHERE (SELECT count(*) FROM recovered) >= 0
        ORDER BY c.endpoint_id, c.chat_session_id, c.event_sequence`,
};

/** Gives back the unsent rest of a run (after a failure, or a lease too short to send it): its attempt was not made. */
const RELEASE: Statement = {
  name: "webhookDeliveries.release",
  text: `UPDATE webhook_deliveries SET lease_until = NULL, attempts = greatest(attempts - 1, 0)
          WHERE id = ANY ($1::uuid[]) AND status = 'PENDING' AND lease_until = $2`,
};

/** An attempt failed: due again at $5, or FAILED when $5 is null; the endpoint is failing since its first such attempt. */
const ATTEMPT_FAILED: Statement = {
  name: "webhookDeliveries.attemptFailed",
  text: `WITH d AS (
           UPDATE webhook_deliveries
              SET status = CASE WHEN $5::timestamptz IS NULL THEN 'FAILED' ELSE 'PENDING' END,
                  next_attempt_at = $5, lease_until = NULL, last_response_status = $3, last_error = $4
            WHERE id = $1 AND status = 'PENDING' RETURNING endpoint_id)
         UPDATE webhook_endpoints w SET failing_since = coalesce(w.failing_since, $2)
           FROM d WHERE w.id = d.endpoint_id
         RETURNING w.id, w.organization_id, w.enabled, w.failing_since`,
};

/** Disables an endpoint failing since before `$3` and tells its organization's admins, in one statement. */
const DISABLE: Statement = {
  name: "webhookEndpoints.disableFailing",
  text: `WITH w AS (
           UPDATE webhook_endpoints SET enabled = false, disabled_reason = $4, updated_at = $2
            WHERE id = $1 AND enabled AND failing_since <= $3 RETURNING id, organization_id),
         told AS (
           INSERT INTO notifications (id, organization_id, user_id, type, message, request_id, created_at)
           SELECT gen_random_uuid(), w.organization_id, u.id, 'WEBHOOK_ENDPOINT_DISABLED', $5, NULL, $2
             FROM w JOIN users u ON u.organization_id = w.organization_id AND u.role = 'ADMIN' AND u.active
           RETURNING *)
       SELECT w.id, (SELECT coalesce(json_agg(to_json(t)), '[]') FROM told t) AS notifications FROM w`,
};

const REDELIVER: Statement = {
  name: "webhookDeliveries.redeliver",
  text: `WITH ep AS (SELECT id, organization_id, event_types FROM webhook_endpoints WHERE id = $1 AND organization_id = $2),
         again AS (
           UPDATE webhook_deliveries d
              SET status = 'PENDING', attempts = 0, next_attempt_at = $4, last_error = NULL, last_response_status = NULL, delivered_at = NULL
             FROM ep
            WHERE d.endpoint_id = ep.id AND d.event_sequence > $3
              AND (d.status <> 'PENDING' OR d.lease_until IS NULL OR d.lease_until <= $4)
           RETURNING 1),
         added AS (
           INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, event_sequence, event_type, chat_session_id, next_attempt_at, created_at)
           SELECT gen_random_uuid(), e.organization_id, ep.id, e.sequence, e.type, e.chat_session_id, $4, $4
             FROM ep JOIN assignment_events e ON e.organization_id = ep.organization_id AND e.sequence > $3
            WHERE (cardinality(ep.event_types) = 0 OR e.type = ANY (ep.event_types))
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.endpoint_id = ep.id AND x.event_sequence = e.sequence)
            ORDER BY e.sequence
           ON CONFLICT (endpoint_id, event_sequence) DO NOTHING
           RETURNING 1)
       SELECT (SELECT count(*) FROM ep)::int AS found, ((SELECT count(*) FROM again) + (SELECT count(*) FROM added))::int AS queued`,
};

const ORGANIZATIONS_WITH_ENDPOINTS: Statement = {
  name: "webhookEndpoints.organizations",
  text: "SELECT DISTINCT organization_id FROM webhook_endpoints WHERE enabled",
};

const QUEUE_DEPTH: Statement = {
  name: "webhookDeliveries.queueDepth",
  text: "SELECT endpoint_id, count(*)::int AS n FROM webhook_deliveries WHERE status = 'PENDING' GROUP BY endpoint_id",
};

/** A claimed delivery with where it goes and the (possibly sealed) secrets that sign it. */
export interface ClaimedDelivery {
  delivery: WebhookDelivery;
  /** The message's body (JSON text). */
  payload: string;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: Date | null;
}

/** Webhook deliveries: written by the event statements (events.repository.ts), sent by the dispatcher. */
export class WebhookDeliveryRepository {
  constructor(private readonly db: Sql) {}

  /**
   * Records `answered` (2xx answers) as DELIVERED, then claims what may be sent now: at most
   * `limit` runs of at most `runLength` deliveries each, each run one endpoint's and chat's in
   * sequence order (the rows come grouped so, runs one after another).
   */
  async claim(
    now: Date,
    leaseUntil: Date,
    limit: number,
    maxPerEndpoint: number,
    answered: ReadonlyArray<{ id: string; at: Date; status: number }> = [],
    runLength = 1,
  ): Promise<ClaimedDelivery[]> {
    const rows = await this.db.rows<Record<string, unknown>>(CLAIM, [
      now,
      leaseUntil,
      limit,
      maxPerEndpoint,
      answered.map((a) => a.id),
      answered.map((a) => a.at),
      answered.map((a) => a.status),
      Math.max(1, runLength),
    ]);
    return rows.map((r) => ({
      delivery: Object.assign(fromRow(WebhookDelivery, r), { eventSequence: String(r.event_sequence) }),
      payload: r.payload as string,
      url: r.url as string,
      secret: r.secret as string,
      previousSecret: (r.previous_secret as string | null) ?? null,
      previousSecretUntil: (r.previous_secret_until as Date | null) ?? null,
    }));
  }


  /** Gives back claimed deliveries that were not sent (their lease was `leaseUntil`). */
  async release(ids: readonly string[], leaseUntil: Date): Promise<void> {
    if (ids.length > 0) await this.db.rows(RELEASE, [ids, leaseUntil]);
  }

  /** Records a failed attempt; returns the endpoint's state (null: the delivery was no longer pending). */
  async attemptFailed(
    id: string,
    now: Date,
    status: number | null,
    error: string,
    nextAttemptAt: Date | null,
  ): Promise<{ endpointId: string; organizationId: string; enabled: boolean; failingSince: Date } | null> {
    const [row] = await this.db.rows<{ id: string; organization_id: string; enabled: boolean; failing_since: Date }>(ATTEMPT_FAILED, [
      id,
      now,
      status,
      error,
      nextAttemptAt,
    ]);
    return row ? { endpointId: row.id, organizationId: row.organization_id, enabled: row.enabled, failingSince: row.failing_since } : null;
  }

  /** Disables the endpoint if it has been failing since before `failingBefore`; returns the admins' notifications (null: not disabled). */
  async disableFailing(endpointId: string, now: Date, failingBefore: Date, reason: string, message: string): Promise<Notification[] | null> {
    const [row] = await this.db.rows<{ notifications: Array<Record<string, unknown>> }>(DISABLE, [endpointId, now, failingBefore, reason, message]);
    return row ? row.notifications.map((n) => fromJson(Notification, n)) : null;
  }

  /** Queues again every delivery of the endpoint after `afterSequence`, and writes those missing (events while it was disabled or filtered). */
  async redeliver(organizationId: string, endpointId: string, afterSequence: string, now: Date): Promise<number | null> {
    const [row] = await this.db.rows<{ found: number; queued: number }>(REDELIVER, [endpointId, organizationId, afterSequence, now]);
    return row && row.found > 0 ? row.queued : null;
  }

  list(organizationId: string, endpointId: string, status: WebhookDeliveryStatus | null, page: PageArgs): Promise<Page<WebhookDelivery>> {
    const where = new Conditions().and("t.organization_id = ?", organizationId).and("t.endpoint_id = ?", endpointId);
    if (status) where.and("t.status = ?", status);
    return newestFirst(this.db, WebhookDelivery, "webhook_deliveries", where, page);
  }

  async organizationsWithEndpoints(): Promise<Set<string>> {
    return new Set((await this.db.rows<{ organization_id: string }>(ORGANIZATIONS_WITH_ENDPOINTS)).map((r) => r.organization_id));
  }

  async queueDepth(): Promise<Map<string, number>> {
    return new Map((await this.db.rows<{ endpoint_id: string; n: number }>(QUEUE_DEPTH)).map((r) => [r.endpoint_id, r.n]));
  }
}
