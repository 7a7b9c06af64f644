import type { Pool, PoolClient } from "pg";
import type { DataSource, EntityManager, QueryRunner } from "typeorm";
import { currentUnit } from "./unit-of-work";

/**
 * How repositories talk to Postgres: plain `pg` with typed rows. TypeORM keeps the pool, the
 * migrations and the entities' column metadata; it builds no query.
 *
 * Why plain pg and not TypeORM's `query()` or a builder: measured on the assign/accept cycle,
 * Postgres spent more time planning the engine's statements (0.5 to 1.5 ms each: multi-CTE
 * writes, joins) than running them (0.2 to 0.3 ms). A `Statement` has a name, so `pg` prepares it
 * once per connection and Postgres reuses its plan; TypeORM's `query()` cannot name a statement.
 * Every statement is still counted (the QueryCounter that tests and the benchmark read).
 */
export interface Statement {
  /** Unique per text: the prepared statement's name on every connection. */
  name: string;
  text: string;
}

export interface Sql {
  rows<R>(statement: Statement | string, params?: unknown[]): Promise<R[]>;
}

interface Counting {
  logQuery(query: string, parameters?: unknown[]): void;
}

async function run<R>(client: Pool | PoolClient, logger: Counting, statement: Statement | string, params: unknown[] = []): Promise<R[]> {
  const text = typeof statement === "string" ? statement : statement.text;
  logger.logQuery(text, params);
  const result =
    typeof statement === "string"
      ? await client.query(text, params)
      : await client.query({ name: statement.name, text, values: params });
  return result.rows as R[];
}

/**
 * Statements on the pool: each one its own transaction, unless an operation runs as one unit
 * (db/unit-of-work.ts: an idempotent mutation), when they run on the unit's connection, inside it.
 */
export function poolSql(dataSource: DataSource): Sql {
  const pool = poolOf(dataSource);
  return { rows: (statement, params) => run(currentUnit()?.client ?? pool, dataSource.logger, statement, params) };
}

/** The pg pool TypeORM keeps. */
export function poolOf(dataSource: DataSource): Pool {
  return (dataSource.driver as unknown as { master: Pool }).master;
}

/** Statements on a pool of their own (see `sidePool`), not counted with the requests'. */
export function sidePoolSql(pool: Pool): Sql {
  const uncounted: Counting = { logQuery: () => undefined };
  return { rows: (statement, params) => run(pool, uncounted, statement, params) };
}

/** Statements on the connection of the transaction `manager` belongs to. */
export function txSql(manager: EntityManager): Sql {
  const runner: QueryRunner | undefined = manager.queryRunner;
  if (!runner) throw new Error("txSql needs a transaction's manager");
  // TypeORM's Postgres query runner hands out its pg client.
  const connect = (): Promise<PoolClient> => runner.connect() as Promise<PoolClient>;
  return {
    rows: async (statement, params) => run(await connect(), manager.connection.logger, statement, params),
  };
}

/** Postgres' unique_violation, from pg or through TypeORM's wrapper. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e.code === "23505" || e.driverError?.code === "23505";
}

/**
 * A WHERE clause built from optional filters, for the lists (their SQL varies with the filters
 * given, so each runs unnamed and Postgres plans it for its values). `?` marks where each value
 * goes; it becomes `$n`.
 */
export class Conditions {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  and(text: string, ...values: unknown[]): this {
    let i = 0;
    this.parts.push(text.replace(/\?/g, () => this.param(values[i++])));
    return this;
  }

  /** A value's placeholder, for a clause outside WHERE (LIMIT). */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  get sql(): string {
    return this.parts.length > 0 ? this.parts.join(" AND ") : "TRUE";
  }
}

const PING: Statement = { name: "db.ping", text: "SELECT 1" };

/** One round trip to Postgres (the readiness probe's). */
export async function ping(sql: Sql): Promise<void> {
  await sql.rows(PING);
}
