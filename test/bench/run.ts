/**
 * `npm run bench [-- --quick]`: Baton against a fresh database on loopback, driven by real HTTP and
 * graphql-ws clients, each figure beside the floor measured in the same run. Prints one table and
 * writes it to BENCHMARKS.md. Uses BENCH_DATABASE_URL's server when set, else an embedded Postgres;
 * REDIS_URL (default redis://127.0.0.1:6379) for the cross-instance scenario.
 */
import "reflect-metadata";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Pool, Pool as PgPool } from "pg";
import { createDataSource, QueryCounter } from "../../src/db/data-source";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres";
import { TokenService } from "../../src/modules/auth/token.service";
import { OrganizationService } from "../../src/modules/organizations/organization.service";
import { SettingsService } from "../../src/modules/settings/settings.service";
import { User } from "../../src/modules/users/user.entity";
import { TEST_JWT_SECRET } from "../support/factories";
import { spawnServer, type ServerProcess } from "../support/process";
import { assign } from "./scenarios/assign";
import { bulk } from "./scenarios/bulk";
import { cross } from "./scenarios/cross";
import { csv } from "./scenarios/csv";
import { delivery } from "./scenarios/delivery";
import { fanout } from "./scenarios/fanout";
import { expiry } from "./scenarios/expiry";
import { rollup } from "./scenarios/rollup";
import { page } from "./scenarios/page";
import { webhooks } from "./scenarios/webhooks";
import { suggest } from "./scenarios/suggest";
import { window } from "./scenarios/window";
import type { Bench, Row } from "./support";

const quick = process.argv.includes("--quick");
/** `--only=csv,bulk` runs just those scenarios (names: assign, delivery, fanout, cross, bulk, expiry, page, csv, rollup, webhooks, suggest, window). */
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const want = (name: string): boolean => !only || only.includes(name);
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** The scenarios, in the order they run (each in test/bench/scenarios/). */
// The reply window's calls run before the scenarios that bulk-load a year of records (csv, rollup,
// suggest): each of its calls commits, and it measured what the database was still writing out.
const SCENARIOS: Record<string, (bench: Bench) => Promise<void>> = { assign, window, delivery, fanout, cross, bulk, expiry, page, csv, rollup, webhooks, suggest };

async function main(): Promise<void> {
  const started = Date.now();
  let tmp: string | undefined;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let adminUrl = process.env.BENCH_DATABASE_URL;
  if (!adminUrl) {
    tmp = await mkdtemp(path.join(os.tmpdir(), "baton-bench-"));
    await chmod(tmp, 0o755);
    const pg = await startEmbeddedPostgres(path.join(tmp, "pg"));
    adminUrl = pg.adminUrl;
    stopEmbedded = pg.stop;
  }
  const dbName = `baton_bench_${Date.now()}`;
  const admin = new PgPool({ connectionString: adminUrl, max: 1 });
  admin.on("error", () => {}); // the cleanup's DROP ... WITH (FORCE) ends the other pools' connections
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();
  const counter = new QueryCounter();
  const ds = createDataSource({ url: dbUrl, poolSize: 20, counter });
  await ds.initialize();
  await ds.runMigrations({ transaction: "each" });
  const pgVersion = ((await ds.query<Array<{ server_version: string }>>("SHOW server_version"))[0]?.server_version ?? "?").split(" ")[0];
  const servers: ServerProcess[] = [];
  const floorPool: Pool = new PgPool({ connectionString: dbUrl, max: 20 });
  floorPool.on("error", () => {}); // idle connections end when the database is dropped at the end

  const rows: Row[] = [];
  try {
    // --- seed: one organization, a manager, 1,000 agents ---
    const orgs = new OrganizationService(ds);
    const { organizationId, adminUserId } = await orgs.create("Bench Org", "admin@bench.test", "Bench Admin");
    const tokens = new TokenService(TEST_JWT_SECRET, ds);
    // The loop rules (issue #24) off to start with: several scenarios hand one chat back and forth.
    // The assign scenario turns them on, at their defaults, for its judged turns.
    await new SettingsService(ds).update(await ds.manager.findOneByOrFail(User, { id: adminUserId }), { pingPongMinutes: 0, maxHandoversPerChatPerDay: 0 });
    const N_USERS = 1_000;
    await ds.query(
      `INSERT INTO users (organization_id, email, name, role)
       SELECT $1, 'agent' || g || '@bench.test', 'Agent ' || g, CASE WHEN g = 0 THEN 'MANAGER' ELSE 'USER' END
         FROM generate_series(0, $2) g`,
      [organizationId, N_USERS],
    );
    const users = await ds.query<Array<{ id: string; name: string }>>(
      `SELECT id, name FROM users WHERE organization_id = $1 AND role <> 'ADMIN' ORDER BY (regexp_replace(name, '\\D', '', 'g'))::int`,
      [organizationId],
    );
    const manager = users[0];
    const agents = users.slice(1);
    const token = new Map(users.map((u) => [u.id, tokens.sign(u.id, 3600)]));
    token.set(adminUserId, tokens.sign(adminUserId, 3600));
    const newChats = async (ownerId: string, n: number): Promise<string[]> =>
      (
        await ds.query<Array<{ id: string }>>(
          `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id)
           SELECT $1, 'Customer ' || g, '+1415555' || lpad(g::text, 4, '0'), $2 FROM generate_series(1, $3) g RETURNING id`,
          [organizationId, ownerId, n],
        )
      ).map((r) => r.id);

    // Production defaults (issue #21): request logs at info, metrics, query limits, and rate limits
    // on but set high enough that the load never reaches them (one loopback address, few users).
    const s1 = await spawnServer(dbUrl, { DB_POOL_SIZE: "20", RATE_LIMIT_PER_MINUTE: "1000000", RATE_LIMIT_PER_IP_PER_MINUTE: "10000000",
      // The webhook scenario's receivers listen on loopback; no other scenario has an endpoint.
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
    });
    servers.push(s1);
    log(`server up at ${s1.url}`);

    const bench: Bench = { quick, ds, dbUrl, organizationId, s1, servers, manager, agents, token, newChats, counter, floorPool, rows };
    for (const [name, scenario] of Object.entries(SCENARIOS)) if (want(name)) await scenario(bench);
  } finally {
    for (const s of servers) {
      s.child.kill("SIGTERM");
      await s.exited;
    }
    await floorPool.end();
    await ds.destroy();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    if (stopEmbedded) await stopEmbedded();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }

  const header = "| scenario | figure | floor, same run | ratio | target | met |\n|---|---|---|---|---|---|";
  const table = [header, ...rows.map((r) => `| ${r.scenario} | ${r.figure} | ${r.floor} | ${r.ratio} | ${r.target} | ${r.met} |`)].join("\n");
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, PostgreSQL ${pgVersion}`;
  const command = `npm run bench${quick ? " -- --quick" : ""}`;
  const doc = `# Benchmarks\n\nMeasured ${new Date().toISOString()} with \`${command}\` in ${((Date.now() - started) / 1000).toFixed(0)} s.\n\nMachine: ${machine}. Database: ${process.env.BENCH_DATABASE_URL ? "the machine's Postgres (BENCH_DATABASE_URL)" : "embedded Postgres"}; Baton runs as its own process (\`node dist/src/main.js\`), clients in the bench process, all on loopback.\n\nEach ratio compares figures taken in this one run. Percentiles come from every sample.\n\n${table}\n\nNotes:\n- The lean peer (test/bench/lean-peer.ts) is the minimal handover written by hand on the same stack: Apollo Server + express + \`pg\`, a JWT checked per request, one transaction per mutation that locks the chat and writes request, tracking record, notification and event in five statements (seven round trips with BEGIN and COMMIT), with no other lock; both it and Baton are asked for the request's people and tracking record, as a front end asks. It runs as its own process on the same database; Baton, Baton with an Idempotency-Key on every mutation, the peer, the floor and the peer's locked variant (its event also takes the organization's lock, as Baton's does) take turns, four rounds each, driven by the same load generator, in an order that rotates each round (whichever turn followed the locked variant's was measured to pay a stall: with a fixed order it fell on the same turn every round). CPU per cycle is read from /proc during each turn, per process (the server's, and every Postgres process's). Baton additionally validates input, applies the policy, writes and removes the timeout job, logs every request, counts metrics, enforces query limits and publishes every change live.\n- The assign/accept floor replays, through one \`pg\` client per worker and as prepared statements (as Baton sends them), exactly the statements Baton's services sent for two cycles (there and back, so every replayed write finds the chat as it expects), with fresh ids and times shifted to now; it fails the run unless every replayed cycle really moved the chat. Authentication as in steady state (users cached, tokens verified once). Baton's figure additionally pays for HTTP, GraphQL, and writing and removing each request's timeout job (in the same statements).\n- Delivery latency is measured from the mutation's HTTP response to the event's arrival on the subscriber's socket (0 when the event arrived first).\n- Webhooks: the receivers are plain node:http servers answering 204 in a process of their own (test/bench/receiver-process.ts), as a CRM's would be; latency runs from the event's \`occurredAt\` (the engine's decision, before the transaction's writes and its commit) to the message's arrival, so it overstates commit-to-receiver. Throughput with and without endpoints is measured in alternating passes (two each) of the same run, after a warm-up pass of each. The machine's two cores carry the clients, Baton, Postgres and the receivers together: the CPU each spends per handover, with endpoints and without, shows what the deliveries cost and where (the receivers' share is the CRM's, not Baton's, on a real deployment).\n- The bench organization runs with the loop rules (issue #24) off, since several scenarios hand one chat back and forth; the assign/accept rows run with them on at their defaults (each client hands its own pool of chats around a trio of agents, never straight back, each chat a few times at most), and one turn of the same cycles with them off measures their cost.\n- Lateness is \`responded_at - expires_at\` as stored, with the default \`AGENDA_PROCESS_EVERY_MS\` (250).\n`;
  // A partial run (--only) prints its rows but leaves the full table in BENCHMARKS.md alone.
  if (!only) await writeFile(path.join(process.cwd(), "BENCHMARKS.md"), doc);
  process.stdout.write(`\n${machine}\n${table}\n${only ? "" : "\nwritten to BENCHMARKS.md\n"}`);
  // Client sockets (keep-alive HTTP, closed graphql-ws clients) may linger: the run is over.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
