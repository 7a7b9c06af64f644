import { badInput } from "../errors";
import { isUuid } from "../validation";

/**
 * Plain keyset pages, as services return them. The Relay shape (edges, pageInfo) is the GraphQL
 * layer's (`src/graphql/pagination.ts`).
 */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Keyset position: newest first by (timestamp, id). Stable while new rows arrive. */
export interface Cursor {
  at: Date;
  id: string;
}

export interface PageArgs {
  first: number;
  after: Cursor | null;
}

export interface Page<T> {
  /** Each item with the opaque cursor that continues after it. */
  items: Array<{ item: T; cursor: string }>;
  hasNextPage: boolean;
  /** Whether rows come before this page: it continued after a cursor (pages only go forward). */
  hasPreviousPage?: boolean;
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

/** Validates `first` (1..MAX_PAGE_SIZE, default DEFAULT_PAGE_SIZE) and decodes `after`. */
export function pageArgs(first: number | null | undefined, after: string | null | undefined): PageArgs {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, "first");
  }
  return { first: size, after: after ? decodeCursor(after) : null };
}

/** A page from `first + 1` rows fetched in order. */
export function toPage<T>(rows: T[], page: PageArgs, key: (row: T) => Cursor): Page<T> {
  const hasNextPage = rows.length > page.first;
  const kept = hasNextPage ? rows.slice(0, page.first) : rows;
  return {
    items: kept.map((item) => {
      const { at, id } = key(item);
      return { item, cursor: encodeCursor(at, id) };
    }),
    hasNextPage,
    hasPreviousPage: page.after !== null,
  };
}
