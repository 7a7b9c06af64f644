import { Client } from "pg";
import { BiAccessService } from "../../../src/modules/bi/bi-access.service";
import { OrganizationService } from "../../../src/modules/organizations/organization.service";
import { type Bench, log } from "../support";
import { ms, percentile } from "../stats";

/**
 * The BI rollup: a year of 1,000 handovers a day for one organization, `bi.handover_daily`
 * refreshed, then "the last 30 days by day and status" asked by that tenant's own login role
 * (through the security-barrier view, as a BI tool would).
 */
export async function rollup(bench: Bench): Promise<void> {
  const { quick, ds, dbUrl, rows } = bench;
  const PER_DAY = 1_000;
  const DAYS = quick ? 60 : 365;
  const { organizationId, adminUserId } = await new OrganizationService(ds).create("Rollup Org", "admin@rollup.bench", "Rollup Admin");
  const [chat] = await ds.query<Array<{ id: string }>>(
    `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, channel, status, owner_id)
     VALUES ($1, 'Rollup Customer', '+14155550199', 'WHATSAPP', 'OPEN', $2) RETURNING id`,
    [organizationId, adminUserId],
  );
  log(`inserting ${(PER_DAY * DAYS).toLocaleString("en-US")} tracking records over ${DAYS} days`);
  // Statuses in realistic shares; response times only where a person responded.
  await ds.query(
    `INSERT INTO engagement_tracking_records
       (organization_id, kind, status, chat_session_id, initiated_by_id, from_user_id, to_user_id, requested_at, responded_at, response_seconds, duration_seconds, hop)
     SELECT $1, CASE WHEN g % 7 = 0 THEN 'DISCUSS_REQUEST' ELSE 'ASSIGN_REQUEST' END,
            s.status, $2, $3, $3, $3, t, t + (r * 120) * interval '1 second',
            CASE WHEN s.status IN ('ACCEPTED', 'REJECTED') THEN round((r * 120)::numeric, 3) END, round((r * 120)::numeric, 3),
            CASE WHEN g % 9 = 0 THEN 2 ELSE 1 END
       FROM generate_series(1, $4::int) g
       CROSS JOIN LATERAL (SELECT now() - ((g - 1) / $5::int) * interval '1 day' - (g % $5::int) * interval '80 seconds' AS t, random() AS r) x
       CROSS JOIN LATERAL (SELECT (ARRAY['ACCEPTED', 'ACCEPTED', 'ACCEPTED', 'REJECTED', 'TIMED_OUT', 'WITHDRAWN', 'CANCELLED'])[1 + g % 7] AS status) s`,
    [organizationId, chat.id, adminUserId, PER_DAY * DAYS, PER_DAY],
  );
  const bi = new BiAccessService(ds);
  const t0 = performance.now();
  await bi.refreshRollup();
  const refreshS = (performance.now() - t0) / 1000;

  const role = `bench_tenant_${Date.now().toString(36)}`;
  const granted = await bi.grant(role, organizationId);
  const url = new URL(dbUrl);
  url.username = role;
  url.password = granted.password ?? "";
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  const samples: number[] = [];
  let days = 0;
  try {
    const question = `SELECT local_date, status, sum(handovers)::int AS handovers, max(median_response_seconds) AS median, max(p90_response_seconds) AS p90
                        FROM bi.handover_daily WHERE local_date > current_date - 30 GROUP BY 1, 2 ORDER BY 1, 2`;
    for (let i = 0; i < (quick ? 20 : 100); i++) {
      const t = performance.now();
      const res = await client.query<{ local_date: string }>(question);
      samples.push(performance.now() - t);
      days = new Set(res.rows.map((r) => String(r.local_date))).size;
    }
  } finally {
    await client.end();
    await bi.revoke(role);
    await ds.query(`DROP ROLE "${role}"`);
  }
  const p99 = percentile(samples, 99);
  rows.push({
    scenario: `bi.handover_daily: "last 30 days by day and status" over ${(PER_DAY * DAYS).toLocaleString("en-US")} records (${DAYS} days x ${PER_DAY}), asked by the tenant's login role`,
    figure: `p50 ${ms(percentile(samples, 50))}, p99 ${ms(p99)} (${days} days returned); concurrent refresh of the rollup ${refreshS.toFixed(2)} s`,
    floor: "none",
    ratio: "",
    target: "< 50 ms",
    met: p99 < 50 && days >= 29 ? "yes" : "no",
  });
}
