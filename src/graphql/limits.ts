import { type ASTVisitor, type FieldNode, type FragmentDefinitionNode, GraphQLError, Kind, type SelectionSetNode, type ValidationContext } from "graphql";
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
