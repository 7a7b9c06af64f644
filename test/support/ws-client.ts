import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

export interface Received<T> {
  data?: T | null;
  errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
}

/** A subscription whose messages queue up, read one at a time (graphql-ws's own test style). */
export interface Subscribed<T> {
  next(timeoutMs?: number): Promise<Received<T>>;
  /** Resolves true if nothing arrives within `ms`. */
  nothingWithin(ms: number): Promise<boolean>;
  /** Error or completion of the subscription itself. */
  ended: Promise<unknown>;
  dispose(): void;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}

export function connect(httpUrl: string, token: string | undefined, onClosed?: (code: number) => void): Client {
  return createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (e) => onClosed?.((e as { code: number }).code) },
  });
}

export function subscribe<T, V>(client: Client, doc: TypedDocumentNode<T, V>, variables: V): Subscribed<T> {
  const queue: Received<T>[] = [];
  const waiters: Array<(v: Received<T>) => void> = [];
  let settle: (v: unknown) => void = () => {};
  const ended = new Promise((resolve) => (settle = resolve));
  const dispose = client.subscribe<T>(
    { query: print(doc), variables: variables as Record<string, unknown> },
    {
      next: (value) => {
        const w = waiters.shift();
        if (w) w(value);
        else queue.push(value);
      },
      error: (err) => settle(err),
      complete: () => settle("complete"),
    },
  );
  return {
    next(timeoutMs = 2_000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((v) => {
          clearTimeout(timer);
          resolve(v);
        });
      });
    },
    async nothingWithin(ms) {
      await new Promise((r) => setTimeout(r, ms));
      return queue.length === 0;
    },
    ended,
    dispose,
  };
}

/** Opens a raw graphql-transport-ws socket and reports how the server closes it. */
export function rawSocket(httpUrl: string): { socket: WebSocket; closed: Promise<{ code: number; reason: string }>; opened: Promise<void> } {
  const socket = new WebSocket(wsUrl(httpUrl), "graphql-transport-ws");
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const opened = new Promise<void>((resolve) => socket.once("open", () => resolve()));
  return { socket, closed, opened };
}
