import { type DocumentNode, getNamedType, isObjectType, Kind, type SelectionSetNode, TypeInfo, validate, visit, visitWithTypeInfo } from "graphql";
import { describe, expect, it } from "vitest";
import * as consoleOperations from "../../console/src/gql/graphql";
import { buildBatonSchema } from "../../src/graphql/schema";
import { EMBEDDED_TYPES } from "../../console/src/session/cache";
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

// Issue #26: the console's normalized cache (Graphcache) keeps each object once, by its type and id,
// so that an event or an answer carrying a chat updates every page showing it.
describe("the console's cache keys every object by the API's ids", () => {
  it("every selection of a type that has an id asks for the id (otherwise the cache cannot tell two of them apart)", async () => {
    const schema = await buildBatonSchema();
    const missing: string[] = [];
    for (const [name, doc] of documents) {
      const info = new TypeInfo(schema);
      visit(
        doc,
        visitWithTypeInfo(info, {
          SelectionSet(node) {
            const type = getNamedType(info.getType() ?? info.getParentType());
            if (!isObjectType(type) || !type.getFields().id || ["Query", "Mutation", "Subscription"].includes(type.name)) return;
            const asked = node.selections.some((s) => s.kind === Kind.FIELD && s.name.value === "id");
            const viaFragment = node.selections.some((s) => s.kind !== Kind.FIELD);
            if (!asked && !viaFragment) missing.push(`${name}: ${type.name}`);
          },
        }),
      );
    }
    expect(missing).toEqual([]);
  });

  it("the types without an id are exactly the ones the cache keeps embedded (a new one must be added there)", async () => {
    const schema = await buildBatonSchema();
    const idless = Object.values(schema.getTypeMap())
      .filter((t) => isObjectType(t) && !t.name.startsWith("__") && !["Query", "Mutation", "Subscription"].includes(t.name) && !t.getFields().id)
      .map((t) => t.name)
      .sort();
    expect([...EMBEDDED_TYPES].sort()).toEqual(idless);
  });
});
