import {
  type ASTVisitor,
  BREAK,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getIntrospectionQuery,
  GraphQLError,
  type GraphQLSchema,
  graphqlSync,
  type IntrospectionSchema,
  type IntrospectionType,
  Kind,
  parse,
  type SelectionSetNode,
  type ValidationContext,
  visit,
} from "graphql";
import { ErrorCode } from "../errors";

/**
 * The standard introspection query (`getIntrospectionQuery()`, what GraphiQL and codegen send)
 * nests 15 levels of `ofType`. GraphQL Armor's depth limit skips `__schema` (so that query
 * passes), which would leave `__schema { types { fields { type { fields { ... } } } } }`
 * unbounded: this rule holds every `__schema` selection to this depth instead.
 */
export const INTROSPECTION_DEPTH = 15;

export function introspectionDepthRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of context.getDocument().definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
    let max = 0;
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FIELD) max = Math.max(max, 1 + depthOf(sel.selectionSet, seen));
      else if (sel.kind === Kind.INLINE_FRAGMENT) max = Math.max(max, depthOf(sel.selectionSet, seen));
      else if (!seen.has(sel.name.value)) max = Math.max(max, depthOf(fragments.get(sel.name.value)?.selectionSet, new Set([...seen, sel.name.value])));
      if (max > INTROSPECTION_DEPTH) break;
    }
    return max;
  };
  return {
    Field(node: FieldNode) {
      if (node.name.value !== "__schema") return;
      if (1 + depthOf(node.selectionSet, new Set()) > INTROSPECTION_DEPTH) {
        context.reportError(
          new GraphQLError(`Introspection may nest at most ${INTROSPECTION_DEPTH} levels`, {
            nodes: [node],
            extensions: { code: ErrorCode.QUERY_TOO_COMPLEX },
          }),
        );
      }
    },
  };
}

/** The introspection fields that answer lists: each multiplies what is selected below it. */
const LIST_FIELDS = new Set(["types", "fields", "inputFields", "args", "enumValues", "interfaces", "possibleTypes", "directives", "locations"]);

/**
 * How lists may nest inside `__schema` or `__type`: as the standard introspection query nests
 * them (`types { fields { args } }`, `directives { args locations }`, ...), never more. Anything
 * else (`fields { type { fields { type { fields ... } } } }`) multiplies the answer by the size of
 * the schema at each level, well within the depth limit: refused.
 */
const LIST_PATHS = [
  ["types", "fields", "args"],
  ["types", "inputFields"],
  ["types", "interfaces"],
  ["types", "enumValues"],
  ["types", "possibleTypes"],
  ["directives", "args"],
  ["directives", "locations"],
];
const allowedListPath = (path: readonly string[], root: string): boolean =>
  LIST_PATHS.some((allowed) => {
    // Under `__type` a path starts one level in, as if below `types`.
    const from = root === "__type" ? (allowed[0] === "types" ? allowed.slice(1) : null) : allowed;
    return !!from && path.length <= from.length && path.every((name, i) => from[i] === name);
  });

/** Visits every field under a selection, through fragments, with the list fields above it. */
function walk(
  context: ValidationContext,
  set: SelectionSetNode | undefined,
  lists: readonly string[],
  visit: (field: FieldNode, lists: readonly string[]) => boolean,
  seen: Set<string> = new Set(),
): void {
  for (const sel of set?.selections ?? []) {
    if (sel.kind === Kind.FIELD) {
      const here = LIST_FIELDS.has(sel.name.value) ? [...lists, sel.name.value] : lists;
      if (visit(sel, here)) walk(context, sel.selectionSet, here, visit, seen);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      walk(context, sel.selectionSet, lists, visit, seen);
    } else if (!seen.has(sel.name.value)) {
      walk(context, context.getFragment(sel.name.value)?.selectionSet, lists, visit, new Set([...seen, sel.name.value]));
    }
  }
}

const isIntrospectionRoot = (node: FieldNode): boolean => node.name.value === "__schema" || node.name.value === "__type";

export function introspectionShapeRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node: FieldNode) {
      if (!isIntrospectionRoot(node)) return;
      let refused = false;
      walk(context, node.selectionSet, [], (field, lists) => {
        if (refused || allowedListPath(lists, node.name.value)) return !refused;
        refused = true;
        context.reportError(
          new GraphQLError(`Introspection lists nest only as the standard introspection query nests them (found ${lists.join(" > ")})`, {
            nodes: [field],
            extensions: { code: ErrorCode.QUERY_TOO_COMPLEX },
          }),
        );
        return false;
      });
    },
  };
}

/** Whether an operation asks `__schema` or `__type` anywhere (fragments included). */
export function asksIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (isIntrospectionRoot(node)) {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** What this schema's introspection holds: counts for `__schema`, the largest type for `__type`. */
export interface IntrospectionSize {
  /** How many items each list answers at most, under `__schema` (totals over the schema). */
  totals: Record<string, number>;
  /** The same under `__type(name:)`: the largest type's. */
  largest: Record<string, number>;
  /** Average bytes of a leaf's value, by field name. */
  leafBytes: Record<string, number>;
  /** The standard introspection query's answer, in bytes, and this rule's estimate of it. */
  standardBytes: number;
  standardEstimate: number;
}

/** Measured once at start, by answering the standard introspection query against the schema. */
export function measureIntrospection(schema: GraphQLSchema): IntrospectionSize {
  const result = graphqlSync({ schema, source: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }) });
  const data = result.data as unknown as { __schema: IntrospectionSchema };
  const types = data.__schema.types;
  const sum = (f: (t: IntrospectionType) => number) => types.reduce((n, t) => n + f(t), 0);
  const max = (f: (t: IntrospectionType) => number) => types.reduce((n, t) => Math.max(n, f(t)), 0);
  // Lists that do not apply to a kind (an enum's fields) are null in the answer.
  const listOf = (t: IntrospectionType, name: string): unknown[] => ((t as unknown as Record<string, unknown[] | null>)[name] ?? []);
  const fieldsOf = (t: IntrospectionType) => listOf(t, "fields") as Array<{ args: unknown[] }>;
  const argsOf = (t: IntrospectionType) => fieldsOf(t).reduce((n, f) => n + f.args.length, 0);
  const count = Object.fromEntries(
    ["fields", "inputFields", "enumValues", "interfaces", "possibleTypes"].map((name) => [name, (t: IntrospectionType) => listOf(t, name).length]),
  ) as Record<"fields" | "inputFields" | "enumValues" | "interfaces" | "possibleTypes", (t: IntrospectionType) => number>;
  const directives = data.__schema.directives;
  const names: string[] = [];
  const descriptions: string[] = [];
  JSON.stringify(data, (key, value: unknown) => {
    if (key === "name" && typeof value === "string") names.push(value);
    if (key === "description") descriptions.push(typeof value === "string" ? value : "null");
    return value;
  });
  const average = (xs: string[]) => (xs.length ? Math.ceil(xs.reduce((n, x) => n + (x === "null" ? 4 : JSON.stringify(x).length), 0) / xs.length) : 4);
  const size: IntrospectionSize = {
    totals: {
      types: types.length,
      fields: sum(count.fields),
      args: sum(argsOf),
      inputFields: sum(count.inputFields),
      enumValues: sum(count.enumValues),
      interfaces: sum(count.interfaces),
      possibleTypes: sum(count.possibleTypes),
      directives: directives.length,
      locations: directives.reduce((n, d) => n + d.locations.length, 0),
    },
    largest: {
      fields: max(count.fields),
      args: max(argsOf),
      inputFields: max(count.inputFields),
      enumValues: max(count.enumValues),
      interfaces: max(count.interfaces),
      possibleTypes: max(count.possibleTypes),
    },
    leafBytes: { name: average(names), description: average(descriptions), kind: 12, __typename: 12 },
    standardBytes: JSON.stringify(result.data).length,
    standardEstimate: 0,
  };
  size.standardEstimate = estimateBytes(size, parse(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true })));
  return size;
}

/** The bytes an operation's introspection fields produce at most, estimated from the schema's counts. */
function estimateBytes(size: IntrospectionSize, document: DocumentNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  // `times`: how many times this selection is answered in all. A list's items number the
  // schema's total of them under __schema (every field of every type, once), the largest type's
  // under __type; an object field (type, ofType) is answered once per item above it.
  const bytesOf = (set: SelectionSetNode | undefined, root: string, times: number, seen: Set<string>): number => {
    let total = 0;
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.INLINE_FRAGMENT) total += bytesOf(sel.selectionSet, root, times, seen);
      else if (sel.kind === Kind.FRAGMENT_SPREAD) {
        if (!seen.has(sel.name.value)) total += bytesOf(fragments.get(sel.name.value)?.selectionSet, root, times, new Set([...seen, sel.name.value]));
      } else {
        const key = (sel.alias ?? sel.name).value.length + 3;
        const name = sel.name.value;
        if (!sel.selectionSet) total += times * (key + (size.leafBytes[name] ?? 6));
        else if (LIST_FIELDS.has(name)) {
          const items = (root === "__schema" ? size.totals[name] : (size.largest[name] ?? size.totals[name])) ?? 1;
          total += times * (key + 2) + bytesOf(sel.selectionSet, root, items, seen);
        } else {
          // A type reference wraps at most twice in practice (NON_NULL, LIST, NON_NULL): each further
          // `ofType` level is answered (non-null) for fewer of them.
          const answered = name === "ofType" ? times * 0.5 : times;
          total += times * (key + 2) + bytesOf(sel.selectionSet, root, answered, seen);
        }
      }
    }
    return total;
  };
  let total = 0;
  visit(document, {
    Field(node) {
      if (!isIntrospectionRoot(node)) return undefined;
      total += bytesOf(node.selectionSet, node.name.value, 1, new Set());
      return false;
    },
  });
  return Math.ceil(total);
}

/** The default budget of introspection bytes per operation: about two standard introspections of Baton's schema (94 kB). */
export const DEFAULT_MAX_INTROSPECTION_BYTES = 250_000;

/**
 * Introspection costs by the bytes it produces: its answer is as large as the schema, whatever
 * the query's cost in fields (which GraphQL Armor's cost limit does not count for introspection).
 * One operation may ask for at most `maxBytes` (never less than one standard introspection).
 */
export function introspectionCostRule(size: IntrospectionSize, maxBytes: number) {
  const budget = Math.max(maxBytes, Math.ceil(size.standardEstimate * 1.25));
  return (context: ValidationContext): ASTVisitor => ({
    Document(node: DocumentNode) {
      if (!asksIntrospection(node)) return;
      const bytes = estimateBytes(size, node);
      if (bytes <= budget) return;
      context.reportError(
        new GraphQLError(`Introspection would produce about ${Math.round(bytes / 1000)} kB; at most ${Math.round(budget / 1000)} kB per operation`, {
          extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, estimatedBytes: bytes, maxBytes: budget },
        }),
      );
    },
  });
}
