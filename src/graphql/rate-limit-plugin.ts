import type { ApolloServerPlugin } from "@apollo/server";
import type { RateLimits } from "../rate-limits";
import { BatonError } from "../errors";
import type { Context } from "./context";
import { toGraphQLError } from "./errors";

/** Apollo's side: an authenticated operation takes one from its user's budget before it runs. */
export function userRateLimit(limits: RateLimits): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue }) {
          if (!contextValue.viewer) return;
          try {
            await limits.user(contextValue.viewer.id);
          } catch (err) {
            throw err instanceof BatonError ? toGraphQLError(err, true) : err;
          }
        },
      };
    },
  };
}
