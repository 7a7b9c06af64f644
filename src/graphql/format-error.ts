import type { GraphQLFormattedError } from "graphql";
import { ErrorCode } from "../errors";
import type { Logger } from "../logger";

/**
 * The one place errors become `extensions.code`: our codes and Apollo's request-level codes pass
 * through; anything else is an internal fault, logged with its stack and masked for the client.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (code !== ErrorCode.INTERNAL_SERVER_ERROR && typeof code === "string") {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
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
