import type { ApolloServerPlugin } from "@apollo/server";
import { type DocumentNode, GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationRule, visit } from "graphql";
import { ErrorCode } from "../errors";
import { badText } from "../validation";
import type { Context } from "./context";
import { queryLimitsRule } from "./limits";

/** What every operation must respect, over HTTP and over a socket alike. */
export interface OperationRules {
  maxDepth: number;
  maxFields: number;
  maxAliases: number;
  /** Off: `__schema`/`__type` are refused and errors suggest no field names. */
  introspection: boolean;
}

/** The validation rules beyond GraphQL's own, for Apollo (HTTP) and graphql-ws (sockets). */
export function validationRules(rules: OperationRules): ValidationRule[] {
  const list: ValidationRule[] = [queryLimitsRule(rules)];
  if (!rules.introspection) list.push(NoSchemaIntrospectionCustomRule);
  return list;
}

/** "Did you mean ...?" names fields a client did not ask about: shown only when introspection is on. */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean .*\?$/, "");
}

/**
 * Text that Postgres cannot store or that is not Unicode (a NUL, a lone surrogate), anywhere in
 * the variables or in a string literal of the document: one BAD_USER_INPUT naming where it is,
 * before anything runs, for every field at once.
 */
export function findBadText(document: DocumentNode, variables: Record<string, unknown> | undefined | null): GraphQLError | null {
  let found: { field: string; problem: string } | null = null;
  const walk = (value: unknown, where: string): void => {
    if (found) return;
    if (typeof value === "string") {
      const problem = badText(value);
      if (problem) found = { field: where, problem };
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${where}.${i}`));
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, where ? `${where}.${k}` : k);
    }
  };
  walk(variables ?? {}, "");
  if (!found) {
    let argument = "";
    visit(document, {
      Argument: { enter: (node) => void (argument = node.name.value) },
      ObjectField: { enter: (node) => void (argument = node.name.value) },
      StringValue(node) {
        if (!found) walk(node.value, argument);
      },
    });
  }
  if (!found) return null;
  const { field, problem } = found as { field: string; problem: string };
  return new GraphQLError(`${field || "a text value"} ${problem}`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, field, http: { status: 400 } },
  });
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
