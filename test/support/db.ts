import { randomBytes } from "node:crypto";
import type { DataSource } from "typeorm";
import { inject } from "vitest";
import { createDataSource, QueryCounter } from "../../src/db/data-source";
import { adminQuery, databaseUrl } from "./template";

export interface TestDatabase {
  dataSource: DataSource;
  url: string;
  name: string;
  counter: QueryCounter;
  drop(): Promise<void>;
}

/** A database of this test file's own, cloned from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject("adminUrl");
  const template = inject("templateDb");
  const name = `baton_t_${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  const url = databaseUrl(adminUrl, name);
  const counter = new QueryCounter();
  const dataSource = createDataSource({ url, poolSize: 30, counter });
  await dataSource.initialize();
  return {
    dataSource,
    url,
    name,
    counter,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
