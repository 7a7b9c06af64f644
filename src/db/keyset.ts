import type { ObjectLiteral } from "typeorm";
import { type Page, type PageArgs, toPage } from "../kernel/page";
import { fromRow } from "./hydrate";
import type { Conditions, Sql } from "./sql";

/**
 * One page of `table` (aliased `t`) filtered by `where`, newest first by (`column`, id), the
 * order every list's index serves, from the page's cursor on. `column` is a timestamp column
 * (created_at unless said otherwise), or an expression over `t` (`{ expression }`, never null:
 * an index on it serves the order).
 */
export async function newestFirst<T extends ObjectLiteral & { id: string }>(
  sql: Sql,
  target: new () => T,
  table: string,
  where: Conditions,
  page: PageArgs,
  column: string | { expression: string } = "created_at",
): Promise<Page<T>> {
  const key = typeof column === "string" ? `t.${column}` : column.expression;
  if (page.after) where.and(`(${key}, t.id) < (?, ?)`, page.after.at, page.after.id);
  const limit = where.param(page.first + 1);
  const rows = await sql.rows<Record<string, unknown>>(
    `SELECT t.*, ${key} AS keyset_at FROM ${table} t WHERE ${where.sql} ORDER BY ${key} DESC, t.id DESC LIMIT ${limit}`,
    where.params,
  );
  return mapPage(rows, target, page, "keyset_at");
}

function mapPage<T extends ObjectLiteral & { id: string }>(rows: Array<Record<string, unknown>>, target: new () => T, page: PageArgs, column: string): Page<T> {
  const pairs = toPage(rows, page, (row) => ({ at: row[column] as Date, id: row.id as string }));
  return { hasNextPage: pairs.hasNextPage, hasPreviousPage: pairs.hasPreviousPage, items: pairs.items.map(({ item, cursor }) => ({ item: fromRow(target, item), cursor })) };
}
