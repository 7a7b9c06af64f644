import { createHash } from "node:crypto";
import type { ApolloServerPlugin } from "@apollo/server";
import { type FormattedExecutionResult, type GraphQLSchema, Kind, type OperationDefinitionNode, OperationTypeNode } from "graphql";
import { badInput, BatonError } from "../errors";
import type { Logger } from "../logger";
import type { StoredResult } from "../modules/idempotency/idempotency.service";
import type { User } from "../modules/users/user.entity";
import { type Context, type OperationIdempotency, viewerOf } from "./context";
import { toGraphQLError } from "./errors";
import { answerFromWrite } from "./answer";


const KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * The idempotency of a mutation sent with a key (the Idempotency-Key header, or a socket
 * operation's `extensions.idempotencyKey`): null for other operations (a key on a query changes
 * nothing). A key is 1 to 255 printable ASCII characters, and an idempotent operation has exactly
 * one mutation field (its record holds one result).
 */
export function idempotencyOf(
  raw: unknown,
  viewer: User | null,
  operation: OperationDefinitionNode | null | undefined,
  request: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
): OperationIdempotency | null {
  if (raw === undefined || raw === null || !viewer || operation?.operation !== OperationTypeNode.MUTATION) return null;
  if (typeof raw !== "string" || !KEY.test(raw)) {
    throw badInput("An Idempotency-Key is 1 to 255 printable ASCII characters", "Idempotency-Key");
  }
  const fields = operation.selectionSet.selections;
  if (fields.length !== 1 || fields[0]?.kind !== Kind.FIELD) {
    throw badInput("An operation sent with an Idempotency-Key has exactly one mutation field", "Idempotency-Key");
  }
  const hash = createHash("sha256")
    .update(JSON.stringify([request.query, request.operationName ?? null, canonical(request.variables ?? {})]))
    .digest("base64url");
  return { userId: viewer.id, key: raw, hash, recorded: false, replay: null, rebuilt: false };
}

/** Objects with their keys sorted, so that the same variables hash the same whatever their order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Every mutation field's resolver, wrapped: an idempotent operation's field runs through the
 * idempotency service (now, in one unit with its record; or not at all, answering what the first
 * run answered). Other operations call the resolver as it is.
 */
export function makeMutationsIdempotent(schema: GraphQLSchema): void {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve;
    if (!resolve) continue;
    const direct = DIRECT.has(field.name);
    field.resolve = (root, args, context: Context, info) =>
      context.idempotency ? idempotent(context, () => resolve(root, args, context, info), direct) : resolve(root, args, context, info);
  }
}

/**
 * The mutations whose effects the handover engine commits in one statement that also writes
 * their record (see IdempotencyService.run `direct`): with a key they cost no lock held longer.
 */
const DIRECT = new Set(["assignChat", "discussChat", "acceptAssignment", "rejectAssignment", "withdrawAssignment"]);

async function idempotent(context: Context, next: () => unknown, direct: boolean): Promise<unknown> {
  const scope = context.idempotency as OperationIdempotency;
  let outcome;
  try {
    outcome = await context.services.idempotency.run(scope, async () => next(), { direct });
  } catch (err) {
    // IN_USE and REUSED fail the whole request: their HTTP statuses (409, 422) and Retry-After.
    if (err instanceof BatonError && !scope.recorded) throw toGraphQLError(err, true);
    throw err;
  }
  if (outcome.kind === "ran") return outcome.value;
  if (outcome.kind === "replay") {
    scope.replay = outcome.response as { status: number; body: FormattedExecutionResult };
    return null; // the stored answer replaces this execution's
  }
  scope.rebuilt = true;
  const result: StoredResult = outcome.result;
  if ("error" in result) throw new BatonError(result.error.code, result.error.message, result.error.details);
  if ("requestId" in result) {
    // The request it opened or answered: its answer made again of the rows its statement wrote, as the first was.
    if (!result.rows) return context.services.handovers.findVisible(viewerOf(context), result.requestId);
    const rows = context.services.idempotency.rowsOf(result.rows);
    answerFromWrite(context)({
      requests: [rows.request],
      records: rows.record ? [rows.record] : [],
      chats: rows.chat ? [rows.chat] : [],
      users: [viewerOf(context), ...rows.users],
    });
    return rows.request;
  }
  return result.value;
};

/**
 * What to send for an idempotent operation: the stored answer of a replay (marked
 * `extensions.idempotentReplay`), or this answer, stored first when its run was recorded.
 */
export async function settleIdempotentAnswer(
  ctx: Context,
  status: number,
  body: FormattedExecutionResult,
  logger: Logger,
): Promise<{ status: number; body: FormattedExecutionResult } | null> {
  const scope = ctx.idempotency;
  if (!scope) return null;
  const replayed = (answer: { status: number; body: FormattedExecutionResult }) => ({
    status: answer.status,
    body: { ...answer.body, extensions: { ...answer.body.extensions, idempotentReplay: true } },
  });
  const answer = { status, body };
  try {
    // Stores the answer of a recorded run, and lets go of the key.
    await ctx.services.idempotency.finish(scope, scope.replay || scope.rebuilt ? null : answer);
  } catch (err) {
    // The record stays: a replay then rebuilds the answer from the stored result.
    logger.warn({ err: (err as Error).message }, "an idempotent answer could not be stored; a replay will rebuild it");
  }
  if (scope.replay) return replayed(scope.replay);
  return scope.rebuilt ? replayed(answer) : null;
}

/** Over HTTP: the Idempotency-Key header, read once the operation is known; the stored or marked answer sent. */
export function idempotencyPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, request }) {
          try {
            contextValue.idempotency =
              idempotencyOf(contextValue.idempotencyKey, contextValue.viewer, operation, {
                query: request.query ?? "",
                operationName: request.operationName,
                variables: request.variables,
              }) ?? undefined;
          } catch (err) {
            if (err instanceof BatonError) throw toGraphQLError(err, true);
            throw err;
          }
        },
        async willSendResponse({ contextValue, response }) {
          if (!contextValue.idempotency || response.body.kind !== "single") return;
          const sent = await settleIdempotentAnswer(contextValue, response.http.status ?? 200, response.body.singleResult, logger);
          if (!sent) return;
          response.http.status = sent.status;
          response.body.singleResult = sent.body;
        },
      };
    },
  };
}
