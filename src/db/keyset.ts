import type { ObjectLiteral } from "typeorm";
import { type Page, type PageArgs, toPage } from "../kernel/page";
import { fromRow } from "./hydrate";
import type { Conditions, Sql } from "./sql";

/**
 * One page of `table` (aliased `t`) filtered by `where`, newest first by (created_at, id), the
 * order every list's index serves, from the page's cursor on.
 */
export async function newestFirst<T extends ObjectLiteral & { createdAt: Date; id: string }>(
  sql: Sql,
  target: new () => T,
  table: string,
  where: Conditions,
  page: PageArgs,
): Promise<Page<T>> {
  if (page.after) where.and("(t.created_at, t.id) < (?, ?)", page.after.at, page.after.id);
  const limit = where.param(page.first + 1);
  const rows = await sql.rows<Record<string, unknown>>(
    `SELECT t.* FROM ${table} t WHERE ${where.sql} ORDER BY t.created_at DESC, t.id DESC LIMIT ${limit}`,
    where.params,
  );
  return toPage(
    rows.map((row) => fromRow(target, row)),
    page,
    (row) => ({ at: row.createdAt, id: row.id }),
  );
}
