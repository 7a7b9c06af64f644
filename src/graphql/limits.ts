import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql";
import { ErrorCode } from "../errors";

export interface QueryLimits {
  maxDepth: number;
  /** Fields counted over the whole operation, fragments expanded: stops field floods. */
  maxFields: number;
  /** Aliased fields over the whole operation, fragments expanded: stops alias floods. */
  maxAliases: number;
}

/**
 * The standard introspection query (`getIntrospectionQuery()`, what GraphiQL and codegen send)
 * nests 15 levels of `ofType`: below `__schema` and `__type` depth may reach this, while fields
 * and aliases count against the same budgets as any other selection.
 */
export const INTROSPECTION_DEPTH = 15;

interface Measure {
  depth: number;
  fields: number;
  aliases: number;
}

/** Refuses operations nested too deep or selecting too many fields or aliases, introspection included. */
export function queryLimitsRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    let introspectionTooDeep = false;
    // `depth` counts from the operation; inside introspection, `intro` counts from __schema/__type.
    const measure = (set: SelectionSetNode | undefined, depth: number, intro: number | null, seen: Set<string>): Measure => {
      const out: Measure = { depth, fields: 0, aliases: 0 };
      if (!set) return out;
      for (const sel of set.selections) {
        let inner: Measure;
        if (sel.kind === Kind.FIELD) {
          const name = sel.name.value;
          const enters = intro === null && (name === "__schema" || name === "__type");
          const introDepth = enters ? 1 : intro === null ? null : intro + 1;
          if (introDepth !== null && introDepth > INTROSPECTION_DEPTH) introspectionTooDeep = true;
          // Introspection's own nesting is measured by introDepth, not against maxDepth.
          inner = measure(sel.selectionSet, introDepth === null ? depth + 1 : depth, introDepth, seen);
          inner.fields += 1;
          if (sel.alias) inner.aliases += 1;
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          inner = measure(sel.selectionSet, depth, intro, seen);
        } else {
          const name = sel.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue; // cycles are reported by graphql's own rule
          inner = measure(frag.selectionSet, depth, intro, new Set([...seen, name]));
        }
        out.depth = Math.max(out.depth, inner.depth);
        out.fields += inner.fields;
        out.aliases += inner.aliases;
        if (out.fields > limits.maxFields || out.aliases > limits.maxAliases) break;
      }
      return out;
    };
    const refuse = (message: string, node: OperationDefinitionNode) =>
      context.reportError(new GraphQLError(message, { nodes: [node], extensions: { code: ErrorCode.QUERY_TOO_COMPLEX } }));
    return {
      OperationDefinition(node) {
        introspectionTooDeep = false;
        const { depth, fields, aliases } = measure(node.selectionSet, 0, null, new Set());
        if (depth > limits.maxDepth) {
          refuse(`The operation is nested ${depth} levels deep; at most ${limits.maxDepth} are allowed`, node);
        } else if (introspectionTooDeep) {
          refuse(`Introspection may nest at most ${INTROSPECTION_DEPTH} levels`, node);
        } else if (fields > limits.maxFields) {
          refuse(`The operation selects more than ${limits.maxFields} fields`, node);
        } else if (aliases > limits.maxAliases) {
          refuse(`The operation uses more than ${limits.maxAliases} aliases`, node);
        }
      },
    };
  };
}
