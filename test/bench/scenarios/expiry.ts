import { RecipientType } from "../../../src/modules/assignments/assignment-request.entity";
import { type Bench, gql, log, sleep, minimalAssign } from "../support";
import { ms, percentile } from "../stats";

/** 1,000 requests expiring together, each with one fallback recipient: every deadline makes a hop, which expires in turn. */
export async function expiry(bench: Bench): Promise<void> {
  const { quick, ds, organizationId, s1, agents, token, newChats, rows } = bench;
  const EXPIRING = quick ? 300 : 1_000;
  await ds.query(`UPDATE assign_discuss_settings SET assign_request_timeout_seconds = 5 WHERE organization_id = $1`, [organizationId]);
  const expSender = agents[994];
  const expChats = await newChats(expSender.id, EXPIRING);
  const ids: string[] = [];
  let k5 = 0;
  log(`creating ${EXPIRING} requests due in 5 s`);
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (k5 < EXPIRING) {
        const k = k5++;
        const target = agents[k % 900];
        const fallback = agents[(k + 1) % 900];
        const input = { chatSessionId: expChats[k], recipientType: RecipientType.USER, recipientId: target.id, fallbackRecipientIds: [fallback.id] };
        const r = (await gql(s1.url, token.get(expSender.id)!, minimalAssign, { input })) as { assignChat: { id: string } };
        ids.push(r.assignChat.id);
      }
    }),
  );
  const window = (await ds.query<Array<{ span: number }>>(`SELECT extract(epoch FROM max(expires_at) - min(expires_at)) * 1000 AS span FROM assignment_requests WHERE id = ANY($1)`, [ids]))[0].span;
  /** Waits until none of `requestIds` is pending; then each one's lateness (responded_at - expires_at; 20 s if never). */
  const settle = async (requestIds: string[]): Promise<number[]> => {
    for (let waited = 0; waited < 20_000; waited += 250) {
      const pending = (await ds.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM assignment_requests WHERE id = ANY($1) AND status = 'PENDING'`, [requestIds]))[0].n;
      if (pending === 0) break;
      await sleep(250);
    }
    return (await ds.query<Array<{ late: string | null }>>(`SELECT extract(epoch FROM responded_at - expires_at) * 1000 AS late FROM assignment_requests WHERE id = ANY($1)`, [requestIds])).map((r) =>
      r.late === null ? 20_000 : Number(r.late),
    );
  };
  const late = await settle(ids);
  // Each deadline made its hop in the same transaction: the hop's request is as late as the time-out.
  const hops = await ds.query<Array<{ id: string; late: string }>>(
    `SELECT n.id, extract(epoch FROM n.created_at - p.expires_at) * 1000 AS late FROM assignment_requests n JOIN assignment_requests p ON p.id = n.previous_request_id WHERE p.id = ANY($1)`,
    [ids],
  );
  log(`${hops.length} hops made; waiting for them to expire as well`);
  const hopLate = await settle(hops.map((h) => h.id));
  const l99 = percentile(late, 99);
  const h99 = percentile(hopLate, 99);
  const allHops = hops.length === EXPIRING;
  rows.push({
    scenario: `${EXPIRING} requests expiring together (deadlines spread over ${(Number(window) / 1000).toFixed(2)} s), each with one fallback: the time-out makes the hop, which expires in turn`,
    figure:
      `lateness p50 ${ms(percentile(late, 50))}, p99 ${ms(l99)}, max ${ms(Math.max(...late))}; ${hops.length} hops made ` +
      `(hop created p99 ${ms(percentile(hops.map((h) => Number(h.late)), 99))} after the deadline); the hops' own deadlines: p99 ${ms(h99)}`,
    floor: "none",
    ratio: "",
    target: "p99 <= 1 s; one hop each",
    met: l99 <= 1_000 && h99 <= 1_000 && allHops ? "yes" : "no",
  });
}
