import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcceptAssignmentDocument, AssignChatDocument, AssignDiscussSettingsDocument, MeDocument, WithdrawAssignmentDocument } from "../../schema/generated/graphql";
import { type Answer, call, codeOfAnswer } from "../support/http-client";
import { assignInput, createChat, createWorld, loopRulesOff, type World } from "../support/factories";
import { ownPostgres, type OwnPostgres } from "../support/own-servers";
import { type ServerProcess, spawnServer } from "../support/process";
import { testServices } from "../support/services";
import { sleep, until } from "../support/wait";
import { AuditService } from "../../src/modules/audit/audit.service";

// The test's own embedded Postgres, stopped and started under a running server process.
let pg: OwnPostgres;
let w: World;
let server: ServerProcess;
let output = "";

beforeAll(async () => {
  pg = await ownPostgres();
  w = await createWorld(pg.dataSource);
  await loopRulesOff(pg.dataSource, w); // the load hands each chat back and forth
  await testServices(pg.dataSource).settings.update(w.admin, { assignRequestTimeoutSeconds: 5 });
  // The BI rollup is refreshed every second, so the outage below hits it too.
  server = await spawnServer(pg.url, { TIMEOUT_SWEEP_INTERVAL_MS: "500", BI_ROLLUP_REFRESH_SECONDS: "1" });
  server.child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  server.child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
}, 60_000);

afterAll(async () => {
  server?.child.kill("SIGTERM");
  await server?.exited;
  await pg?.destroy();
});

const alive = () => server.child.exitCode === null && server.child.signalCode === null;
const base = () => server.url.replace(/\/graphql$/, "");

/** Terminates every connection the server holds on its database (as a failover or idle reaper would). */
async function terminateServerConnections(): Promise<number> {
  const rows = await pg.dataSource.query<Array<{ n: number }>>(
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = 'baton' AND pid <> pg_backend_pid() AND application_name LIKE 'baton%'`,
  );
  return rows[0]?.n ?? 0;
}

describe("Postgres faults under a running server", () => {
  it("terminated connections (twice, 1.5 s apart) do not kill the process; the next request is served", async () => {
    expect((await call(server.url, MeDocument, {}, w.token(w.mark))).data?.me.name).toBe("Mark");
    expect(await terminateServerConnections()).toBeGreaterThan(0);
    await sleep(1_500);
    expect(await terminateServerConnections()).toBeGreaterThan(0);
    await sleep(500);
    expect(alive()).toBe(true);
    const after = await call(server.url, MeDocument, {}, w.token(w.mark));
    expect(after.data?.me.name).toBe("Mark");
    expect(output).not.toMatch(/Unhandled 'error' event|uncaught/i);
  });

  it("a Postgres stop and start under load: fast 503s meanwhile, served again within 5 s, due timeouts fire, nothing lost or doubled", async () => {
    const outcomes: Array<{ op: string; requestId?: string; answer: Answer<unknown> }> = [];
    let running = true;
    // Eight agents each hand their own chat back and forth: assign, then accept or withdraw.
    const workers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const chat = await createChat(pg.dataSource, w.organizationId, w.mark.id);
        const loop = async () => {
          let owner = w.mark;
          let other = w.martha;
          let resync = false;
          while (running) {
            if (resync) {
              // A commit whose outcome is unknown: the database says who owns the chat now.
              const rows = await pg.dataSource.query<Array<{ owner_id: string }>>(`SELECT owner_id FROM chat_sessions WHERE id = $1`, [chat.id]).catch(() => null);
              if (!rows) {
                await sleep(200);
                continue;
              }
              if (rows[0]?.owner_id !== owner.id) [owner, other] = [other, owner];
              resync = false;
            }
            const sent = await call(server.url, AssignChatDocument, { input: assignInput(chat.id, other.id) }, w.token(owner));
            const requestId = sent.data?.assignChat.id;
            outcomes.push({ op: "assign", requestId, answer: sent });
            if (!requestId) {
              await sleep(50);
              continue;
            }
            if (i % 2 === 0) {
              const accepted = await call(server.url, AcceptAssignmentDocument, { requestId }, w.token(other));
              outcomes.push({ op: "accept", requestId, answer: accepted });
              if (accepted.data) [owner, other] = [other, owner];
              // UNKNOWN (cut off at COMMIT) or COMMITTED (cut off while reading the answer): ask the database.
              if (accepted.errors?.[0]?.extensions?.commitOutcome) resync = true;
            } else {
              const withdrawn = await call(server.url, WithdrawAssignmentDocument, { requestId, reason: "load" }, w.token(owner));
              outcomes.push({ op: "withdraw", requestId, answer: withdrawn });
            }
          }
        };
        return { done: loop() }; // wrapped: a returned promise would be awaited by Promise.all
      }),
    );
    await sleep(1_000);

    // Requests whose deadlines fall while Postgres is down.
    const dueChats = await Promise.all(Array.from({ length: 5 }, () => createChat(pg.dataSource, w.organizationId, w.mark.id)));
    const due: string[] = [];
    for (const [i, c] of dueChats.entries()) {
      // The first one has a fallback chain: its hop must be made once the database is back.
      const input = { ...assignInput(c.id, w.martha.id), fallbackRecipientIds: i === 0 ? [w.tom.id] : [] };
      const a = await call(server.url, AssignChatDocument, { input }, w.token(w.mark));
      due.push(a.data!.assignChat.id);
    }
    const dueAt = Date.now() + 5_000;

    const outageFrom = output.length;
    await pg.stop();
    // A query that reads the database (the viewer alone may come from the authentication cache).
    let during = await call(server.url, AssignDiscussSettingsDocument, {}, w.token(w.mark));
    // A keep-alive connection the client reused as the server retired it is a client-side race
    // (the request never reached the server); the question here is what the server answers.
    if (during.status === 0 && /ECONNRESET|UND_ERR_SOCKET|other side closed/.test(during.failure ?? "")) {
      during = await call(server.url, AssignDiscussSettingsDocument, {}, w.token(w.mark));
    }
    expect(during.status, JSON.stringify(during)).toBe(503);
    expect(codeOfAnswer(during)).toBe("SERVICE_UNAVAILABLE");
    expect(during.ms).toBeLessThan(6_000);
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(503);
    const readyBody = (await ready.json()) as { checks: Record<string, string> };
    expect(readyBody.checks.database).toMatch(/^failing/);
    expect((await fetch(`${base()}/healthz`)).status).toBe(200);

    await sleep(Math.max(0, dueAt - Date.now()) + 1_000); // every due deadline passes during the outage
    expect(alive()).toBe(true);
    // The outage in the log: each 503 one warning line without a stack, the outage itself once per burst.
    const outageLines = output
      .slice(outageFrom)
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; res?: { statusCode: number }; err?: unknown });
    const unavailable = outageLines.filter((l) => l.res?.statusCode === 503);
    expect(unavailable.length).toBeGreaterThan(5);
    expect(unavailable.every((l) => l.level === 40 && l.err === undefined && l.msg === "request completed")).toBe(true);
    expect(outageLines.filter((l) => l.level >= 50).length, JSON.stringify(outageLines.filter((l) => l.level >= 50).slice(0, 3))).toBeLessThan(5);
    await pg.start();
    const restarted = Date.now();
    await until(async () => (await call(server.url, MeDocument, {}, w.token(w.mark))).data?.me.name === "Mark", 5_000, 100);
    expect(Date.now() - restarted).toBeLessThan(5_000);
    await sleep(1_500);
    running = false;
    await Promise.all(workers.map((x) => x.done));
    expect(alive()).toBe(true);

    // The deadlines that passed during the outage fire once the database is back.
    await until(async () => {
      const rows = await pg.dataSource.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM assignment_requests WHERE id = ANY($1) AND status = 'TIMED_OUT'`,
        [due],
      );
      return rows[0]?.n === due.length;
    }, 5_000, 100);

    // The chain's deadline passed during the outage: exactly one hop, to Tom.
    const hops = await pg.dataSource.query<Array<{ recipient_id: string }>>(`SELECT recipient_id FROM assignment_requests WHERE previous_request_id = $1`, [due[0]]);
    expect(hops).toEqual([{ recipient_id: w.tom.id }]);
    // The BI rollup's refresh failed during the outage (logged, the process lived) and works again after it.
    await until(() => /bi rollup refresh works again/.test(output), 5_000, 100);
    expect(output).toMatch(/bi rollup refresh failed; retrying next round/);

    // Every answer is a real one: data, or a documented code; never a masked internal error.
    const codes = new Set(outcomes.map((o) => codeOfAnswer(o.answer) ?? (o.answer.data ? "OK" : `HTTP ${o.answer.status} ${o.answer.failure ?? ""}`)));
    expect([...codes].filter((c) => !["OK", "SERVICE_UNAVAILABLE", "REQUEST_NOT_PENDING", "ASSIGNMENT_ALREADY_PENDING"].includes(c))).toEqual([]);
    expect(outcomes.filter((o) => codeOfAnswer(o.answer) === "SERVICE_UNAVAILABLE").length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.answer.data).length).toBeGreaterThan(20);

    // What the clients were told is what Postgres holds (answers cut off by the outage say whether they committed).
    const statusOf = new Map(
      (await pg.dataSource.query<Array<{ id: string; status: string }>>(`SELECT id, status FROM assignment_requests`)).map((r) => [r.id, r.status]),
    );
    for (const o of outcomes) {
      if (o.op === "assign" && o.answer.data) expect(statusOf.has(o.requestId!)).toBe(true);
      if (o.op === "accept" && o.answer.data) expect(statusOf.get(o.requestId!)).toBe("ACCEPTED");
      if (o.op === "withdraw" && o.answer.data) expect(statusOf.get(o.requestId!)).toBe("WITHDRAWN");
    }

    // Invariants: one record per request with the same status; one pending per chat; one event per transition.
    const [mismatch] = await pg.dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM assignment_requests r
         LEFT JOIN engagement_tracking_records t ON t.request_id = r.id
        WHERE t.id IS NULL OR t.status <> r.status`,
    );
    expect(mismatch?.n).toBe(0);
    const [doublePending] = await pg.dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM (SELECT chat_session_id FROM assignment_requests WHERE status = 'PENDING'
         GROUP BY chat_session_id HAVING count(*) > 1) x`,
    );
    expect(doublePending?.n).toBe(0);
    const [eventsOff] = await pg.dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM assignment_requests r
        WHERE (SELECT count(*) FROM assignment_events e WHERE e.request_id = r.id)
              <> CASE WHEN r.status = 'PENDING' THEN 1 ELSE 2 END
           OR NOT EXISTS (SELECT 1 FROM assignment_events e WHERE e.request_id = r.id AND e.type = 'CREATED')
           OR (r.status <> 'PENDING' AND NOT EXISTS (SELECT 1 FROM assignment_events e WHERE e.request_id = r.id AND e.type = r.status))`,
    );
    expect(eventsOff?.n).toBe(0);
    const [events] = await pg.dataSource.query<Array<{ n: number; distinct_n: number }>>(
      `SELECT count(*)::int AS n, count(DISTINCT sequence)::int AS distinct_n FROM assignment_events`,
    );
    expect(events?.n).toBe(events?.distinct_n);
    // The verifiable log (issue #25): the organization's chain is unbroken across the restart.
    const verdict = await new AuditService(pg.dataSource, null).verify(w.organizationId, null);
    expect(verdict, JSON.stringify(verdict)).toMatchObject({ ok: true, events: events?.n });
    expect(output).not.toMatch(/Unhandled 'error' event|uncaught/i);
  }, 60_000);
});
