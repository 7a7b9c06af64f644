import { type DocumentNode, Kind, type SelectionSetNode, validate, visit } from "graphql";
import { describe, expect, it } from "vitest";
import * as consoleOperations from "../../console/src/gql/graphql";
import { buildBatonSchema } from "../../src/graphql/schema";
import { DEFAULT_OPERATION_RULES, operationGuards } from "../../src/graphql/operation-rules";

/** What urql (and Apollo) send: `__typename` added to every selection set below the operation. */
function withTypenames(doc: DocumentNode): DocumentNode {
  return visit(doc, {
    SelectionSet: {
      leave(node: SelectionSetNode, _key, parent) {
        if (parent && !Array.isArray(parent) && (parent as { kind?: string }).kind === Kind.OPERATION_DEFINITION) return undefined;
        if (node.selections.some((s) => s.kind === Kind.FIELD && s.name.value === "__typename")) return undefined;
        return { ...node, selections: [...node.selections, { kind: Kind.FIELD, name: { kind: Kind.NAME, value: "__typename" } }] };
      },
    },
  });
}

const documents = Object.entries(consoleOperations).filter(([name]) => name.endsWith("Document")) as Array<[string, DocumentNode]>;

describe("the console's operations, as its GraphQL client sends them, fit the API's query limits", () => {
  it("finds the console's documents", () => {
    expect(documents.length).toBeGreaterThan(15);
  });

  it.each(documents)("%s", async (_name, doc) => {
    const schema = await buildBatonSchema();
    const guards = operationGuards({ ...DEFAULT_OPERATION_RULES, maxDepth: 10, introspection: "public" });
    expect(validate(schema, withTypenames(doc), guards.validationRules).map((e) => e.message)).toEqual([]);
  });

  it("the limit is real: the same list asked 200 at a time is refused", async () => {
    const schema = await buildBatonSchema();
    const guards = operationGuards({ ...DEFAULT_OPERATION_RULES, maxDepth: 10, introspection: "public" });
    const big = visit(consoleOperations.ConsoleChatDocument as DocumentNode, {
      IntValue: (node) => ({ ...node, value: "200" }),
    });
    expect(validate(schema, withTypenames(big), guards.validationRules).map((e) => e.message).join()).toMatch(/Cost/);
  });
});
