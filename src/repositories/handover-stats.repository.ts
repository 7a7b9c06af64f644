import type { Sql, Statement } from "../db/sql";
import { HandoverStatsGrouping, type HandoverStatsRow, type ReasonCount } from "../modules/tracking/handover-stats.model";
import { TrackingKind, TrackingStatus } from "../modules/tracking/engagement-tracking-record.entity";

export interface HandoverStatsQuery {
  organizationId: string;
  /** Only handovers this user sent or received (a user's view); null: all of the organization's. */
  partyId: string | null;
  from: Date;
  to: Date;
  groupBy: HandoverStatsGrouping;
  senderId: string | null;
  recipientId: string | null;
}

/** The group's key columns, and the order rows come in. */
const GROUPS: Record<HandoverStatsGrouping, { keys: string; order: string }> = {
  [HandoverStatsGrouping.SENDER]: { keys: "t.initiated_by_id AS sender_id, NULL::uuid AS recipient_id, NULL::text AS day", order: "handovers DESC, sender_id" },
  [HandoverStatsGrouping.RECIPIENT]: { keys: "NULL::uuid AS sender_id, t.to_user_id AS recipient_id, NULL::text AS day", order: "handovers DESC, recipient_id" },
  [HandoverStatsGrouping.PAIR]: { keys: "t.initiated_by_id AS sender_id, t.to_user_id AS recipient_id, NULL::text AS day", order: "handovers DESC, sender_id, recipient_id" },
  [HandoverStatsGrouping.DAY]: {
    keys: "NULL::uuid AS sender_id, NULL::uuid AS recipient_id, to_char((t.requested_at AT TIME ZONE tz.zone)::date, 'YYYY-MM-DD') AS day",
    order: "day",
  },
};

/**
 * One statement per grouping. The sender is who sent the request (or made the direct move: the
 * record's initiator), the recipient who it went to. `created_at` is the record's `requested_at`
 * (both are written from the same value) and is what the organization's index is on.
 */
const statementFor = (g: HandoverStatsGrouping): Statement => ({
  name: `handoverStats.${g.toLowerCase()}`,
  text: `WITH tz AS (SELECT coalesce((SELECT time_zone FROM assign_discuss_settings WHERE organization_id = $1), 'UTC') AS zone)
         SELECT ${GROUPS[g].keys},
                count(*)::int AS handovers,
                count(*) FILTER (WHERE t.status = '${TrackingStatus.ACCEPTED}')::int AS accepted,
                count(*) FILTER (WHERE t.status = '${TrackingStatus.REJECTED}')::int AS rejected,
                count(*) FILTER (WHERE t.status = '${TrackingStatus.TIMED_OUT}')::int AS timed_out,
                count(*) FILTER (WHERE t.status = '${TrackingStatus.WITHDRAWN}')::int AS withdrawn,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY t.response_seconds) FILTER (WHERE t.status = '${TrackingStatus.ACCEPTED}') AS median,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY t.response_seconds) FILTER (WHERE t.status = '${TrackingStatus.ACCEPTED}') AS p90
           FROM engagement_tracking_records t, tz
          WHERE t.organization_id = $1 AND t.created_at >= $2 AND t.created_at < $3
            AND t.kind IN ('${TrackingKind.ASSIGN_REQUEST}', '${TrackingKind.DIRECT_ASSIGN}')
            AND ($4::uuid IS NULL OR t.initiated_by_id = $4 OR t.to_user_id = $4)
            AND ($5::uuid IS NULL OR t.initiated_by_id = $5)
            AND ($6::uuid IS NULL OR t.to_user_id = $6)
          GROUP BY 1, 2, 3
          ORDER BY ${GROUPS[g].order}`,
});

/** Rejections in [from, to), counted per reason (most given first; at most 20), with the same party filter. */
const REJECT_REASONS: Statement = {
  name: "handoverStats.rejectReasons",
  text: `SELECT coalesce(t.reason, '') AS reason, count(*)::int AS n, coalesce(bool_or(t.reason_is_preset), false) AS preset
           FROM engagement_tracking_records t
          WHERE t.organization_id = $1 AND t.created_at >= $2 AND t.created_at < $3 AND t.status = '${TrackingStatus.REJECTED}'
            AND ($4::uuid IS NULL OR t.initiated_by_id = $4 OR t.to_user_id = $4)
          GROUP BY 1
          ORDER BY n DESC, reason
          LIMIT 20`,
};

const STATEMENTS = Object.fromEntries(Object.values(HandoverStatsGrouping).map((g) => [g, statementFor(g)])) as Record<HandoverStatsGrouping, Statement>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Math.round(Number(v) * 1000) / 1000);

/** Handover statistics, computed from the tracking records (issue #24). */
export class HandoverStatsRepository {
  constructor(private readonly db: Sql) {}

  async rejectReasons(q: { organizationId: string; partyId: string | null; from: Date; to: Date }): Promise<ReasonCount[]> {
    const rows = await this.db.rows<{ reason: string; n: number; preset: boolean }>(REJECT_REASONS, [q.organizationId, q.from, q.to, q.partyId]);
    return rows.map((r) => ({ reason: r.reason, count: r.n, preset: r.preset }));
  }

  async rows(q: HandoverStatsQuery): Promise<HandoverStatsRow[]> {
    const rows = await this.db.rows<{
      sender_id: string | null;
      recipient_id: string | null;
      day: string | null;
      handovers: number;
      accepted: number;
      rejected: number;
      timed_out: number;
      withdrawn: number;
      median: number | string | null;
      p90: number | string | null;
    }>(STATEMENTS[q.groupBy], [q.organizationId, q.from, q.to, q.partyId, q.senderId, q.recipientId]);
    return rows.map((r) => {
      const decided = r.accepted + r.rejected + r.timed_out;
      return {
        senderId: r.sender_id,
        recipientId: r.recipient_id,
        day: r.day,
        handovers: r.handovers,
        accepted: r.accepted,
        rejected: r.rejected,
        timedOut: r.timed_out,
        withdrawn: r.withdrawn,
        acceptanceRate: decided > 0 ? Math.round((r.accepted / decided) * 10_000) / 10_000 : null,
        medianSecondsToAccept: num(r.median),
        p90SecondsToAccept: num(r.p90),
      };
    });
  }
}
