/**
 * What a repository runs its statements on: the pool (each statement its own transaction) or one
 * transaction's connection. TypeORM's DataSource and EntityManager both are one; TypeORM stays
 * for the pool, migrations and the entities' column metadata, never for building queries.
 */
export interface Sql {
  // TypeORM declares `any`; repositories say what each statement returns.
  query<R = unknown>(text: string, params?: unknown[]): Promise<R>;
}

/** Postgres' unique_violation, from pg or through TypeORM's wrapper. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e.code === "23505" || e.driverError?.code === "23505";
}
