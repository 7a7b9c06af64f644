import type { Sql, Statement } from "../db/sql";
import { receivingWhere } from "./handover.repository";
import { RequestStatus } from "../modules/assignments/assignment-request.entity";
import { TrackingStatus, type TrackingKind } from "../modules/tracking/engagement-tracking-record.entity";
import type { Availability } from "../modules/users/user.entity";

/**
 * Who may receive the chat now, by the receiving rule's guard (src/engine/rules.ts
 * receivingGuard), as the statement that opens a request applies it: active, of the roles the
 * recipient type reaches (`$3`), not the chat's owner, not the sender (`$4`), not AWAY when the
 * organization (or the guard, `$5`) refuses AWAY recipients: `receivingWhere`, as opening a request
 * applies it. Both statements below select by it.
 */
const receiving = (capacity: string) => receivingWhere({
  organizationId: "$1",
  roles: "$3",
  notIds: "$4",
  ownerId: "(SELECT c.owner_id FROM chat_sessions c WHERE c.id = $2 AND c.organization_id = $1)",
  awayRefused: "$5",
  requireAvailable: "coalesce((SELECT s.require_available_recipient FROM assign_discuss_settings s WHERE s.organization_id = $1), false)",
  capacity,
});

/** The receivers' ids: presence is asked about them next. */
const RECEIVERS: Statement = { name: "suggestions.receivers", text: `SELECT u.id FROM users u WHERE ${receiving("$6::boolean")}` };

/**
 * The ranking, written once (README, "Who should take it"): each receiver's facts (open chats,
 * capacity, requests waiting, the sender's (`$11`) requests of the kinds asked since `$7`, online when
 * among `$6`) and the documented score with the weights `$10` (online, availability, room, queue,
 * acceptance, speed: src/engine/suggest.ts SUGGESTION_WEIGHT_LIST), in double precision as
 * JavaScript computes it, rounded to 4 decimals; best first, ties by name then id; the first `$9`.
 * Every per-person count is grouped once for the organization and hash-joined (no list of ids
 * is searched per row).
 */
const RANKED: Statement = {
  name: "suggestions.ranked",
  text: `WITH cand AS (
           SELECT u.id, u.name, u.availability, u.max_open_chats,
                  coalesce(u.max_open_chats, (SELECT s.default_max_open_chats FROM assign_discuss_settings s WHERE s.organization_id = $1), 0) AS lim,
                  o.id IS NOT NULL AS online
             FROM users u LEFT JOIN (SELECT DISTINCT x AS id FROM unnest($6::uuid[]) x) o ON o.id = u.id
            WHERE ${receiving("$13::boolean")}),
         open AS (SELECT owner_id AS id, count(*)::int AS n FROM chat_sessions
                   WHERE organization_id = $1 AND status = 'OPEN' GROUP BY owner_id),
         pending AS (SELECT recipient_id AS id, count(*)::int AS n FROM assignment_requests
                      WHERE organization_id = $1 AND status = '${RequestStatus.PENDING}' GROUP BY recipient_id),
         history AS (
           SELECT to_user_id AS id,
                  count(*) FILTER (WHERE status = '${TrackingStatus.ACCEPTED}')::int AS accepted,
                  count(*) FILTER (WHERE status IN ('${TrackingStatus.ACCEPTED}', '${TrackingStatus.REJECTED}', '${TrackingStatus.TIMED_OUT}'))::int AS decided,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds) FILTER (WHERE status = '${TrackingStatus.ACCEPTED}') AS median
             FROM engagement_tracking_records
            WHERE initiated_by_id = $11 AND organization_id = $1 AND created_at >= $7 AND kind = ANY($8::text[]) AND to_user_id IS NOT NULL
            GROUP BY to_user_id),
         facts AS (
           SELECT c.*, coalesce(o.n, 0) AS open_chats, coalesce(p.n, 0) AS pending_incoming,
                  coalesce(h.accepted, 0) AS accepted, coalesce(h.decided, 0) AS decided, round(h.median::numeric, 3)::float8 AS median
             FROM cand c LEFT JOIN open o ON o.id = c.id LEFT JOIN pending p ON p.id = c.id LEFT JOIN history h ON h.id = c.id),
         scored AS (
           SELECT f.*, round((
                    ($10::float8[])[1] * CASE WHEN f.online THEN 1 ELSE 0 END
                  + ($10::float8[])[2] * CASE f.availability WHEN 'AVAILABLE' THEN 1 WHEN 'BUSY' THEN 0.5 ELSE 0 END
                  + ($10::float8[])[3] * CASE WHEN f.lim > 0 THEN greatest(0, (f.lim - f.open_chats)::float8 / f.lim) ELSE 10::float8 / (10 + f.open_chats) END
                  + ($10::float8[])[4] * (1::float8 / (1 + f.pending_incoming))
                  + ($10::float8[])[5] * ((f.accepted + 1)::float8 / (f.decided + 2))
                  + ($10::float8[])[6] * CASE WHEN f.median IS NULL THEN 0.5 ELSE 60 / (60 + f.median) END
                  )::numeric, 4)::float8 AS score
             FROM facts f)
         SELECT * FROM scored
          -- $12: the chat's reply window closes soon: those online and AVAILABLE first (they can answer now).
          ORDER BY CASE WHEN $12::boolean AND online AND availability = 'AVAILABLE' THEN 0 ELSE 1 END, score DESC, name COLLATE "C", id
          LIMIT $9`,
};

/** Who receives as the rule's guard says: the roles reached, who is excluded besides the owner (the sender first), and the AWAY rule. */
export interface ReceiverGuard {
  roles: readonly string[];
  notIds: readonly string[];
  awayRefused: boolean | "setting";
  capacity: boolean;
}

/** A receiver as ranked (src/engine/suggest.ts composes the reasons from these facts). */
export interface RankedRow {
  id: string;
  name: string;
  availability: Availability;
  online: boolean;
  maxOpenChats: number | null;
  limit: number;
  openChats: number;
  pendingIncoming: number;
  accepted: number;
  decided: number;
  medianSecondsToAccept: number | null;
  score: number;
}

export class SuggestionRepository {
  constructor(private readonly db: Sql) {}

  /** The ids of who may receive the chat now (the guard), in the organization. */
  async receivers(organizationId: string, chatId: string, guard: ReceiverGuard): Promise<string[]> {
    const rows = await this.db.rows<{ id: string }>(RECEIVERS, [organizationId, chatId, guard.roles, guard.notIds, String(guard.awayRefused), guard.capacity]);
    return rows.map((r) => r.id);
  }

  /**
   * The receivers ranked, best first, at most `first`; `online` those of them with a socket open;
   * the history is the sender's.
   */
  async ranked(q: {
    organizationId: string;
    chatId: string;
    guard: ReceiverGuard;
    senderId: string;
    since: Date;
    online: readonly string[];
    first: number;
    kinds: readonly TrackingKind[];
    weights: readonly number[];
    /** Online AVAILABLE people first (the reply window closes soon). */
    freeFirst: boolean;
  }): Promise<RankedRow[]> {
    const rows = await this.db.rows<{
      id: string;
      name: string;
      availability: Availability;
      max_open_chats: number | null;
      lim: number;
      online: boolean;
      open_chats: number;
      pending_incoming: number;
      accepted: number;
      decided: number;
      median: number | null;
      score: number;
    }>(RANKED, [
      q.organizationId,
      q.chatId,
      q.guard.roles,
      q.guard.notIds,
      String(q.guard.awayRefused),
      q.online,
      q.since,
      q.kinds,
      q.first,
      q.weights,
      q.senderId,
      q.freeFirst,
      q.guard.capacity,
    ]);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      availability: r.availability,
      online: r.online,
      maxOpenChats: r.max_open_chats,
      limit: r.lim,
      openChats: r.open_chats,
      pendingIncoming: r.pending_incoming,
      accepted: r.accepted,
      decided: r.decided,
      medianSecondsToAccept: r.median,
      score: r.score,
    }));
  }
}
