import { type ClassType, Field, ObjectType } from "type-graphql";
import type { SelectQueryBuilder } from "typeorm";
import { badInput } from "../errors";
import { isUuid } from "../validation";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}
export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/** A Relay connection type for one node type. */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field()
    cursor: string;

    @Field(() => node)
    node: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [EdgeType])
    edges: EdgeType[];

    @Field(() => PageInfo)
    pageInfo: PageInfo;
  }
  return ConnectionClass;
}

/** Keyset position: newest first by (timestamp, id). Stable while new rows arrive. */
export interface Cursor {
  at: Date;
  id: string;
}

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): Cursor {
  const [iso, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const at = new Date(iso ?? "");
  if (!id || !isUuid(id) || Number.isNaN(at.getTime())) throw badInput("after is not a valid cursor", "after");
  return { at, id };
}

export interface PageArgs {
  first: number;
  after: Cursor | null;
}

export function pageArgs(first: number | null | undefined, after: string | null | undefined): PageArgs {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, "first");
  }
  return { first: size, after: after ? decodeCursor(after) : null };
}

/** Builds a connection from `first + 1` rows fetched in order. */
export function toConnection<T>(rows: T[], page: PageArgs, key: (row: T) => Cursor): Connection<T> {
  const hasNextPage = rows.length > page.first;
  const nodes = hasNextPage ? rows.slice(0, page.first) : rows;
  const edges = nodes.map((node) => {
    const { at, id } = key(node);
    return { cursor: encodeCursor(at, id), node };
  });
  return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

/**
 * Runs a filtered query as one page, newest first by (created_at, id) — the order every list's
 * index serves — from the page's cursor on.
 */
export async function newestFirst<T extends { createdAt: Date; id: string }>(
  q: SelectQueryBuilder<T>,
  page: PageArgs,
): Promise<Connection<T>> {
  const a = q.alias;
  q.orderBy(`${a}.created_at`, "DESC").addOrderBy(`${a}.id`, "DESC").limit(page.first + 1);
  if (page.after) q.andWhere(`(${a}.created_at, ${a}.id) < (:at, :id)`, { at: page.after.at, id: page.after.id });
  return toConnection(await q.getMany(), page, (row) => ({ at: row.createdAt, id: row.id }));
}
