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
  /**
   * An idle connection is closed after this long (0: never). A fresh connection's first
   * statements are slow (Postgres starts a backend, warms its catalog caches and plans Baton's
   * prepared statements again): with pg's default of 10 s, the first requests after a quiet
   * spell waited 600-900 ms while the pool reconnected (measured in the bench).
   */
  idleSeconds?: number;
  counter?: QueryCounter;
  /**
   * Told when an idle pooled connection dies (a Postgres restart, a terminated backend, an idle
   * reaper). The pool replaces the connection on next use; without a listener the process would exit.
   */
  onPoolError?: (err: Error) => void;
}

/** How long a request waits for a pooled connection before failing with SERVICE_UNAVAILABLE. */
import { CONNECT_TIMEOUT_MS } from "./side-pool";

export { CONNECT_TIMEOUT_MS };

export function createDataSource({ url, poolSize = 20, idleSeconds = 300, counter, onPoolError }: DataSourceOptions): DataSource {
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
    extra: { max: poolSize, application_name: "baton", connectionTimeoutMillis: CONNECT_TIMEOUT_MS, idleTimeoutMillis: idleSeconds * 1000 },
  });
}

/** The database URL a DataSource was made with (for a side pool, or a thread's). */
export function databaseUrlOf(dataSource: DataSource): string | undefined {
  return (dataSource.options as { url?: string }).url;
}
