import { GraphQLError } from "graphql";
import { BatonError } from "../errors";
import { httpStatusOf, retryAfterOf } from "../http/errors";

/** A domain error's GraphQL extensions: its code and details. */
export const extensionsOf = (error: BatonError): Record<string, unknown> => ({ code: error.code, ...error.details });

/**
 * A domain error as a GraphQL error. `wholeRequest`: it fails the request before anything runs
 * (authentication, rate limits), so Apollo answers with the code's HTTP status and Retry-After.
 */
export function toGraphQLError(error: BatonError, wholeRequest = false): GraphQLError {
  const extensions = extensionsOf(error);
  if (wholeRequest) {
    const retryAfter = retryAfterOf(error);
    extensions.http = { status: httpStatusOf(error.code), headers: new Map(retryAfter ? [["retry-after", retryAfter]] : []) };
  }
  return new GraphQLError(error.message, { extensions, originalError: error });
}

/** The domain error behind a GraphQL error, if any. */
export function domainErrorOf(error: unknown): BatonError | null {
  if (error instanceof BatonError) return error;
  const original = (error as { originalError?: unknown } | null)?.originalError;
  return original instanceof BatonError ? original : null;
}
