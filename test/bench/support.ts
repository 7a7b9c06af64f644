/** What every scenario shares: the seeded organization, the server under test, the HTTP and graphql-ws clients, the table's rows. */
import http from "node:http";
import type { Pool } from "pg";
import type { DataSource } from "typeorm";
import { AssignmentEventsDocument } from "../../schema/generated/graphql";
import type { QueryCounter } from "../../src/db/data-source";
import type { ServerProcess } from "../support/process";
import { connect, subscribe } from "../support/ws-client";

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
export const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const minimalAssign = `mutation($input: AssignChatInput!) { assignChat(input: $input) { id } }`;

export interface Bench {
  quick: boolean;
  ds: DataSource;
  dbUrl: string;
  organizationId: string;
  /** The server under test, its own process. */
  s1: ServerProcess;
  /** Servers a scenario started, stopped at the end of the run. */
  servers: ServerProcess[];
  manager: { id: string; name: string };
  agents: Array<{ id: string; name: string }>;
  token: Map<string, string>;
  newChats: (ownerId: string, n: number) => Promise<string[]>;
  counter: QueryCounter;
  floorPool: Pool;
  rows: Row[];
}

export interface Row {
  scenario: string;
  figure: string;
  floor: string;
  ratio: string;
  target: string;
  met: string;
}

/**
 * The bench's GraphQL client: node:http over keep-alive connections. undici's fetch cost the bench
 * process about 3 ms of CPU per assign/accept cycle on a 2-core machine, CPU then missing from the
 * server and Postgres being measured.
 */
// An idle kept-alive connection is let go after 4 s, before the server's 5 s keep-alive timeout
// (Node's default): reused at the very moment the server closed it, a request failed with
// ECONNRESET (3 assigns of 3,000 in one full run's fan-out row).
const agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4_000 });
export function gql(url: string, token: string, query: string, variables: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${token}`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          try {
            const json = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
            if (json.errors?.length) reject(new Error(json.errors[0]?.message));
            else resolve(json.data ?? {});
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** One graphql-ws client per user, subscribed to its events; records when each user's latest CREATED arrived. */
export function listenForCreated(url: string, users: ReadonlyArray<{ id: string }>, token: Map<string, string>) {
  const arrivals = new Map<string, number>();
  const clients = users.map((u) => connect(url, token.get(u.id)));
  const subs = users.map((u, i) => {
    const sub = subscribe(clients[i], AssignmentEventsDocument, {});
    void (async () => {
      for (;;) {
        const msg = await sub.next(600_000).catch(() => null);
        if (!msg) return;
        if (msg.data?.assignmentEvents.type === "CREATED") arrivals.set(u.id, performance.now());
      }
    })();
    return sub;
  });
  return {
    arrivals,
    async close() {
      subs.forEach((sub) => sub.dispose());
      await Promise.all(clients.map(async (c) => c.dispose()));
    },
  };
}


/**
 * The database settled before a scenario is timed: what earlier scenarios' bulk loads left dirty
 * is written out now (a checkpoint), not by the checkpointer while commits are being timed. Needs
 * a superuser (the bench's databases are its own); skipped, with a note, without one.
 */
export async function settle(ds: DataSource): Promise<void> {
  await ds.query("CHECKPOINT").catch((err: unknown) => log(`no checkpoint before the scenario: ${(err as Error).message}`));
}
