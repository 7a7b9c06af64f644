import { RecipientType } from "../../../src/modules/assignments/assignment-request.entity";
import { type Bench, gql, listenForCreated, log, sleep, minimalAssign } from "../support";
import { ms, percentile, rssMb } from "../stats";

const WITHDRAW = `mutation($id: ID!) { withdrawAssignment(requestId: $id, reason: "The bench measured its delivery") { id } }`;

/** Subscription delivery, 1,000 open sockets. */
export async function delivery(bench: Bench): Promise<void> {
  const { quick, s1, agents, manager, token, newChats, rows } = bench;
  const SOCKETS = 1_000;
  const listeners = agents.slice(0, SOCKETS - 1).concat(manager);
  log(`opening ${SOCKETS} sockets`);
  const rssBefore = await rssMb(s1.child.pid!);
  const sockets = listenForCreated(s1.url, listeners, token);
  const arrivals = sockets.arrivals;
  await sleep(quick ? 3_000 : 5_000);
  const rssSockets = await rssMb(s1.child.pid!);
  const sender2 = agents[998];
  const deliveries: number[] = [];
  const targets = listeners.filter((u) => u.id !== sender2.id && u.id !== manager.id).slice(0, quick ? 100 : 300);
  const chats2 = await newChats(sender2.id, targets.length);
  let next = 0;
  const left: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < targets.length) {
        const k = next++;
        const target = targets[k];
        const sent = (await gql(s1.url, token.get(sender2.id)!, minimalAssign, { input: { chatSessionId: chats2[k], recipientType: RecipientType.USER, recipientId: target.id } })) as {
          assignChat?: { id: string };
        };
        if (sent.assignChat) left.push(sent.assignChat.id);
        const responded = performance.now();
        const deadline = responded + 5_000;
        while (!arrivals.has(target.id) && performance.now() < deadline) await sleep(1);
        const got = arrivals.get(target.id);
        deliveries.push(got === undefined ? 5_000 : Math.max(0, got - responded));
      }
    }),
  );
  const rssAfter = await rssMb(s1.child.pid!);
  await sockets.close();
  // The requests stay pending otherwise, and time out together two minutes later, in the middle of
  // a later scenario's load (fan-out's, whose server follows this organization too).
  for (const id of left) await gql(s1.url, token.get(sender2.id)!, WITHDRAW, { id });
  const p99 = percentile(deliveries, 99);
  rows.push({
    scenario: `subscription delivery, ${SOCKETS} open sockets (${deliveries.length} events)`,
    figure: `p50 ${ms(percentile(deliveries, 50))}, p99 ${ms(p99)}; server RSS ${rssSockets.toFixed(0)} MB with sockets open (${rssBefore.toFixed(0)} MB before, ${rssAfter.toFixed(0)} MB after)`,
    floor: "none",
    ratio: "",
    target: "p99 < 100 ms; RSS < 300 MB",
    met: p99 < 100 && Math.max(rssSockets, rssAfter) < 300 ? "yes" : "no",
  });
  
}
