import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Pair statistics for BI (issue #24): `bi.handover_pairs`, per organization, local day (the
 * organization's time zone), sender and recipient, the handovers (requests to assign and direct
 * assignments) and how they ended, with the median and p90 seconds to accept; the same counts
 * `handoverStats` gives. Tenant-scoped like every `bi` view (TenantScopedBi1764170000000): the
 * unfiltered view in `reporting`, a security-barrier view in `bi`, and SELECT for every role
 * already granted BI (a grant made later covers it: bi:grant grants the whole schema).
 */
export class HandoverPairs1764240000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE VIEW reporting.handover_pairs AS
      SELECT t.organization_id,
             (t.requested_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::date AS local_date,
             t.initiated_by_id AS sender_id,
             t.to_user_id AS recipient_id,
             count(*)::integer AS handovers,
             count(*) FILTER (WHERE t.status = 'ACCEPTED')::integer AS accepted,
             count(*) FILTER (WHERE t.status = 'REJECTED')::integer AS rejected,
             count(*) FILTER (WHERE t.status = 'TIMED_OUT')::integer AS timed_out,
             count(*) FILTER (WHERE t.status = 'WITHDRAWN')::integer AS withdrawn,
             round((percentile_cont(0.5) WITHIN GROUP (ORDER BY t.response_seconds) FILTER (WHERE t.status = 'ACCEPTED'))::numeric, 3) AS median_seconds_to_accept,
             round((percentile_cont(0.9) WITHIN GROUP (ORDER BY t.response_seconds) FILTER (WHERE t.status = 'ACCEPTED'))::numeric, 3) AS p90_seconds_to_accept
        FROM engagement_tracking_records t
        LEFT JOIN assign_discuss_settings st ON st.organization_id = t.organization_id
       WHERE t.kind IN ('ASSIGN_REQUEST', 'DIRECT_ASSIGN')
       GROUP BY 1, 2, 3, 4;
      CREATE VIEW bi.handover_pairs WITH (security_barrier) AS SELECT v.* FROM reporting.handover_pairs v
       WHERE (v.organization_id IN (SELECT a.organization_id FROM reporting.bi_access a WHERE a.role_name = current_user)
              OR EXISTS (SELECT 1 FROM reporting.bi_access a JOIN pg_roles r ON r.rolname = a.role_name
                          WHERE a.organization_id IS NULL AND pg_has_role(current_user, r.oid, 'USAGE')));
      DO $$
      DECLARE r record;
      BEGIN
        FOR r IN SELECT a.role_name FROM reporting.bi_access a JOIN pg_roles p ON p.rolname = a.role_name LOOP
          EXECUTE format('GRANT SELECT ON bi.handover_pairs TO %I', r.role_name);
        END LOOP;
      END
      $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP VIEW bi.handover_pairs;
      DROP VIEW reporting.handover_pairs;
    `);
  }
}
