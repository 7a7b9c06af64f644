import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql";
import { ErrorCode } from "../errors";

export interface QueryLimits {
  maxDepth: number;
  /** Fields counted over the whole operation, fragments expanded: stops alias floods. */
  maxFields: number;
}

/** Refuses operations nested deeper than `maxDepth` or selecting more than `maxFields` fields. */
export function queryLimitsRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    const measure = (set: SelectionSetNode | undefined, depth: number, seen: Set<string>): { depth: number; fields: number } => {
      if (!set) return { depth, fields: 0 };
      let maxDepth = depth;
      let fields = 0;
      for (const sel of set.selections) {
        let inner: { depth: number; fields: number } = { depth, fields: 0 };
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value.startsWith("__")) continue;
          inner = measure(sel.selectionSet, depth + 1, seen);
          inner.fields += 1;
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          inner = measure(sel.selectionSet, depth, seen);
        } else {
          const name = sel.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue; // cycles are reported by graphql's own rule
          inner = measure(frag.selectionSet, depth, new Set([...seen, name]));
        }
        maxDepth = Math.max(maxDepth, inner.depth);
        fields += inner.fields;
        if (fields > limits.maxFields) break;
      }
      return { depth: maxDepth, fields };
    };
    return {
      OperationDefinition(node) {
        const { depth, fields } = measure(node.selectionSet, 0, new Set());
        if (depth > limits.maxDepth) {
          context.reportError(
            new GraphQLError(`The operation is nested ${depth} levels deep; at most ${limits.maxDepth} are allowed`, {
              nodes: [node],
              extensions: { code: ErrorCode.QUERY_TOO_COMPLEX },
            }),
          );
        } else if (fields > limits.maxFields) {
          context.reportError(
            new GraphQLError(`The operation selects more than ${limits.maxFields} fields`, {
              nodes: [node],
              extensions: { code: ErrorCode.QUERY_TOO_COMPLEX },
            }),
          );
        }
      },
    };
  };
}
