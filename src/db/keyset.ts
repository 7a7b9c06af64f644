import type { SelectQueryBuilder } from "typeorm";
import { type Page, type PageArgs, toPage } from "../kernel/page";

/**
 * Runs a filtered query as one page, newest first by (created_at, id) — the order every list's
 * index serves — from the page's cursor on.
 */
export async function newestFirst<T extends { createdAt: Date; id: string }>(q: SelectQueryBuilder<T>, page: PageArgs): Promise<Page<T>> {
  const a = q.alias;
  q.orderBy(`${a}.created_at`, "DESC").addOrderBy(`${a}.id`, "DESC").limit(page.first + 1);
  if (page.after) q.andWhere(`(${a}.created_at, ${a}.id) < (:at, :id)`, { at: page.after.at, id: page.after.id });
  return toPage(await q.getMany(), page, (row) => ({ at: row.createdAt, id: row.id }));
}
