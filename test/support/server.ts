import type { ClusterAccess } from "../../src/events/redis-cluster";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import pino from "pino";
import type { DataSource } from "typeorm";
import { type App, createApp } from "../../src/app";
import { DEFAULT_IDENTITY_CONFIG, DEFAULT_WEBHOOK_CONFIG, type IdentityConfig, type WebhookConfig } from "../../src/config";
import { TEST_JWT_SECRET } from "./factories";

export interface GqlResult<T> {
  status: number;
  data: T | null | undefined;
  errors?: Array<{ message: string; extensions?: { code?: string; [k: string]: unknown } }>;
}

export interface TestServer {
  app: App;
  url: string;
  gql<T, V>(doc: TypedDocumentNode<T, V>, variables: V, token?: string): Promise<GqlResult<T>>;
  raw(body: unknown, token?: string, headers?: Record<string, string>): Promise<GqlResult<unknown>>;
  stop(): Promise<void>;
}

/** The real server, on a free loopback port, driven over HTTP. */
export interface TestServerOptions {
  bodyLimitBytes?: number;
  /** Run the timeout scheduler against this database URL. */
  schedulerUrl?: string;
  /** Run the scheduler on Agenda's MongoDB backend instead. */
  mongoUrl?: string;
  sweepEveryMs?: number;
  name?: string;
  redisUrl?: string;
  /** A Redis Cluster's seed nodes instead of redisUrl. */
  redisCluster?: ClusterAccess;
  /** As the embedded demo: the console's "Sign in as" list is served. */
  demo?: boolean;
  /** Browser origins allowed to call this API (CORS_ORIGINS). */
  corsOrigins?: string[];
  /** Other APIs the console may be pointed at (CONSOLE_API_ORIGINS). */
  consoleApiOrigins?: string[];
  /** A fixed port (default: any free one). */
  port?: number;
  /** The WEBHOOK_* variables (unset ones: their defaults). */
  webhooks?: Partial<WebhookConfig>;
  /** The OIDC_* variables, and the key cache's timings (unset ones: their defaults). */
  identity?: Partial<IdentityConfig>;
  /** The server's logger (default: silent, or TEST_LOG_LEVEL's), for a test that reads what it logs. */
  logger?: pino.Logger;
}

export async function startTestServer(dataSource: DataSource, overrides: TestServerOptions = {}): Promise<TestServer> {
  const app = await createApp({
    config: { port: overrides.port ?? 0, host: "127.0.0.1", bodyLimitBytes: overrides.bodyLimitBytes ?? 1_000_000, maxQueryDepth: 10, corsOrigins: overrides.corsOrigins, consoleApiOrigins: overrides.consoleApiOrigins, webhooks: overrides.webhooks ? { ...DEFAULT_WEBHOOK_CONFIG, ...overrides.webhooks } : undefined, identity: overrides.identity ? { ...DEFAULT_IDENTITY_CONFIG, ...overrides.identity } : undefined },
    dataSource,
    jwtSecret: TEST_JWT_SECRET,
    logger: overrides.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    redisUrl: overrides.redisUrl,
    redisCluster: overrides.redisCluster,
    demo: overrides.demo,
    scheduler: overrides.schedulerUrl || overrides.mongoUrl
      ? {
          postgresUrl: overrides.schedulerUrl ?? "",
          mongoUrl: overrides.mongoUrl,
          processEveryMs: 200,
          sweepEveryMs: overrides.sweepEveryMs ?? 2_000,
          name: overrides.name ?? "test",
        }
      : undefined,
  });
  const url = await app.listen();
  const post = async (body: string, token?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body,
    });
    const json = (await res.json()) as Omit<GqlResult<unknown>, "status">;
    return { status: res.status, ...json };
  };
  return {
    app,
    url,
    gql: async (doc, variables, token) =>
      (await post(JSON.stringify({ query: print(doc), variables }), token)) as GqlResult<never>,
    raw: (body, token, headers) => post(typeof body === "string" ? body : JSON.stringify(body), token, headers),
    stop: () => app.stop(),
  };
}

export function codeOf(result: GqlResult<unknown>): string | undefined {
  return result.errors?.[0]?.extensions?.code;
}
