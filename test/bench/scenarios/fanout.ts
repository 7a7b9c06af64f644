import { fork, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../../src/db/embedded-postgres";
import { TokenService } from "../../../src/modules/auth/token.service";
import { TEST_JWT_SECRET } from "../../support/factories";
import { spawnServer, type ServerProcess } from "../../support/process";
import { cpuSpent, cpuTimes, ms, percentile, rssMb } from "../stats";
import { type Bench, gql, log, sleep } from "../support";

// Issue #27: ten thousand agents on one instance. The server and the subscribers run as separate
// processes (test/bench/socket-clients.ts holds the sockets); the load comes from the bench.

const ORG_EVENTS = `subscription { assignmentEvents(scope: ORGANIZATION) { sequence type request { id } chatSession { id owner { id name } } } }`;
const MY_EVENTS = `subscription { assignmentEvents(scope: MINE) { sequence type request { id } chatSession { id owner { id name } } } }`;
const MY_NOTIFICATIONS = `subscription { notificationReceived { id message } }`;
const ASSIGN = `mutation($input: AssignChatInput!) { assignChat(input: $input) { id } }`;
const ACCEPT = `mutation($id: ID!) { acceptAssignment(requestId: $id) { id } }`;

interface Clients {
  child: ChildProcess;
  ask<T>(message: string): Promise<T>;
}

async function startClients(url: string, sockets: Array<{ token: string; subscriptions: string[] }>): Promise<Clients> {
  const file = path.join(tmpdir(), `baton-fanout-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify({ url, sockets }));
  const child = fork(path.join(__dirname, "..", "socket-clients.js"), [], {
    env: { ...process.env, SPEC_FILE: file },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: ["--max-old-space-size=4096", ...(process.env.FANOUT_CLIENT_ARGS?.split(" ").filter(Boolean) ?? [])],
  });
  await new Promise<void>((resolve) => child.once("message", () => resolve()));
  return {
    child,
    ask: <T>(message: string) =>
      new Promise<T>((resolve) => {
        child.once("message", (m) => resolve(m as T));
        child.send(message);
      }),
  };
}

/** Waits until no event has arrived for a second (at most `maxMs`): what is late is not missing. */
async function quiet(c: Clients, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  let last = -1;
  for (;;) {
    const n = await c.ask<number>("count");
    if (n === last || Date.now() > end) return;
    last = n;
    await sleep(1_000);
  }
}

async function stopClients(c: Clients): Promise<void> {
  c.child.send("close");
  await new Promise((resolve) => c.child.once("exit", resolve));
}

/** The server's V8 heap in use, from its metrics (the lowest of a few samples: between collections). */
/** The server's memory beyond RSS, for the log: V8's heap as committed (by space) and memory outside it. */
async function memoryNote(metricsPort: number): Promise<string> {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
  const mbOf = (re: RegExp) => (Number(re.exec(text)?.[1] ?? "NaN") / 2 ** 20).toFixed(0);
  const spaces = ["new", "old", "code", "large_object"].map((space) => `${space} ${mbOf(new RegExp(`^nodejs_heap_space_size_total_bytes\\{space="${space}"\\} (\\S+)`, "m"))}`);
  return `heap committed ${mbOf(/^nodejs_heap_size_total_bytes (\S+)/m)} MB (${spaces.join(", ")}), external ${mbOf(/^nodejs_external_memory_bytes (\S+)/m)} MB`;
}

async function heapMb(metricsPort: number): Promise<number> {
  let lowest = Infinity;
  for (let i = 0; i < 5; i++) {
    const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    const used = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? "NaN");
    lowest = Math.min(lowest, used / 2 ** 20);
    await sleep(200);
  }
  return lowest;
}

/**
 * The server's event-loop delay since its metrics were last read (prom-client's histogram starts
 * again on every read), in ms.
 */
async function serverLoopDelay(metricsPort: number): Promise<{ maxMs: number; p99Ms: number }> {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? "NaN") * 1000;
  return { maxMs: read("nodejs_eventloop_lag_max_seconds"), p99Ms: read("nodejs_eventloop_lag_p99_seconds") };
}

/** Waits until the server holds `n` live subscriptions (its metrics): every socket's subscribe has been admitted. */
async function subscribed(metricsPort: number, n: number, maxMs: number): Promise<number> {
  const end = Date.now() + maxMs;
  for (;;) {
    const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    const live = Number(/^baton_subscriptions (\S+)/m.exec(text)?.[1] ?? "0");
    if (live >= n || Date.now() > end) return live;
    await sleep(500);
  }
}

type Arrival = [number, string, number];
interface Report {
  arrivals: Arrival[];
  notifications: number;
  closes: Record<string, number>;
  loop: { maxMs: number; p99Ms: number };
}

const mb = (n: number): string => `${n.toFixed(0)} MB`;
const kb = (n: number): string => `${n.toFixed(1)} kB`;

export async function fanout(bench: Bench): Promise<void> {
  const { quick, ds, dbUrl, organizationId, rows } = bench;
  const AGENTS = quick ? 1_000 : 10_000;
  const MANAGERS = 50;
  const RATE = 50;
  const SECONDS = quick ? 10 : 60;
  const WORST = quick ? 2_000 : 10_000;
  const WORST_EVENTS = 20;
  const SETTLE_MS = quick ? 10_000 : 60_000;

  log(`fan-out: seeding ${AGENTS} agents and ${MANAGERS} managers`);
  const seeded = await ds.query<Array<{ id: string; role: string }>>(
    `INSERT INTO users (organization_id, email, name, role)
     SELECT $1, 'fan' || g || '@bench.test', 'Fan ' || g, CASE WHEN g < $2 THEN 'MANAGER' ELSE 'USER' END
       FROM generate_series(0, $3 - 1) g RETURNING id, role`,
    [organizationId, MANAGERS, MANAGERS + AGENTS],
  );
  const managers = seeded.filter((u) => u.role === "MANAGER").map((u) => u.id);
  const agents = seeded.filter((u) => u.role === "USER").map((u) => u.id);
  const tokens = new TokenService(TEST_JWT_SECRET, ds);
  const token = new Map(seeded.map((u) => [u.id, tokens.sign(u.id, 7200)]));
  const handovers = RATE * SECONDS;
  // A warm-up at the same rate, before anything is read: the server has served handovers before,
  // as a contact centre's has when its agents' sockets open (its code compiled, its pool's
  // connections open and their statements prepared). Not judged.
  const WARM_SECONDS = 5;
  const senders = Array.from({ length: handovers + RATE * WARM_SECONDS }, (_, i) => agents[(i * 7919) % agents.length]);
  const chats = (
    await ds.query<Array<{ id: string }>>(
      `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id)
       SELECT $1, 'Fan customer ' || o, '+1415777' || lpad(o::text, 5, '0'), owner FROM unnest($2::uuid[]) WITH ORDINALITY AS t(owner, o) ORDER BY o RETURNING id`,
      [organizationId, senders],
    )
  ).map((r) => r.id);

  const metricsPort = await freePort();
  const server: ServerProcess = await spawnServer(dbUrl, {
    DB_POOL_SIZE: "20",
    RATE_LIMIT_PER_MINUTE: "1000000",
    RATE_LIMIT_PER_IP_PER_MINUTE: "10000000",
    WS_MAX_SOCKETS_PER_USER: String(Math.min(WORST + 10, 10_000)),
    WS_MAX_UNAUTHENTICATED_SOCKETS: "5000",
    METRICS_PORT: String(metricsPort),
  });
  bench.servers.push(server);
  const pid = server.child.pid!;
  const answered = new Map<string, number>(); // "requestId:TYPE" -> when the mutation's answer arrived
  const started = new Map<string, number>();
  const parties = new Map<string, [number, number]>(); // requestId -> [sender socket, recipient socket]
  const agentIndex = new Map(agents.map((id, i) => [id, i]));
  let failures = 0;
  /** Handovers `from` to `to` (assign, then the recipient accepts) at RATE from now; `judged`: their times are kept. */
  const drive = async (from: number, to: number, judged: boolean): Promise<void> => {
    const start = performance.now();
    const inFlight: Array<Promise<void>> = [];
    for (let i = from; i < to; i++) {
      const due = start + ((i - from) * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const sender = senders[i];
      let recipient = agents[Math.floor(Math.random() * agents.length)];
      if (recipient === sender) recipient = agents[(agentIndex.get(sender)! + 1) % agents.length];
      inFlight.push(
        (async () => {
          const began = performance.timeOrigin + performance.now();
          const sent = (await gql(server.url, token.get(sender)!, ASSIGN, { input: { chatSessionId: chats[i], recipientType: "USER", recipientId: recipient } }).catch(
            (err: unknown) => (log(`assign failed: ${(err as Error).message}`), {}),
          )) as { assignChat?: { id: string } };
          const id = sent.assignChat?.id;
          if (!id) {
            failures++;
            return;
          }
          if (judged) {
            answered.set(`${id}:CREATED`, performance.timeOrigin + performance.now());
            started.set(`${id}:CREATED`, began);
            parties.set(id, [agentIndex.get(sender)!, agentIndex.get(recipient)!]);
          }
          const acceptBegan = performance.timeOrigin + performance.now();
          const accepted = (await gql(server.url, token.get(recipient)!, ACCEPT, { id }).catch((err: unknown) => (log(`accept failed: ${(err as Error).message}`), {}))) as {
            acceptAssignment?: { id: string };
          };
          if (!accepted.acceptAssignment) {
            failures++;
            return;
          }
          if (judged) {
            answered.set(`${id}:ACCEPTED`, performance.timeOrigin + performance.now());
            started.set(`${id}:ACCEPTED`, acceptBegan);
          }
        })(),
      );
    }
    await Promise.all(inFlight);
  };

  // The server's memory trims (MEMORY_TRIM), for the figures: when, how long, what they gave back.
  const trims: Array<{ ms: number }> = [];
  let serverLog = "";
  server.child.stdout?.on("data", (chunk: Buffer) => {
    serverLog += chunk.toString();
    const lines = serverLog.split("\n");
    serverLog = lines.pop() ?? "";
    for (const line of lines) if (line.includes("memory trimmed")) trims.push(JSON.parse(line) as { ms: number });
  });
  const trimNote = (since: number): string => {
    const these = trims.slice(since);
    return these.length === 0 ? "no memory trim" : `memory trimmed ${these.length}x: ${these.map((t) => `a ${t.ms} ms pause`).join(", ")}`;
  };
  try {
    // ---- (a) a contact centre ----
    const snapshot = async () => {
      if (!process.env.FANOUT_SNAPSHOT) return;
      process.kill(pid, "SIGUSR2");
      await sleep(15_000);
    };
    // Memory per idle socket is read at rest: once the server has trimmed after the busy spell
    // (starting, then opening 10,000 sockets), or after `maxMs` if it has none. Read sooner, the
    // opening's garbage and its grown young generation (32 MB) counted as the sockets'.
    const atRest = async (maxMs: number): Promise<string> => {
      const since = trims.length;
      const began = Date.now();
      while (trims.length <= since && Date.now() - began < maxMs) await sleep(250);
      return trims.length > since ? `at rest after a memory trim ${((Date.now() - began) / 1000).toFixed(0)} s later` : `no memory trim within ${maxMs / 1000} s`;
    };
    log(`fan-out (a): warming up, ${RATE * WARM_SECONDS} handovers at ${RATE}/s with no socket open`);
    await drive(handovers, handovers + RATE * WARM_SECONDS, false);
    const restIdle = await atRest(20_000);
    await snapshot();
    const trimsA = trims.length;
    const rssIdle = await rssMb(pid);
    const heapIdle = await heapMb(metricsPort);
    const sockets = [
      ...agents.map((id) => ({ token: token.get(id)!, subscriptions: [MY_EVENTS, MY_NOTIFICATIONS] })),
      ...managers.map((id) => ({ token: token.get(id)!, subscriptions: [ORG_EVENTS] })),
    ];
    log(`fan-out (a): opening ${sockets.length} sockets`);
    const clients = await startClients(server.url, sockets);
    const opened = await clients.ask<{ opened: number; failed: number }>("open");
    const live = await subscribed(metricsPort, agents.length * 2 + managers.length, 180_000);
    log(`fan-out (a): ${live} subscriptions live`);
    await sleep(2_000);
    const restOpen = await atRest(30_000);
    log(`fan-out (a): idle ${restIdle}; with the sockets open ${restOpen}`);
    await snapshot();
    const rssOpen = await rssMb(pid);
    const heapOpen = await heapMb(metricsPort);
    log(`fan-out (a): with the sockets open, ${await memoryNote(metricsPort)}`);
    log(`fan-out (a): ${opened.opened} open (${opened.failed} failed); RSS ${mb(rssIdle)} -> ${mb(rssOpen)}; ${handovers} handovers at ${RATE}/s`);

    // What else is pending in the organization would fall due in the load (another scenario's
    // requests timing out together, say): said, since its events reach the managers' sockets too.
    const pending = Number((await ds.query<Array<{ n: string }>>(`SELECT count(*) AS n FROM assignment_requests WHERE organization_id = $1 AND status = 'PENDING'`, [organizationId]))[0].n);
    if (pending > 0) log(`fan-out (a): ${pending} requests of earlier scenarios still pending in the organization`);
    await clients.ask<string>("load");
    await serverLoopDelay(metricsPort); // its histogram starts again from here
    const cpuBefore = cpuTimes({ server: pid });
    const t0 = performance.now();
    await drive(0, handovers, true);
    const elapsed = (performance.now() - t0) / 1000;
    const serverLoop = await serverLoopDelay(metricsPort);
    await quiet(clients, 120_000);
    const cpu = cpuSpent(cpuBefore, cpuTimes({ server: pid })).server ?? 0;
    const report = await clients.ask<Report>("report");
    const rssAfter = await rssMb(pid);
    const heapAfter = await heapMb(metricsPort);
    log(`fan-out (a): after the load, ${await memoryNote(metricsPort)}`);

    // Every expected event once: the managers' sockets get all, the two agents' their own.
    const firstManager = agents.length;
    const got = new Map<string, number>();
    for (const [socket, key] of report.arrivals) got.set(`${socket}|${key}`, (got.get(`${socket}|${key}`) ?? 0) + 1);
    let expected = 0;
    let missing = 0;
    let twice = 0;
    const missingBy = new Map<string, number>();
    const fromAnswer: number[] = [];
    const fromStart: number[] = [];
    for (const [, key, at] of report.arrivals) {
      const a = answered.get(key);
      if (a === undefined) continue;
      fromAnswer.push(Math.max(0, at - a));
      fromStart.push(at - started.get(key)!);
    }
    for (const key of answered.keys()) {
      const [sender, recipient] = parties.get(key.split(":")[0])!;
      const targets = [sender, recipient, ...managers.map((_, m) => firstManager + m)];
      for (const s of targets) {
        expected++;
        const n = got.get(`${s}|${key}`) ?? 0;
        if (n === 0) {
          missing++;
          const who = s === sender ? "sender" : s === recipient ? "recipient" : "manager";
          missingBy.set(`${who} ${key.split(":")[1]}`, (missingBy.get(`${who} ${key.split(":")[1]}`) ?? 0) + 1);
        }
        if (n > 1) twice++;
      }
    }
    const delivered = expected - missing;
    if (missing > 0) log(`fan-out (a): missing ${JSON.stringify(Object.fromEntries(missingBy))}; closes ${JSON.stringify(report.closes)}`);
    const perSocketKb = ((rssOpen - rssIdle) * 1024) / sockets.length;
    const heapPerSocketKb = ((heapOpen - heapIdle) * 1024) / sockets.length;
    log(`fan-out (a): waiting ${SETTLE_MS / 1000} s for memory to settle`);
    await sleep(SETTLE_MS);
    const rssLater = await rssMb(pid);
    const heapLater = await heapMb(metricsPort);
    log(`fan-out (a): ${SETTLE_MS / 1000} s later, ${await memoryNote(metricsPort)}`);
    const p99 = percentile(fromAnswer, 99);
    const flat = rssLater <= rssOpen * 1.1;
    // Where the tail comes from: the seconds of the load whose arrivals were late, and each
    // process's longest stall (an arrival is stamped late by the clients' own stalls too).
    const slowSeconds = new Set<number>();
    for (const [, key, at] of report.arrivals) {
      const a = answered.get(key);
      if (a !== undefined && at - a > 250) slowSeconds.add(Math.floor((a - (performance.timeOrigin + t0)) / 1000));
    }
    const slowList = [...slowSeconds].sort((x, y) => x - y);
    const shown = slowList.slice(0, 8).join(", ") + (slowList.length > 8 ? ", …" : "");
    // Not judged (the judged p99 is over every arrival): after the first 5 s, a warm server.
    const warm: number[] = [];
    for (const [, key, at] of report.arrivals) {
      const a = answered.get(key);
      if (a !== undefined && a - (performance.timeOrigin + t0) >= 5_000) warm.push(Math.max(0, at - a));
    }
    const diagnosis = `p99 of the handovers after the first 5 s ${ms(percentile(warm, 99))}, not judged; arrivals over 250 ms in ${slowSeconds.size} of ${SECONDS} seconds${slowList.length === 0 ? "" : ` (at ${shown} s)`}; longest event-loop stall during the load: server ${ms(serverLoop.maxMs)} (p99 ${ms(serverLoop.p99Ms)}), clients ${ms(report.loop.maxMs)} (p99 ${ms(report.loop.p99Ms)})`;
    rows.push({
      scenario: `fan-out, a contact centre: ${AGENTS.toLocaleString("en")} agents' sockets (assignmentEvents MINE + notificationReceived), ${MANAGERS} managers following the organization, handovers (assign + accept) between random agents at ${RATE}/s for ${SECONDS} s; clients in a process of their own`,
      figure: `${answered.size / 2 | 0} handovers (${(handovers / elapsed).toFixed(1)}/s, ${failures} failed); ${delivered} of ${expected} expected events delivered, ${missing} missing, ${twice} twice (+ ${report.notifications} notifications); from the mutation's answer p50 ${ms(percentile(fromAnswer, 50))}, p99 ${ms(p99)} (from its start p99 ${ms(percentile(fromStart, 99))}; ${diagnosis}); server CPU ${((cpu / 1000 / elapsed) * 100).toFixed(0)} % of a core (${(cpu / handovers).toFixed(2)} ms per handover); RSS idle ${mb(rssIdle)} -> ${mb(rssOpen)} with ${opened.opened} sockets, both read at rest (${restIdle}; ${restOpen}) (${kb(perSocketKb)} per socket; heap ${mb(heapIdle)} -> ${mb(heapOpen)}, ${kb(heapPerSocketKb)} per socket) -> ${mb(rssAfter)} after the load (heap ${mb(heapAfter)}) -> ${mb(rssLater)} ${SETTLE_MS / 1000} s later (heap ${mb(heapLater)}; ${trimNote(trimsA)})`,
      floor: "none",
      ratio: "",
      target: "p99 < 250 ms; RSS growth < 10 kB per socket; flat after the load (within 10 % of the sockets' RSS); every event once",
      met: p99 < 250 && perSocketKb < 10 && flat && missing === 0 && twice === 0 && failures === 0 ? "yes" : "no",
    });
    await stopClients(clients);
    if (process.env.FANOUT_ONLY_A) return;
    await sleep(2_000);

    // ---- (b) the worst case: every socket follows the organization ----
    const watcher = managers[0];
    const trimsB = trims.length;
    const rssIdleB = await rssMb(pid);
    log(`fan-out (b): opening ${WORST} sockets following the organization`);
    const worst = await startClients(
      server.url,
      Array.from({ length: WORST }, () => ({ token: token.get(watcher)!, subscriptions: [ORG_EVENTS] })),
    );
    const openedB = await worst.ask<{ opened: number; failed: number }>("open");
    await subscribed(metricsPort, WORST, 180_000);
    await sleep(2_000);
    const rssOpenB = await rssMb(pid);
    const heapOpenB = await heapMb(metricsPort);
    const answeredB = new Map<string, number>();
    const extra = (
      await ds.query<Array<{ id: string }>>(
        `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id)
         SELECT $1, 'Fan worst ' || g, '+1415888' || lpad(g::text, 4, '0'), $2 FROM generate_series(1, $3) g RETURNING id`,
        [organizationId, agents[0], WORST_EVENTS],
      )
    ).map((r) => r.id);
    const cpuBeforeB = cpuTimes({ server: pid });
    for (let i = 0; i < WORST_EVENTS; i++) {
      const sent = (await gql(server.url, token.get(agents[0])!, ASSIGN, { input: { chatSessionId: extra[i], recipientType: "USER", recipientId: agents[1 + i] } })) as {
        assignChat?: { id: string };
      };
      if (sent.assignChat) answeredB.set(`${sent.assignChat.id}:CREATED`, performance.timeOrigin + performance.now());
      await sleep(250);
    }
    await quiet(worst, 120_000);
    const cpuB = cpuSpent(cpuBeforeB, cpuTimes({ server: pid })).server ?? 0;
    const reportB = await worst.ask<Report>("report");
    const rssAfterB = await rssMb(pid);
    const heapAfterB = await heapMb(metricsPort);
    const latB: number[] = [];
    const perKey = new Map<string, number>();
    for (const [socket, key, at] of reportB.arrivals) {
      const a = answeredB.get(key);
      if (a === undefined) continue;
      latB.push(Math.max(0, at - a));
      perKey.set(`${socket}|${key}`, (perKey.get(`${socket}|${key}`) ?? 0) + 1);
    }
    const expectedB = WORST * answeredB.size;
    const onceB = [...perKey.values()].filter((n) => n === 1).length;
    log(`fan-out (b): waiting ${SETTLE_MS / 1000} s for memory to settle`);
    await sleep(SETTLE_MS);
    const rssLaterB = await rssMb(pid);
    const heapLaterB = await heapMb(metricsPort);
    const p99B = percentile(latB, 99);
    const backB = rssLaterB <= rssOpenB * 1.1;
    rows.push({
      scenario: `fan-out, the worst case: ${WORST.toLocaleString("en")} sockets following the organization, ${WORST_EVENTS} events; clients in a process of their own`,
      figure: `${onceB} of ${expectedB} deliveries once (${openedB.opened} sockets open); from the mutation's answer p50 ${ms(percentile(latB, 50))}, p99 ${ms(p99B)}; server CPU ${(cpuB / answeredB.size).toFixed(1)} ms per event; RSS ${mb(rssIdleB)} -> ${mb(rssOpenB)} with the sockets (idle; heap ${mb(heapOpenB)}) -> ${mb(rssAfterB)} after the events (heap ${mb(heapAfterB)}) -> ${mb(rssLaterB)} ${SETTLE_MS / 1000} s later (heap ${mb(heapLaterB)}; ${trimNote(trimsB)})`,
      floor: "none",
      ratio: "",
      target: "p99 < 1 s; back within 10 % of idle a minute after",
      met: p99B < 1_000 && backB && onceB === expectedB ? "yes" : "no",
    });
    await stopClients(worst);
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
    bench.servers.splice(bench.servers.indexOf(server), 1);
  }
}
