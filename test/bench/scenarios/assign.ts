import pino from "pino";
import type { PoolClient } from "pg";
import type { User } from "../../../src/modules/users/user.entity";
import { RecipientType } from "../../../src/modules/assignments/assignment-request.entity";
import { TEST_JWT_SECRET } from "../../support/factories";
import { createBatonPubSub } from "../../../src/events/pubsub";
import { createServices } from "../../../src/services";
import { randomUUID } from "node:crypto";
import { spawnLeanPeer } from "../peer-process";
import { stopServer } from "../../support/process";
import { type Bench, gql, log, UUID } from "../support";
import { closedLoop, cpuSpent, cpuTimes, ms, percentile } from "../stats";
import { DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY, DEFAULT_PING_PONG_MINUTES } from "../../../src/modules/settings/assign-discuss-settings.entity";

/**
 * Assign then accept, 16 concurrent clients, with the loop rules on at their defaults (issue #24):
 * each client hands chats around a trio of agents (A -> B -> C -> A: never straight back) and
 * takes its chats in turn from a pool of its own, so that no chat moves anywhere near 10 times
 * a day. A turn of the same cycles with the rules off measures what they cost.
 */
export async function assign(bench: Bench): Promise<void> {
  const { quick, ds, dbUrl, organizationId, s1, agents, token, newChats, counter, floorPool, rows } = bench;
  const CONC = 16;
  const cycleMs = quick ? 4_000 : 20_000;
  // Chats per client: every turn of every contender moves them (about 2,500 moves per client in a
  // full run), each chat at most a few times.
  const POOL = quick ? 200 : 1_000;
  const trios = Array.from({ length: CONC }, (_, i) => [agents[3 * i], agents[3 * i + 1], agents[3 * i + 2]] as const);
  const pools = await Promise.all(trios.map((t) => newChats(t[0].id, POOL)));
  /** Per client, per chat: who of the trio owns it now; and the client's next chat. */
  const holder = pools.map((p) => p.map(() => 0));
  const turn = pools.map(() => 0);
  /** The next cycle's chat and its way: from its owner to the next of the trio. */
  const nextMove = (i: number) => {
    const j = turn[i]++ % POOL;
    const k = holder[i][j];
    return { j, chat: pools[i][j], from: trios[i][k], to: trios[i][(k + 1) % 3], third: trios[i][(k + 2) % 3], done: () => (holder[i][j] = (k + 1) % 3) };
  };
  /** The loop rules as the organization sets them: at their defaults, or off (the bench organization starts with them off). */
  const loopRules = (on: boolean) =>
    ds.query(`UPDATE assign_discuss_settings SET ping_pong_minutes = $2, max_handovers_per_chat_per_day = $3 WHERE organization_id = $1`, [
      organizationId,
      on ? DEFAULT_PING_PONG_MINUTES : 0,
      on ? DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY : 0,
    ]);
  await loopRules(true);
  /**
   * The verifiable log's chain (issue #25) on, or off: its triggers disabled (and its columns
   * allowed empty) for the turn. Turned back on, the chain goes on from its head.
   */
  const chain = (on: boolean) =>
    ds.query(
      on
        ? `ALTER TABLE assignment_events ENABLE TRIGGER assignment_events_audit_link, ENABLE TRIGGER assignment_events_audit_head`
        : `ALTER TABLE assignment_events ALTER COLUMN previous_hash DROP NOT NULL, ALTER COLUMN hash DROP NOT NULL, ALTER COLUMN audit_record DROP NOT NULL,
             DISABLE TRIGGER assignment_events_audit_link, DISABLE TRIGGER assignment_events_audit_head`,
    );
  // What a front end asks (issue #21), of Baton and of the peer alike.
  const assignAsked = `mutation($input: AssignChatInput!) { assignChat(input: $input) { id status expiresAt recipient { id } sender { id } trackingRecord { id status } } }`;
  const acceptAsked = `mutation($id: ID!) { acceptAssignment(requestId: $id) { id status respondedAt trackingRecord { status responseSeconds } } }`;
  /** One cycle; `keyed`: each mutation with an Idempotency-Key of its own, as a careful client sends (issue #23). */
  const cycleAt = (url: string, keyed = false) => async (i: number) => {
    const m = nextMove(i);
    const key = (): Record<string, string> => (keyed ? { "idempotency-key": randomUUID() } : {});
    const sent = (await gql(url, token.get(m.from.id)!, assignAsked, {
      input: { chatSessionId: m.chat, recipientType: RecipientType.USER, recipientId: m.to.id },
    }, key())) as { assignChat: { id: string } };
    await gql(url, token.get(m.to.id)!, acceptAsked, { id: sent.assignChat.id }, key());
    m.done();
  };
  // Floor: the statements Baton sent for three cycles (around a trio, so the chat ends where it
  // started and every replayed statement does its work), replayed through pg.
  const services = createServices(ds, createBatonPubSub(), TEST_JWT_SECRET, pino({ level: "silent" }));
  const rec = { a: agents[900], b: agents[901], c: agents[902], chat: (await newChats(agents[900].id, 1))[0] };
  const asUser = async (id: string): Promise<User> => (await services.tokens.authenticate(`Bearer ${token.get(id)}`)).user;
  // Authentication as the server does it in steady state: the users are cached (see TokenService).
  await asUser(rec.a.id);
  await asUser(rec.b.id);
  await asUser(rec.c.id);
  counter.recording = [];
  const recordedAt = Date.now();
  const recordedRequests: string[] = [];
  /** The requests the replays made: each must end ACCEPTED, or the floor did not do the work. */
  const floorRequests: string[] = [];
  const RECORDED_CYCLES = 3;
  for (const [from, to] of [
    [rec.a, rec.b],
    [rec.b, rec.c],
    [rec.c, rec.a],
  ]) {
    const req = await services.handovers.assignChat(await asUser(from.id), { chatSessionId: rec.chat, recipientType: RecipientType.USER, recipientId: to.id });
    await services.handovers.acceptAssignment(await asUser(to.id), req.id);
    recordedRequests.push(req.id);
  }
  const recorded = counter.recording;
  counter.recording = null;
  const statementsPerCycle = recorded.length / RECORDED_CYCLES;
  const fixed = new Set([organizationId]);
  const replay = async (client: PoolClient, i: number) => {
    const m = nextMove(i);
    const map = new Map<string, string>([
      [rec.a.id, m.from.id],
      [rec.b.id, m.to.id],
      [rec.c.id, m.third.id],
      [rec.chat, m.chat],
    ]);
    const swap = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(swap);
      // Times move to now, keeping their distance (a deadline stays 120 s after its request).
      if (v instanceof Date) return new Date(v.getTime() + (Date.now() - recordedAt));
      if (typeof v === "string" && UUID.test(v) && !fixed.has(v)) {
        if (!map.has(v)) map.set(v, randomUUID());
        return map.get(v);
      }
      return v;
    };
    for (const id of recordedRequests) floorRequests.push(swap(id) as string);
    // Prepared, as Baton's own statements are (src/db/sql.ts): the floor is the database's cost of them.
    for (const [k, s] of recorded.entries()) {
      try {
        await client.query({ name: `floor-${k}`, text: s.query, values: s.parameters.map(swap) });
      } catch (err) {
        firstFloorError ??= `${(err as Error).message} in: ${s.query.slice(0, 80)}`;
        throw err;
      }
    }
    // Around the trio and back: the chat's owner is where it was.
  };
  let firstFloorError: string | undefined;


  // Baton, the lean peer and the floor take turns, several rounds each, so the drift of a shared
  // machine falls on all three alike.
  const rounds = quick ? 2 : 4;
  // The peer's events: assignment_events as it was before the verifiable log (its indexes and foreign keys, no chain).
  await ds.query(`
    DROP TABLE IF EXISTS lean_peer_events;
    CREATE TABLE lean_peer_events (LIKE assignment_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
    ALTER TABLE lean_peer_events
      ALTER COLUMN facts DROP NOT NULL, ALTER COLUMN previous_hash DROP NOT NULL, ALTER COLUMN hash DROP NOT NULL, ALTER COLUMN audit_record DROP NOT NULL,
      ADD FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
      ADD FOREIGN KEY (request_id) REFERENCES assignment_requests (id),
      ADD FOREIGN KEY (tracking_record_id) REFERENCES engagement_tracking_records (id),
      ADD FOREIGN KEY (chat_session_id) REFERENCES chat_sessions (id),
      ADD FOREIGN KEY (actor_id) REFERENCES users (id),
      ADD FOREIGN KEY (from_user_id) REFERENCES users (id),
      ADD FOREIGN KEY (to_user_id) REFERENCES users (id)`);
  const peer = await spawnLeanPeer(dbUrl);
  const lockedPeer = await spawnLeanPeer(dbUrl, { orgLock: true });
  const clients = await Promise.all(trios.map(() => floorPool.connect()));
  const floorCycle = (i: number) => replay(clients[i], i);
  const baton = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  const lean = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  const floorRun = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  const locked = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  const keyed = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  /** The loop rules' cost: Baton's cycles with the rules on and off, in ABBA order after the rounds. */
  const ruled = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  const unruled = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  /** The chain's cost (issue #25): the same cycles with the chain on and off, in ABBA order. */
  const chained = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  const unchained = { latencies: [] as number[], elapsedMs: 0, errors: 0 };
  /** CPU ms each server (and Postgres) spent during Baton's and the peer's turns. */
  const cpu = { Baton: { server: 0, postgres: 0 }, "lean peer": { server: 0, postgres: 0 } } as Record<string, { server: number; postgres: number }>;
  const pids = { Baton: s1.child.pid, "lean peer": peer.child.pid };
  try {
    await closedLoop(CONC, 1_000, cycleAt(s1.url)); // warm-up
    await closedLoop(CONC, 1_000, cycleAt(peer.url));
    await closedLoop(CONC, 1_000, floorCycle);
    await closedLoop(CONC, 1_000, cycleAt(lockedPeer.url));
    await closedLoop(CONC, 1_000, cycleAt(s1.url, true));
    // The last element: the loop rules on (their defaults) or off, for the turn.
    const turns = [
      ["Baton", cycleAt(s1.url), baton, true],
      ["Baton with an Idempotency-Key on every mutation", cycleAt(s1.url, true), keyed, true],
      ["lean peer", cycleAt(peer.url), lean, true],
      ["floor", floorCycle, floorRun, true],
      ["lean peer with the organization's lock", cycleAt(lockedPeer.url), locked, true],
    ] as const;
    for (let round = 0; round < rounds; round++) {
      // Each round starts one further along: a turn's place in the round (after which other turn,
      // at a round's start) falls on each in turn, not always on the same one. A stall the machine
      // brings (autovacuum after a turn's churn) was measured to hit whichever turn came next.
      const shift = round % turns.length;
      for (const [name, cycle, into, rules] of [...turns.slice(shift), ...turns.slice(0, shift)]) {
        log(`assign/accept: ${name}, round ${round + 1} of ${rounds}`);
        await loopRules(rules);
        const before = cpuTimes(pids);
        const r = await closedLoop(CONC, cycleMs / rounds, cycle);
        const spent = cpuSpent(before, cpuTimes(pids));
        if (cpu[name]) {
          cpu[name].server += spent[name] ?? 0;
          cpu[name].postgres += spent.postgres ?? 0;
        }
        into.latencies.push(...r.latencies);
        into.elapsedMs += r.elapsedMs;
        into.errors += r.errors;
      }
    }
    // The rules' cost, measured apart from the rounds: in the rounds a turn's place (after which
    // other turn) weighs more than 16 µs of SQL, so on and off alternate here, in ABBA order,
    // each directly after the other.
    /** Baton's cycles with a feature on and off, each turn directly after the other, in ABBA order. */
    const abba = async (what: string, set: (on: boolean) => Promise<unknown>, on: typeof ruled, off: typeof ruled) => {
      for (const [k, enabled] of [true, false, false, true, true, false, false, true].entries()) {
        log(`assign/accept: Baton with ${what} ${enabled ? "on" : "off"}, ${k + 1} of 8`);
        await set(enabled);
        const r = await closedLoop(CONC, quick ? 1_000 : 5_000, cycleAt(s1.url));
        const into = enabled ? on : off;
        into.latencies.push(...r.latencies);
        into.elapsedMs += r.elapsedMs;
        into.errors += r.errors;
      }
    };
    await abba("the loop rules", loopRules, ruled, unruled);
    await loopRules(true);
    await abba("the event chain", chain, chained, unchained);
  } finally {
    clients.forEach((c) => c.release());
    await stopServer(peer);
    await stopServer(lockedPeer);
    await loopRules(false); // as the other scenarios expect the bench organization
    await chain(true);
  }
  // Each replay is three cycles; each must really have moved the chat around its trio.
  const [{ n: moved }] = await ds.query<Array<{ n: number }>>(
    `SELECT count(*)::int AS n FROM assignment_requests WHERE id = ANY($1) AND status = 'ACCEPTED'`,
    [floorRequests],
  );
  if (moved !== floorRequests.length || floorRun.errors > 0) {
    throw new Error(`the floor's replay did not do the work: ${moved} of ${floorRequests.length} requests accepted (${floorRun.errors} errors; first: ${firstFloorError})`);
  }
  const floor = { latencies: [...floorRun.latencies, ...floorRun.latencies, ...floorRun.latencies], elapsedMs: floorRun.elapsedMs };
  const batonRate = baton.latencies.length / (baton.elapsedMs / 1000);
  const floorRate = floor.latencies.length / (floor.elapsedMs / 1000);
  const leanRate = lean.latencies.length / (lean.elapsedMs / 1000);
  rows.push({
    scenario: `assign then accept against the lean peer (hand-written Apollo + express + pg, 7 round trips per mutation, no lock but the chat's), both asked for people and record as a front end asks, ${CONC} clients, ${cycleMs / 1000} s each`,
    figure: `${batonRate.toFixed(0)} cycles/s; ${statementsPerCycle} SQL statements/cycle, ${(statementsPerCycle / 2).toFixed(1)} round trips per mutation; p50 ${ms(percentile(baton.latencies, 50))}, p99 ${ms(percentile(baton.latencies, 99))}`,
    floor: `${leanRate.toFixed(0)} cycles/s; p50 ${ms(percentile(lean.latencies, 50))}, p99 ${ms(percentile(lean.latencies, 99))}${lean.errors ? `; ${lean.errors} errors` : ""}`,
    ratio: (batonRate / leanRate).toFixed(2),
    target: ">= 1.0",
    met: batonRate / leanRate >= 1 ? "yes" : "no",
  });
  const p50 = percentile(baton.latencies, 50);
  const p99 = percentile(baton.latencies, 99);
  const lockedRate = locked.latencies.length / (locked.elapsedMs / 1000);
  const perCycle = (name: string, cycles: number) =>
    cycles > 0 ? `${(cpu[name].server / cycles).toFixed(2)} ms server + ${(cpu[name].postgres / cycles).toFixed(2)} ms Postgres CPU per cycle` : "n/a";
  rows.push({
    scenario: `assign then accept against the lean peer whose event also takes the organization's lock (as Baton's does, so that sequences follow commit order): an extra row, not the judged one; and CPU per cycle, by process, in the judged row's turns`,
    figure: `${batonRate.toFixed(0)} cycles/s; ${perCycle("Baton", baton.latencies.length)}`,
    floor: `${lockedRate.toFixed(0)} cycles/s; p50 ${ms(percentile(locked.latencies, 50))}, p99 ${ms(percentile(locked.latencies, 99))}${locked.errors ? `; ${locked.errors} errors` : ""}; the peer without the lock: ${perCycle("lean peer", lean.latencies.length)}`,
    ratio: (batonRate / lockedRate).toFixed(2),
    target: "",
    met: "",
  });
  const keyedRate = keyed.latencies.length / (keyed.elapsedMs / 1000);
  rows.push({
    scenario: `assign then accept with an Idempotency-Key on every mutation (issue #23), against the same cycle without keys in the same run, ${CONC} clients`,
    figure: `${keyedRate.toFixed(0)} cycles/s; p50 ${ms(percentile(keyed.latencies, 50))}, p99 ${ms(percentile(keyed.latencies, 99))}${keyed.errors ? `; ${keyed.errors} errors` : ""}`,
    floor: `${batonRate.toFixed(0)} cycles/s without keys`,
    ratio: (keyedRate / batonRate).toFixed(2),
    target: ">= 0.9",
    met: keyedRate / batonRate >= 0.9 && keyed.errors === 0 ? "yes" : "no",
  });
  const ruledRate = ruled.latencies.length / (ruled.elapsedMs / 1000);
  const unruledRate = unruled.latencies.length / (unruled.elapsedMs / 1000);
  rows.push({
    scenario: `assign then accept with the loop rules on at their defaults (issue #24: 30 min ping-pong, 10 handovers per chat per day; on in the judged rows), against the same cycles with them off: ${quick ? 1 : 5} s turns in ABBA order (on, off, off, on, ...), four of each, ${CONC} clients`,
    figure: `${ruledRate.toFixed(0)} cycles/s with the rules on; p50 ${ms(percentile(ruled.latencies, 50))}, p99 ${ms(percentile(ruled.latencies, 99))}${ruled.errors ? `; ${ruled.errors} errors` : ""}`,
    floor: `${unruledRate.toFixed(0)} cycles/s with the rules off; p50 ${ms(percentile(unruled.latencies, 50))}, p99 ${ms(percentile(unruled.latencies, 99))}${unruled.errors ? `; ${unruled.errors} errors` : ""}`,
    ratio: (ruledRate / unruledRate).toFixed(2),
    target: ">= 0.95",
    met: ruledRate / unruledRate >= 0.95 && ruled.errors === 0 ? "yes" : "no",
  });
  const chainedRate = chained.latencies.length / (chained.elapsedMs / 1000);
  const unchainedRate = unchained.latencies.length / (unchained.elapsedMs / 1000);
  rows.push({
    scenario: `assign then accept with the verifiable log's hash chain (issue #25: on in every other row), against the same cycles with its triggers off: ${quick ? 1 : 5} s turns in ABBA order, four of each, ${CONC} clients, loop rules on`,
    figure: `${chainedRate.toFixed(0)} cycles/s with the chain; p50 ${ms(percentile(chained.latencies, 50))}, p99 ${ms(percentile(chained.latencies, 99))}${chained.errors ? `; ${chained.errors} errors` : ""}`,
    floor: `${unchainedRate.toFixed(0)} cycles/s without; p50 ${ms(percentile(unchained.latencies, 50))}, p99 ${ms(percentile(unchained.latencies, 99))}${unchained.errors ? `; ${unchained.errors} errors` : ""}`,
    ratio: (chainedRate / unchainedRate).toFixed(2),
    target: ">= 0.9",
    met: chainedRate / unchainedRate >= 0.9 && chained.errors === 0 ? "yes" : "no",
  });
  rows.push({
    scenario: `assign then accept, ${CONC} concurrent clients: Baton's tail (p99 / p50 of a cycle)`,
    figure: `p50 ${ms(p50)}, p99 ${ms(p99)}`,
    floor: "",
    ratio: (p99 / p50).toFixed(2),
    target: "<= 2.5",
    met: p99 / p50 <= 2.5 ? "yes" : "no",
  });
  rows.push({
    scenario: `assign then accept, ${CONC} concurrent clients, ${cycleMs / 1000} s`,
    figure: `${batonRate.toFixed(0)} cycles/s; p50 ${ms(p50)}, p99 ${ms(p99)}${baton.errors ? `; ${baton.errors} errors` : ""}`,
    floor: `${floorRate.toFixed(0)} cycles/s (${statementsPerCycle} statements/cycle through pg)`,
    ratio: (batonRate / floorRate).toFixed(2),
    target: ">= 0.5",
    met: batonRate / floorRate >= 0.5 ? "yes" : "no",
  });
}
