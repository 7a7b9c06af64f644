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

/** `countRows(ds, "chat_sessions WHERE owner_id = $1", [id])`: how many rows match, straight from Postgres. */
export async function countRows(dataSource: DataSource, from: string, params: unknown[] = []): Promise<number> {
  const [row] = await dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM ${from}`, params);
  return row?.n ?? -1;
}
