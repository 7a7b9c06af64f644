import { TokenService } from "../../../src/modules/auth/token.service";
import { OrganizationService } from "../../../src/modules/organizations/organization.service";
import { TEST_JWT_SECRET } from "../../support/factories";
import { type Bench, gql, log, settle } from "../support";
import { ms, percentile } from "../stats";

/**
 * suggestedRecipients (issue #24) in an organization of 2,000 users (1,950 agents, 50 managers)
 * with a year of handovers (1,000 a day between random agents, a tenth of them sent by the agent
 * who asks), 3 open chats per agent and 500 requests pending: the question a sender's
 * "Select User" asks, answered by the server under test over HTTP.
 */
export async function suggest(bench: Bench): Promise<void> {
  const { quick, ds, s1, rows } = bench;
  const AGENTS = 1_950;
  const MANAGERS = 50;
  const PER_DAY = 1_000;
  const DAYS = quick ? 60 : 365;
  const { organizationId } = await new OrganizationService(ds).create("Suggest Org", "admin@suggest.bench", "Suggest Admin");
  await ds.query(
    `INSERT INTO users (organization_id, email, name, role, availability, max_open_chats)
     SELECT $1, 'suggest' || g || '@bench.test', 'Suggest ' || g, CASE WHEN g <= $3 THEN 'MANAGER' ELSE 'USER' END,
            (ARRAY['AVAILABLE', 'AVAILABLE', 'BUSY', 'AWAY'])[1 + g % 4], CASE WHEN g % 3 = 0 THEN 8 END
       FROM generate_series(1, $2::int) g`,
    [organizationId, AGENTS + MANAGERS, MANAGERS],
  );
  const agents = (
    await ds.query<Array<{ id: string }>>(`SELECT id FROM users WHERE organization_id = $1 AND role = 'USER' ORDER BY email`, [organizationId])
  ).map((r) => r.id);
  const sender = agents[0];
  // Three open chats per agent, and the chat the sender asks about.
  await ds.query(
    `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id)
     SELECT $1, 'Customer', '+14155550123', a FROM unnest($2::uuid[]) a, generate_series(1, 3)`,
    [organizationId, agents],
  );
  const [asked] = await ds.query<Array<{ id: string }>>(
    `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id) VALUES ($1, 'Asked', '+14155550124', $2) RETURNING id`,
    [organizationId, sender],
  );
  // 500 requests pending: from agents 502..1001 (a chat of each) to agents 2..501.
  await ds.query(
    `INSERT INTO assignment_requests (organization_id, chat_session_id, sender_id, recipient_id, recipient_type, status, timeout_seconds, created_at, expires_at, kind)
     SELECT $1, (SELECT c.id FROM chat_sessions c WHERE c.owner_id = s.id LIMIT 1), s.id, ($2::uuid[])[s.k - 500], 'USER', 'PENDING', 86400, now(), now() + interval '1 day', 'ASSIGN'
       FROM unnest($2::uuid[]) WITH ORDINALITY AS s(id, k) WHERE s.k BETWEEN 502 AND 1001`,
    [organizationId, agents],
  );
  // The year's handovers were of other chats, closed since: 1,000 of them, about one handover a
  // day each (the asked chat has none; a chat moved 1,000 times a day would be past the loop
  // rule's limit, and rightly get no suggestion).
  const history = (
    await ds.query<Array<{ id: string }>>(
      `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id, status)
       SELECT $1, 'Earlier', '+14155550125', $2, 'CLOSED' FROM generate_series(1, 1000) RETURNING id`,
      [organizationId, sender],
    )
  ).map((r) => r.id);
  log(`suggestions: inserting ${(PER_DAY * DAYS).toLocaleString("en-US")} handovers over ${DAYS} days between ${AGENTS} agents`);
  await ds.query(
    `INSERT INTO engagement_tracking_records
       (organization_id, kind, status, chat_session_id, initiated_by_id, from_user_id, to_user_id, requested_at, response_seconds, created_at)
     SELECT $1, 'ASSIGN_REQUEST', s.status, ($2::uuid[])[1 + g % 1000], f.id, f.id, t.id, x.at, CASE WHEN s.status IN ('ACCEPTED', 'REJECTED') THEN round((random() * 120)::numeric, 3) END, x.at
       FROM generate_series(1, $4::int) g
       CROSS JOIN LATERAL (SELECT now() - ((g - 1) / $5::int) * interval '1 day' - (g % $5::int) * interval '80 seconds' AS at) x
       CROSS JOIN LATERAL (SELECT (ARRAY['ACCEPTED', 'ACCEPTED', 'ACCEPTED', 'REJECTED', 'TIMED_OUT', 'WITHDRAWN'])[1 + g % 6] AS status) s
       CROSS JOIN LATERAL (SELECT CASE WHEN g % 10 = 0 THEN 1 ELSE 1 + ((g::bigint * 7919) % array_length($3::uuid[], 1))::int END AS i) fi
       CROSS JOIN LATERAL (SELECT ($3::uuid[])[fi.i] AS id) f
       CROSS JOIN LATERAL (SELECT ($3::uuid[])[1 + (fi.i + 1 + ((g::bigint * 104729) % (array_length($3::uuid[], 1) - 2))::int) % array_length($3::uuid[], 1)] AS id) t`,
    [organizationId, history, agents, PER_DAY * DAYS, PER_DAY],
  );
  // Steady state: the bulk load vacuumed and analyzed now, not by autovacuum while the question is
  // being timed (a full run loads 730,000 records: its autovacuum took the two cores in the middle
  // of this scenario and the next one).
  // Every table, not only this load's: the webhooks scenario before this one leaves its delivery
  // rows to autovacuum, which took the cores during the questions in a full run (p99 101 ms).
  await ds.query("VACUUM (ANALYZE)");
  await settle(ds);
  const token = new TokenService(TEST_JWT_SECRET, ds).sign(sender, 3600);
  const query = `query($chat: ID!) { suggestedRecipients(chatSessionId: $chat, first: 5) { user { id name } score reasons } }`;
  const samples: number[] = [];
  let returned = 0;
  // 1,000 questions in a full run: its p99 is the 10th slowest, not the 3rd (a single stall of the
  // shared machine decided it with 300).
  for (let i = 0; i < (quick ? 50 : 1_020); i++) {
    const t = performance.now();
    const data = (await gql(s1.url, token, query, { chat: asked.id })) as { suggestedRecipients: unknown[] };
    if (i >= 20) samples.push(performance.now() - t); // after a warm-up of 20
    returned = data.suggestedRecipients.length;
  }
  const p99 = percentile(samples, 99);
  rows.push({
    scenario: `suggestedRecipients (first 5) in an organization of ${AGENTS + MANAGERS} users with ${(PER_DAY * DAYS).toLocaleString("en-US")} handovers over ${DAYS} days (the asking agent sent a tenth), 3 open chats per agent, 500 pending requests; one client after another`,
    figure: `p50 ${ms(percentile(samples, 50))}, p99 ${ms(p99)} (${returned} suggestions)`,
    floor: "none",
    ratio: "",
    target: "p99 < 50 ms",
    met: p99 < 50 && returned === 5 ? "yes" : "no",
  });
}
