import { getMetadataArgsStorage, type ObjectLiteral } from "typeorm";

type Ctor<T> = new () => T;

interface ColumnInfo {
  property: string;
  column: string;
  isDate: boolean;
  from?: (value: unknown) => unknown;
  to?: (value: unknown) => unknown;
}

const cache = new Map<unknown, ColumnInfo[]>();

function columnsOf(target: Ctor<unknown>): ColumnInfo[] {
  let columns = cache.get(target);
  if (!columns) {
    columns = getMetadataArgsStorage()
      .columns.filter((c) => c.target === target)
      .map((c) => {
        const transformer = c.options.transformer;
        const single = transformer && !Array.isArray(transformer) ? transformer : undefined;
        return {
          property: c.propertyName,
          column: c.options.name ?? c.propertyName,
          isDate: c.options.type === "timestamptz",
          from: single ? (v: unknown) => single.from(v) as unknown : undefined,
          to: single ? (v: unknown) => single.to(v) as unknown : undefined,
        };
      });
    cache.set(target, columns);
  }
  return columns;
}

/** An entity from a raw `RETURNING *` row (snake_case columns). */
export function fromRow<T extends ObjectLiteral>(target: Ctor<T>, row: Record<string, unknown>): T {
  const entity = new target() as Record<string, unknown>;
  for (const c of columnsOf(target)) {
    const value = row[c.column];
    entity[c.property] = c.from ? c.from(value) : value;
  }
  return entity as T;
}

/** An entity back from JSON (a payload that crossed Redis): timestamps become Dates again. */
export function revive<T extends ObjectLiteral>(target: Ctor<T>, plain: T | Record<string, unknown>): T {
  if (plain instanceof target) return plain;
  const entity = Object.assign(new target(), plain) as Record<string, unknown>;
  for (const c of columnsOf(target)) {
    const value = entity[c.property];
    if (c.isDate && typeof value === "string") entity[c.property] = new Date(value);
  }
  return entity as T;
}

/** An entity from a row read as JSON (`to_json(t)`): snake_case keys, timestamps as ISO strings. */
export function fromJson<T extends ObjectLiteral>(target: Ctor<T>, json: Record<string, unknown>): T {
  const entity = new target() as Record<string, unknown>;
  for (const c of columnsOf(target)) {
    const value = json[c.column] ?? null;
    entity[c.property] = c.isDate && typeof value === "string" ? new Date(value) : c.from ? c.from(value) : value;
  }
  return entity as T;
}
