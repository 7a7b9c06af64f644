import type { ApolloServerPlugin } from "@apollo/server";
import { type GraphQLFormattedError, OperationTypeNode } from "graphql";
import type { Context } from "./context";
import { domainErrorOf, extensionsOf } from "./errors";
import { isTokenLimitError } from "./operation-rules";
import { CommitOutcomeUnknown, isDatabaseUnavailable } from "../db/faults";
import { COMMIT_OUTCOME_UNKNOWN_MESSAGE, COMMITTED_ANSWER_UNREADABLE_MESSAGE, DATABASE_UNAVAILABLE_MESSAGE, ErrorCode } from "../errors";

/**
 * Where every GraphQL error, over HTTP and sockets, gets its final `extensions.code` (a domain error's
 * own extensions come from `extensionsOf`, graphql/errors.ts; outside GraphQL, HTTP answers use
 * `sendError`, http/errors.ts): our codes and Apollo's request-level codes pass
 * through; anything else is an internal fault, masked for the client (and logged, with the
 * request's id, by `observeOperations`).
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (isDatabaseUnavailable(error)) {
    const unknown = (error as { originalError?: unknown }).originalError instanceof CommitOutcomeUnknown || error instanceof CommitOutcomeUnknown;
    return {
      message: unknown ? COMMIT_OUTCOME_UNKNOWN_MESSAGE : DATABASE_UNAVAILABLE_MESSAGE,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, ...(unknown ? { commitOutcome: "UNKNOWN" } : {}) },
    };
  }
  const domain = domainErrorOf(error);
  if (domain) return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: extensionsOf(domain) };
  const code = codeOf(formatted, error);
  if (!isInternal(code)) {
    const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions: { ...extensions, code } };
  }
  return {
    message: "Internal server error",
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

export const isInternal = (code: string): boolean => code === (ErrorCode.INTERNAL_SERVER_ERROR as string);

/** The code an error will carry; INTERNAL_SERVER_ERROR for anything that is not ours or Apollo's. */
export function codeOf(error: { message: string; extensions?: { code?: unknown } }, original: unknown = error): string {
  const domain = domainErrorOf(original);
  if (domain) return domain.code;
  // Apollo files every validation-rule error under GRAPHQL_VALIDATION_FAILED; our limits keep their own code.
  const inner = (original as { originalError?: { extensions?: { code?: unknown } } } | null)?.originalError;
  if (inner?.extensions?.code === ErrorCode.QUERY_TOO_COMPLEX || isTokenLimitError(error.message)) return ErrorCode.QUERY_TOO_COMPLEX;
  const code = error.extensions?.code;
  return typeof code === "string" ? code : ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * Database outages, as the client must understand them:
 * - A mutation whose own resolver returned has committed, even if the database went away while
 *   the fields of its answer were read: its error says `commitOutcome: COMMITTED` (read it back;
 *   do not repeat it), never "nothing was changed".
 * - An operation that failed only because the database is unavailable (no data at all) answers
 *   HTTP 503 with Retry-After, so load balancers and HTTP clients see it for what it is.
 */
export const serviceUnavailableStatus: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, operation }) {
        if (response.body.kind !== "single") return;
        const { data, errors } = response.body.singleResult;
        if (!errors?.length) return;
        if (operation?.operation === OperationTypeNode.MUTATION) {
          response.body.singleResult.errors = errors.map((e) =>
            e.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE && (e.path?.length ?? 0) > 1
              ? { ...e, message: COMMITTED_ANSWER_UNREADABLE_MESSAGE, extensions: { ...e.extensions, commitOutcome: "COMMITTED" } }
              : e,
          );
        }
        const all = response.body.singleResult.errors ?? [];
        if (data == null && all.every((e) => e.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE && e.extensions.commitOutcome !== "COMMITTED")) {
          response.http.status = 503;
          // No Retry-After when the change may have been made (commitOutcome UNKNOWN): it would invite a
          // blind retry that may do the work twice. Read it back first.
          if (!all.some((e) => e.extensions?.commitOutcome === "UNKNOWN")) response.http.headers.set("retry-after", "1");
        }
      },
    };
  },
};
