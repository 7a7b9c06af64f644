import { Pool } from "pg";
import { DataSource, type Logger as OrmLogger } from "typeorm";
import { entities } from "./entities";
import { migrations } from "./migrations";

/** Counts statements sent to Postgres; tests and the benchmark hold query budgets to it. */
export class QueryCounter implements OrmLogger {
  count = 0;
  /** When set, every statement and its parameters are appended (the benchmark replays them). */
  recording: Array<{ query: string; parameters: unknown[] }> | null = null;
  logQuery(query: string, parameters?: unknown[]): void {
    this.count++;
    this.recording?.push({ query, parameters: parameters ?? [] });
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

export interface DataSourceOptions {
  url: string;
  poolSize?: number;
  counter?: QueryCounter;
  /**
   * Told when an idle pooled connection dies (a Postgres restart, a terminated backend, an idle
   * reaper). The pool replaces the connection on next use; without a listener the process would exit.
   */
  onPoolError?: (err: Error) => void;
}

/** How long a request waits for a pooled connection before failing with SERVICE_UNAVAILABLE. */
export const CONNECT_TIMEOUT_MS = 5_000;

export function createDataSource({ url, poolSize = 20, counter, onPoolError }: DataSourceOptions): DataSource {
  return new DataSource({
    type: "postgres",
    url,
    entities,
    migrations,
    migrationsTableName: "migrations",
    migrationsTransactionMode: "each",
    synchronize: false,
    logger: counter ?? new QueryCounter(),
    poolErrorHandler: onPoolError ?? (() => {}),
    // Fail fast while Postgres is down instead of queueing requests without end.
    extra: { max: poolSize, application_name: "baton", connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
  });
}

/**
 * A small pool of its own on the DataSource's database, for background work (webhook delivery)
 * that must neither wait behind requests for a connection nor take one from them, and whose
 * statements are not a request's (they are not counted). With `asyncCommit`, its commits do not
 * wait for the WAL flush: a crash may forget the last few of its writes, which only bookkeeping
 * that tolerates being done again may use. Connection errors are reported, never thrown.
 */
export function sidePool(dataSource: DataSource, opts: { applicationName: string; max: number; asyncCommit?: boolean; onError?: (err: Error) => void }): Pool {
  const url = (dataSource.options as { url?: string }).url;
  const pool = new Pool({
    connectionString: url,
    max: opts.max,
    application_name: opts.applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(opts.asyncCommit ? { options: "-c synchronous_commit=off" } : {}),
  });
  pool.on("error", opts.onError ?? (() => {}));
  return pool;
}
