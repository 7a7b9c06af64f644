import pino from "pino";
import { RecipientType } from "../../../src/modules/assignments/assignment-request.entity";
import { RequestInboxDocument } from "../../../schema/generated/graphql";
import { TEST_JWT_SECRET } from "../../support/factories";
import { createApp } from "../../../src/app";
import { print } from "graphql";
import { type Bench, gql, minimalAssign } from "../support";
import { ms, percentile } from "../stats";

/** A page of 100 requests with relations. */
export async function page(bench: Bench): Promise<void> {
  const { ds, s1, agents, manager, token, newChats, counter, rows } = bench;
  const app = await createApp({ config: { port: 0, host: "127.0.0.1", bodyLimitBytes: 1_000_000, maxQueryDepth: 10 }, dataSource: ds, jwtSecret: TEST_JWT_SECRET, logger: pino({ level: "silent" }) });
  const appUrl = await app.listen();
  const pageQ = print(RequestInboxDocument);
  // Run alone (--only=page), the database has no requests yet: send 100.
  const pageSender = agents[991];
  const missing = 100 - (await ds.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM assignment_requests`))[0].n;
  const pageChats = await newChats(pageSender.id, Math.max(0, missing));
  for (const [k, chat] of pageChats.entries()) {
    await gql(s1.url, token.get(pageSender.id)!, minimalAssign, { input: { chatSessionId: chat, recipientType: RecipientType.USER, recipientId: agents[k].id } });
  }
  const times: number[] = [];
  let statements = 0;
  for (let r = 0; r < 20; r++) {
    const before = counter.count;
    const t = performance.now();
    const data = (await gql(appUrl, token.get(manager.id)!, pageQ, { first: 100 })) as { assignmentRequests: { edges: unknown[] } };
    times.push(performance.now() - t);
    statements = counter.count - before;
    if (data.assignmentRequests.edges.length !== 100) throw new Error("page was not full");
  }
  await app.stop();
  rows.push({
    scenario: "a page of 100 requests with chat, sender, recipient and record",
    figure: `${statements} SQL statements; p50 ${ms(percentile(times, 50))}`,
    floor: "none",
    ratio: "",
    target: "<= 6 statements",
    met: statements <= 6 ? "yes" : "no",
  });
  
}
