import { DataSource, type Logger as OrmLogger } from "typeorm";
import { entities } from "./entities";
import { migrations } from "./migrations";

/** Counts statements sent to Postgres; tests and the benchmark hold query budgets to it. */
export class QueryCounter implements OrmLogger {
  count = 0;
  logQuery(): void {
    this.count++;
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
}

export function createDataSource({ url, poolSize = 20, counter }: DataSourceOptions): DataSource {
  return new DataSource({
    type: "postgres",
    url,
    entities,
    migrations,
    migrationsTableName: "migrations",
    migrationsTransactionMode: "each",
    synchronize: false,
    logger: counter ?? new QueryCounter(),
    extra: { max: poolSize, application_name: "baton" },
  });
}
