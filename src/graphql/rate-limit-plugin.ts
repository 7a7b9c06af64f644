import type { ApolloServerPlugin } from "@apollo/server";
import type { RateLimits } from "../rate-limits";
import type { Context } from "./context";

/** Apollo's side: an authenticated operation takes one from its user's budget before it runs. */
export function userRateLimit(limits: RateLimits): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue }) {
          if (contextValue.viewer) await limits.user(contextValue.viewer.id);
        },
      };
    },
  };
}
