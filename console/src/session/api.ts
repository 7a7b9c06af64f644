import { Client, fetchExchange, makeOperation, mapExchange, type Operation, subscriptionExchange } from "urql";
import { retryExchange } from "@urql/exchange-retry";
import { createClient as createSocket, type Client as SocketClient } from "graphql-ws";
import { createCacheExchange, type Viewer } from "./cache";

/** The API this tab uses, once `chooseApi` has decided. */
let chosen: string | null = null;

export type ApiChoice = { origin: string } | { refused: string };

/**
 * Where the API is: the page's own origin, or another Baton named with `?api=https://baton.example`
 * (kept for the tab) that the server serving this page lists (CONSOLE_API_ORIGINS, read from its
 * own origin). An origin it does not list gets a sentence and no request at all: a link must not
 * be able to send a signed-in user's token, or show a "Sign in as" list, from anywhere else. The
 * page's Content-Security-Policy enforces the same list.
 */
export async function chooseApi(): Promise<ApiChoice> {
  const own = window.location.origin;
  const given = new URLSearchParams(window.location.search).get("api");
  let wanted = sessionStorage.getItem("baton.api") ?? own;
  if (given !== null) {
    try {
      wanted = new URL(given).origin;
    } catch {
      return { refused: `"${given}" is not the address of a Baton API.` };
    }
  }
  if (wanted === own) {
    sessionStorage.removeItem("baton.api");
    return { origin: (chosen = own) };
  }
  const listed = await fetch("/console/config.json")
    .then((r) => (r.ok ? (r.json() as Promise<{ apiOrigins?: string[] }>) : {}))
    .then((c: { apiOrigins?: string[] }) => c.apiOrigins ?? [], () => [] as string[]);
  if (!listed.includes(wanted)) {
    sessionStorage.removeItem("baton.api");
    return { refused: `This console does not connect to ${wanted}: the server that serves it does not list that API (CONSOLE_API_ORIGINS).` };
  }
  sessionStorage.setItem("baton.api", wanted);
  return { origin: (chosen = wanted) };
}

/** The API chosen for this tab (the page's own origin until `chooseApi` says otherwise). */
export function apiOrigin(): string {
  return chosen ?? window.location.origin;
}

/** Where this tab keeps its token: one per API origin, so a token is never sent to another. */
export const tokenKey = (): string => `baton.token:${apiOrigin()}`;

export type SocketState = "connecting" | "connected" | "reconnecting";

export interface Api {
  client: Client;
  socket: SocketClient;
  /** Who is signed in, for the cache's rules (set once the session knows). */
  viewer: Viewer;
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
  const viewer: Viewer = { id: null };
  const client = new Client({
    url: `${origin}/graphql`,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    requestPolicy: "cache-and-network",
    exchanges: [
      // Normalized by the API's ids and kept current by the events and the mutations' answers.
      createCacheExchange(viewer),
      // Every mutation carries an Idempotency-Key of its own, kept when a lost answer is retried:
      // a retry can never make the change twice (see the README's "Safe retries").
      mapExchange({ onOperation: withIdempotencyKey }),
      retryExchange({
        initialDelayMs: 500,
        maxDelayMs: 4_000,
        maxNumberAttempts: 4,
        retryIf: (error, operation) =>
          operation.kind === "mutation" &&
          (!!error.networkError || error.graphQLErrors.some((e) => e.extensions?.code === "IDEMPOTENCY_KEY_IN_USE" || (e.extensions?.code === "SERVICE_UNAVAILABLE" && e.extensions?.commitOutcome === "UNKNOWN"))),
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? "" }, sink) }),
        }),
      }),
    ],
  });
  return { client, socket, viewer, close: () => void socket.dispose() };
}

/** 128 random bits (crypto.randomUUID exists only in secure contexts; getRandomValues everywhere). */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A mutation's operation with an Idempotency-Key header (a new one per mutation; a retry of it keeps it). */
function withIdempotencyKey(operation: Operation): Operation {
  if (operation.kind !== "mutation") return operation;
  const given = operation.context.fetchOptions;
  const base = (typeof given === "function" ? given() : given) ?? {};
  const headers = { ...(base.headers as Record<string, string> | undefined), "idempotency-key": newKey() };
  return makeOperation(operation.kind, operation, { ...operation.context, fetchOptions: { ...base, headers } });
}
