import { cacheExchange, Client, fetchExchange, subscriptionExchange } from "urql";
import { createClient as createSocket, type Client as SocketClient } from "graphql-ws";

/**
 * Where the API is: the page's own origin, or another Baton named once with `?api=https://baton.example`
 * (that origin must allow this one: CORS_ORIGINS). Kept for the tab, like the token.
 */
export function apiOrigin(): string {
  const given = new URLSearchParams(window.location.search).get("api");
  if (given) sessionStorage.setItem("baton.api", given.replace(/\/+$/, ""));
  return sessionStorage.getItem("baton.api") ?? window.location.origin;
}

export type SocketState = "connecting" | "connected" | "reconnecting";

export interface Api {
  client: Client;
  socket: SocketClient;
  close(): void;
}

/** A GraphQL client for one signed-in tab: HTTP for queries and mutations, graphql-ws for subscriptions. */
export function createApi(token: string, onSocket: (state: SocketState) => void, onReconnected: () => void): Api {
  const origin = apiOrigin();
  let everConnected = false;
  const socket = createSocket({
    url: `${origin.replace(/^http/, "ws")}/graphql`,
    connectionParams: { authorization: `Bearer ${token}` },
    // A dropped socket comes back by itself; the console shows it and catches up once it has.
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: async (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 300 * 2 ** retries))),
    on: {
      connecting: () => onSocket(everConnected ? "reconnecting" : "connecting"),
      connected: () => {
        onSocket("connected");
        if (everConnected) onReconnected();
        everConnected = true;
      },
      closed: () => onSocket(everConnected ? "reconnecting" : "connecting"),
    },
  });
  const client = new Client({
    url: `${origin}/graphql`,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    requestPolicy: "cache-and-network",
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? "" }, sink) }),
        }),
      }),
    ],
  });
  return { client, socket, close: () => void socket.dispose() };
}
