import type { GraphQLFormattedError } from "graphql";
import { ErrorCode } from "../errors";
import type { Logger } from "../logger";

/**
 * The one place errors become `extensions.code`: our codes and Apollo's request-level codes pass
 * through; anything else is an internal fault, logged with its stack and masked for the client.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // Apollo files every validation-rule error under GRAPHQL_VALIDATION_FAILED; our limits keep their own code.
    const original = (error as { originalError?: { extensions?: { code?: unknown } } } | null)?.originalError;
    const code = original?.extensions?.code === ErrorCode.QUERY_TOO_COMPLEX ? ErrorCode.QUERY_TOO_COMPLEX : formatted.extensions?.code;
    if (code !== ErrorCode.INTERNAL_SERVER_ERROR && typeof code === "string") {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions: { ...extensions, code } };
    }
    logger.error({ err: error }, "unexpected error");
    return {
      message: "Internal server error",
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
