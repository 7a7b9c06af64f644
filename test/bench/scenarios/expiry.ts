import { RecipientType } from "../../../src/modules/assignments/assignment-request.entity";
import { type Bench, gql, log, sleep, minimalAssign } from "../support";
import { ms, percentile } from "../stats";

/** 1,000 requests expiring together. */
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
        const r = (await gql(s1.url, token.get(expSender.id)!, minimalAssign, { input: { chatSessionId: expChats[k], recipientType: RecipientType.USER, recipientId: target.id } })) as { assignChat: { id: string } };
        ids.push(r.assignChat.id);
      }
    }),
  );
  const window = (await ds.query<Array<{ span: number }>>(`SELECT extract(epoch FROM max(expires_at) - min(expires_at)) * 1000 AS span FROM assignment_requests WHERE id = ANY($1)`, [ids]))[0].span;
  for (let waited = 0; waited < 20_000; waited += 250) {
    const pending = (await ds.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM assignment_requests WHERE id = ANY($1) AND status = 'PENDING'`, [ids]))[0].n;
    if (pending === 0) break;
    await sleep(250);
  }
  const late = (await ds.query<Array<{ late: string | null }>>(`SELECT extract(epoch FROM responded_at - expires_at) * 1000 AS late FROM assignment_requests WHERE id = ANY($1)`, [ids])).map((r) => (r.late === null ? 20_000 : Number(r.late)));
  const l99 = percentile(late, 99);
  rows.push({
    scenario: `${EXPIRING} requests expiring together (deadlines spread over ${(Number(window) / 1000).toFixed(2)} s)`,
    figure: `lateness p50 ${ms(percentile(late, 50))}, p99 ${ms(l99)}, max ${ms(Math.max(...late))}`,
    floor: "none",
    ratio: "",
    target: "p99 <= 1 s",
    met: l99 <= 1_000 ? "yes" : "no",
  });
  
}
