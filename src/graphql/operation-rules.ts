import type { ApolloServerPlugin } from "@apollo/server";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { type DocumentNode, GraphQLError, type GraphQLSchema, NoSchemaIntrospectionCustomRule, parse, type ValidationContext, type ValidationRule, visit } from "graphql";
import { ErrorCode } from "../errors";
import { badText } from "../validation";
import type { Context } from "./context";
import { asksIntrospection, DEFAULT_MAX_INTROSPECTION_BYTES, introspectionCostRule, introspectionDepthRule, introspectionShapeRule, measureIntrospection } from "./limits";
import type { IntrospectionMode } from "../config";

/** What every operation must respect, over HTTP and over a socket alike. */
export interface OperationRules {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  maxDirectives: number;
  /** Who may introspect: signed-in users, anyone, or nobody (`__schema`/`__type` refused). */
  introspection: IntrospectionMode;
  /** "Did you mean ...?" in validation errors. */
  suggestions?: boolean;
  /** The most bytes the introspection fields of one operation may produce (see introspectionCostRule). */
  maxIntrospectionBytes?: number;
}

export const DEFAULT_OPERATION_RULES: Omit<OperationRules, "maxDepth" | "introspection" | "suggestions"> = {
  maxAliases: 30,
  maxTokens: 2_000,
  maxCost: 5_000,
  maxDirectives: 50,
};

/** Armor's rejections, reported with the code clients branch on. */
const report = (ctx: ValidationContext | null, error: GraphQLError): void =>
  ctx?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { extensions: { code: ErrorCode.QUERY_TOO_COMPLEX } }));

/** graphql-js's own parse error when a document has more than `maxTokens` tokens. */
export const isTokenLimitError = (message: string): boolean => /tokens\. Parsing aborted/.test(message);

/**
 * GraphQL Armor (depth, aliases, cost, directives) for Apollo and for graphql-ws alike, plus
 * the token limit, which graphql-js's parser enforces itself (`maxTokens`): Armor's token plugin throws out of Apollo 5's parsing hook as an
 * unexpected error (500), while the parser's own limit fails as a syntax error (400), which we
 * report as QUERY_TOO_COMPLEX. Each Armor rule gets a reporter of its own: given one shared
 * `onReject` list, Armor's Apollo adapter appends its reporter to it once per rule.
 * Introspection counts against every limit except depth and cost, which would refuse the
 * standard introspection query; `introspectionDepthRule` bounds its depth instead.
 */
export function operationGuards(rules: OperationRules, schema?: GraphQLSchema) {
  const own = () => ({ propagateOnRejection: false, onReject: [report] });
  const armor = new ApolloArmor({
    maxDepth: { n: rules.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...own() },
    // `__typename` aliases count like any others (Armor lets them through by default).
    maxAliases: { n: rules.maxAliases, allowList: [], ...own() },
    // A fragment spread is not a level: the same selection costs the same inline or through a fragment (as for depth).
    costLimit: { maxCost: rules.maxCost, ignoreIntrospection: true, flattenFragments: true, ...own() },
    maxDirectives: { n: rules.maxDirectives, ...own() },
    maxTokens: { enabled: false },
    // Suggestions: Apollo's hideSchemaDetailsFromClientErrors (HTTP) and withoutSuggestions (sockets).
    blockFieldSuggestion: { enabled: false },
  });
  const { plugins, validationRules: armorRules } = armor.protect();
  const validationRules: ValidationRule[] = [...armorRules, introspectionDepthRule, introspectionShapeRule];
  if (schema) validationRules.push(introspectionCostRule(measureIntrospection(schema), rules.maxIntrospectionBytes ?? DEFAULT_MAX_INTROSPECTION_BYTES));
  if (rules.introspection === "off") validationRules.push(NoSchemaIntrospectionCustomRule);
  const parseOptions = { maxTokens: rules.maxTokens };
  const introspectionPlugins: ApolloServerPlugin<Context>[] = rules.introspection === "authenticated" ? [introspectionForSignedIn] : [];
  return {
    /** For ApolloServer. */
    apollo: { plugins: [...(plugins as ApolloServerPlugin<Context>[]), ...introspectionPlugins], validationRules, parseOptions },
    /** For sockets: parse with the same token limit, then validate with `validationRules`. */
    parse: (source: string): DocumentNode => parse(source, parseOptions),
    validationRules,
    introspection: rules.introspection,
    suggestions: rules.suggestions ?? false,
  };
}

/**
 * GRAPHQL_INTROSPECTION=authenticated: an operation that asks `__schema` or `__type` without a
 * signed-in user is refused (401) before it runs. Sockets are always signed in.
 */
const introspectionForSignedIn: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ document, contextValue }) {
        if (contextValue.viewer || !asksIntrospection(document)) return;
        throw new GraphQLError("Introspection is for signed-in users: send Authorization: Bearer <token>", {
          extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
        });
      },
    };
  },
};

/** "Did you mean ...?" names fields a client did not ask about: shown only when GRAPHQL_SUGGESTIONS is on. */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean .*\?$/, "");
}

/**
 * Text that Postgres cannot store or that is not Unicode (a NUL, a lone surrogate), anywhere in
 * the variables or in a string literal of the document: one BAD_USER_INPUT naming where it is,
 * before anything runs, for every field at once.
 */
export function findBadText(document: DocumentNode, variables: Record<string, unknown> | undefined | null): GraphQLError | null {
  const found = badTextIn(variables ?? {}, []) ?? literalBadText(document);
  if (!found) return null;
  const { field, problem } = found;
  return new GraphQLError(`${field || "a text value"} ${problem}`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, field, http: { status: 400 } },
  });
}

type Found = { field: string; problem: string };

/** The first bad text in a JSON value; the path is joined only when there is one. */
function badTextIn(value: unknown, path: Array<string | number>): Found | null {
  if (typeof value === "string") {
    const problem = badText(value);
    return problem ? { field: path.join("."), problem } : null;
  }
  if (value === null || typeof value !== "object") return null;
  const entries: Iterable<[string | number, unknown]> = Array.isArray(value) ? value.entries() : Object.entries(value);
  for (const [key, inner] of entries) {
    path.push(key);
    const found = badTextIn(inner, path);
    path.pop();
    if (found) return found;
  }
  return null;
}

/** Documents are cached and reused by Apollo: their literals are checked once per document. */
const literalsChecked = new WeakMap<DocumentNode, Found | null>();

function literalBadText(document: DocumentNode): Found | null {
  const known = literalsChecked.get(document);
  if (known !== undefined) return known;
  let found: Found | null = null;
  let argument = "";
  visit(document, {
    Argument: { enter: (node) => void (argument = node.name.value) },
    ObjectField: { enter: (node) => void (argument = node.name.value) },
    StringValue(node) {
      found ??= badTextIn(node.value, argument ? [argument] : []);
    },
  });
  literalsChecked.set(document, found);
  return found;
}

/** Apollo's side of `findBadText`. */
export const textCheckPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ document, request }) {
        const error = findBadText(document, request.variables);
        if (error) throw error;
      },
    };
  },
};
