import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * BI a tenant can be given. The flat views move to schema `reporting` (unfiltered: Baton's own
 * CSV exports read them, and no BI role may use that schema); schema `bi` gets a security-barrier
 * view over each, showing only the organizations the connected role may see:
 *
 * - a role named in `reporting.bi_access` with an organization sees that organization's rows
 *   (`npm run cli -- bi:grant --organization <id> --role <name>` writes that row and the grants);
 * - a role with a row whose organization is NULL sees every organization, and so does any role
 *   that is a member of it: `baton_bi` is one, so the operator's roles made `IN ROLE baton_bi`
 *   keep reading everything;
 * - anyone else with access to `bi` sees no rows.
 *
 * Postgres enforces it: the filter is in the view (security_barrier: a caller's function cannot
 * see rows before the filter ran), keyed to `current_user`, and a tenant role reads no base table
 * and no `reporting` view. Nothing here needs CREATEROLE.
 *
 * `reporting.handover_daily` is the daily rollup (organization, local day, kind, status),
 * a materialized view refreshed concurrently on a schedule (BI_ROLLUP_REFRESH_SECONDS);
 * `bi.handover_daily` shows it per tenant like the rest.
 *
 * Later migrations that change a view: change `reporting.<view>` (CREATE OR REPLACE), then the
 * `bi.<view>` over it (it lists the columns as they were when it was made).
 */
const BI_FILTER = `(v.organization_id IN (SELECT a.organization_id FROM reporting.bi_access a WHERE a.role_name = current_user)
        OR EXISTS (SELECT 1 FROM reporting.bi_access a JOIN pg_roles r ON r.rolname = a.role_name
                    WHERE a.organization_id IS NULL AND pg_has_role(current_user, r.oid, 'USAGE')))`;

const VIEWS = ["engagement_tracking_records", "assignment_events", "users", "chat_sessions"];

export class TenantScopedBi1764170000000 implements MigrationInterface {
  name = "TenantScopedBi1764170000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE SCHEMA reporting;
      REVOKE ALL ON SCHEMA reporting FROM PUBLIC;
      ${VIEWS.map((v) => `ALTER VIEW bi.${v} SET SCHEMA reporting;`).join("\n      ")}

      CREATE TABLE reporting.bi_access (
        role_name name PRIMARY KEY,
        -- NULL: every organization (the operator's roles).
        organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
        granted_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO reporting.bi_access (role_name, organization_id) VALUES ('baton_bi', NULL);

      CREATE MATERIALIZED VIEW reporting.handover_daily AS
      SELECT t.organization_id,
             (t.requested_at AT TIME ZONE coalesce(st.time_zone, 'UTC'))::date AS local_date,
             t.kind,
             t.status,
             count(*)::integer AS handovers,
             round(percentile_cont(0.5) WITHIN GROUP (ORDER BY t.response_seconds)::numeric, 3) AS median_response_seconds,
             round(percentile_cont(0.9) WITHIN GROUP (ORDER BY t.response_seconds)::numeric, 3) AS p90_response_seconds,
             count(*) FILTER (WHERE t.status = 'TIMED_OUT')::integer AS timeouts,
             count(*) FILTER (WHERE t.hop > 1)::integer AS fallback_hops,
             now() AS refreshed_at
        FROM engagement_tracking_records t
        LEFT JOIN assign_discuss_settings st ON st.organization_id = t.organization_id
       GROUP BY 1, 2, 3, 4
      WITH DATA;
      CREATE UNIQUE INDEX handover_daily_key ON reporting.handover_daily (organization_id, local_date, kind, status);

      ${[...VIEWS, "handover_daily"]
        .map((v) => `CREATE VIEW bi.${v} WITH (security_barrier) AS SELECT v.* FROM reporting.${v} v WHERE ${BI_FILTER};`)
        .join("\n      ")}

      DO $$
      BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'baton_bi') THEN
          REVOKE ALL ON ALL TABLES IN SCHEMA reporting FROM baton_bi;
          GRANT USAGE ON SCHEMA bi TO baton_bi;
          GRANT SELECT ON ALL TABLES IN SCHEMA bi TO baton_bi;
        END IF;
      END
      $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ${[...VIEWS, "handover_daily"].map((v) => `DROP VIEW bi.${v};`).join("\n      ")}
      DROP MATERIALIZED VIEW reporting.handover_daily;
      ${VIEWS.map((v) => `ALTER VIEW reporting.${v} SET SCHEMA bi;`).join("\n      ")}
      DROP TABLE reporting.bi_access;
      DROP SCHEMA reporting;
      DO $$
      BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'baton_bi') THEN
          GRANT SELECT ON ALL TABLES IN SCHEMA bi TO baton_bi;
        END IF;
      END
      $$;
    `);
  }
}
