import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import compression from "compression";
import express, { type NextFunction, type Request, type Response } from "express";
import proxyaddr from "proxy-addr";
import type { DataSource } from "typeorm";
import { type Config, DEFAULT_SOCKET_LIMITS } from "./config";
import { type SchedulerOptions, TimeoutScheduler } from "./jobs/timeout-scheduler";
import { RollupRefresher } from "./jobs/bi-rollup";
import { AuditCheckpointer } from "./jobs/audit-checkpoints";
import type { SigningKey } from "./kernel/audit-chain";
import { existsSync } from "node:fs";
import path from "node:path";
import { BatonError, ErrorCode, serviceUnavailable } from "./errors";
import { isDatabaseUnavailable } from "./db/faults";
import { notFoundJson, sendError } from "./http/errors";
import { securityHeaders } from "./http/security-headers";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { observeOperations, operationObserver, requestLine, requestLogging } from "./http/observability";
import { Metrics } from "./metrics";
import { withTimeout } from "./kernel/time";
import { RateLimits } from "./rate-limits";
import { userRateLimit } from "./graphql/rate-limit-plugin";
import { buildContext, type Context } from "./graphql/context";
import { idempotencyPlugin } from "./graphql/idempotency";
import { formatError, serviceUnavailableStatus } from "./graphql/format-error";
import { DEFAULT_OPERATION_RULES, operationGuards, textCheckPlugin } from "./graphql/operation-rules";
import { type BatonPubSub, createBatonPubSub } from "./events/pubsub";
import { buildBatonSchema } from "./graphql/schema";
import { attachWebSocket, type WebSocketEndpoint } from "./graphql/websocket";
import type { Logger } from "./logger";
import { exportHandler } from "./http/tracking-export";
import { LocalPresence, RedisPresence } from "./modules/presence/presence.service";
import { RedisConnections } from "./events/redis";
import { type ClusterAccess, RedisClusterConnections } from "./events/redis-cluster";
import { createServices, type Services } from "./services";

export interface AppOptions {
  config: Pick<Config, "port" | "host" | "bodyLimitBytes" | "maxQueryDepth"> &
    Partial<Pick<Config, "shutdownDelayMs" | "shutdownGraceMs" | "introspection" | "suggestions" | "limits" | "metrics" | "rateLimits" | "corsOrigins" | "consoleApiOrigins" | "trustProxy" | "webhooks" | "identity" | "idempotencyTtlHours" | "audit">>;
  /** The verifiable log's signing key (main.ts reads AUDIT_SIGNING_KEY_FILE; the embedded demo makes one); unset: checkpoints are off. */
  auditKey?: SigningKey | null;
  /** Events and presence through Redis, shared by every instance. */
  redisUrl?: string;
  /** Or through a Redis Cluster (REDIS_CLUSTER_NODES): sharded pub/sub for the audiences. */
  redisCluster?: ClusterAccess;
  presenceTtlMs?: number;
  /** Scheduled timeouts; without it a deadline acts only when someone touches the request. */
  scheduler?: SchedulerOptions;
  /** The embedded demo: the console offers its users to sign in as (GET /console/demo-users.json). */
  demo?: boolean;
  /** Where the built console is (default: dist/console of the project); missing: "/" says how to build it. */
  consoleDir?: string;
  /** Recompute bi.handover_daily this often (seconds); unset or 0: never (the CLI's bi:refresh). */
  biRollupRefreshSeconds?: number;
  dataSource: DataSource;
  jwtSecret: string;
  logger: Logger;
}

export interface App {
  httpServer: Server;
  scheduler: TimeoutScheduler | null;
  websocket: WebSocketEndpoint;
  services: Services;
  pubsub: BatonPubSub;
  /** Binds the port (0: any free one) and returns the GraphQL URL. */
  listen(): Promise<string>;
  /** Where /metrics is served, once listening (null: nowhere, or on the API's port). */
  metricsUrl(): string | null;
  /** What /readyz reports: every check, and whether all pass. */
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
  /**
   * Graceful stop: readiness fails first, no new connections, HTTP requests in flight finish (up
   * to `shutdownGraceMs`) and get their real answers, sockets close with 1001, a running timeout
   * drain finishes, then everything is closed.
   */
  stop(): Promise<void>;
}

/** The project's root (where package.json is), from src/ or dist/src/. */
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const { config, dataSource, logger } = opts;
  const limits = config.limits ?? DEFAULT_SOCKET_LIMITS;
  const redis = opts.redisCluster
    ? new RedisClusterConnections(opts.redisCluster, logger)
    : opts.redisUrl
      ? new RedisConnections(opts.redisUrl, logger)
      : undefined;
  await redis?.connect();
  const pubsub = createBatonPubSub({ redis, logger, maxQueued: limits.queuedEventsPerSubscription });
  const ttl = opts.presenceTtlMs ?? 30_000;
  const presence = redis ? new RedisPresence(redis.commands, ttl, Math.max(250, Math.floor(ttl / 3))) : new LocalPresence();
  const scheduler = opts.scheduler ? new TimeoutScheduler(opts.scheduler, dataSource, logger) : null;
  const services = createServices(dataSource, pubsub, opts.jwtSecret, logger, presence, scheduler ?? undefined, config.webhooks, config.identity, config.idempotencyTtlHours, opts.auditKey ?? null);
  const schema = await buildBatonSchema();
  await scheduler?.start(services.handovers);
  services.webhookDispatcher.start();
  services.idempotency.startPurging((err) => logger.warn({ err: (err as Error).message }, "expired idempotency keys could not be deleted; next round tries again"));
  const rollup = new RollupRefresher(services.bi, opts.biRollupRefreshSeconds ?? 0, logger);
  rollup.start();
  const checkpointer = new AuditCheckpointer(services.audit, config.audit?.checkpointMinutes ?? 0, logger);
  await checkpointer.start();

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy ?? false);
  const httpServer = createServer(app);
  app.use(requestLogging(logger));
  // The console's page may also talk to the identity providers its organizations sign in with
  // (their origins cached a minute; one helmet per distinct list). Only the page itself needs them
  // (a Content-Security-Policy governs documents): every other response, the API's included, gets
  // the fixed headers without waiting for anything.
  const headersFor = new Map<string, ReturnType<typeof securityHeaders>>();
  const headersWith = (sso: string[]) => {
    const key = sso.join(" ");
    let headers = headersFor.get(key);
    if (!headers) {
      if (headersFor.size >= 16) headersFor.clear();
      headers = securityHeaders(config.consoleApiOrigins ?? [], sso);
      headersFor.set(key, headers);
    }
    return headers;
  };
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== "GET" || (req.path !== "/" && req.path !== "/index.html")) return headersWith([])(req, res, next);
    void services.identity
      .consoleOrigins()
      .catch(() => [])
      .then((sso) => headersWith(sso)(req, res, next));
  });
  // Browsers on the listed origins may call the API; others get no CORS headers (same-origin only).
  app.use(
    cors({
      origin: config.corsOrigins?.length ? config.corsOrigins : false,
      allowedHeaders: ["content-type", "authorization", "x-request-id", "apollo-require-preflight", "idempotency-key"],
      exposedHeaders: ["x-request-id", "retry-after"],
      maxAge: 600,
    }),
  );

  // Requests in flight, so a stop can wait for each to get its answer.
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;
  app.use((_req: Request, res: Response, next: NextFunction) => {
    inFlight++;
    // Draining: answer, then close the connection, so no client sends it another request.
    if (draining) res.setHeader("connection", "close");
    res.once("close", () => {
      if (--inFlight === 0) idle?.();
    });
    next();
  });

  const guards = operationGuards(
    { ...DEFAULT_OPERATION_RULES, maxDepth: config.maxQueryDepth, introspection: config.introspection ?? "authenticated", suggestions: config.suggestions ?? false },
    schema,
  );
  const rateLimits = new RateLimits(config.rateLimits ?? { perUserPerMinute: 0, perIpPerMinute: 0 }, redis?.commands, logger);
  const metrics =
    config.metrics?.enabled === false
      ? null
      : new Metrics({
          pendingRequests: () => services.assignmentQueries.countPending(),
          websocketConnections: () => websocket.connectionCount(),
          subscriptionClasses: () => websocket.subscriptionClasses(),
          webhookQueueDepth: () => services.webhookDispatcher.queueDepth(),
        });
  if (metrics) pubsub.onCommittedEvent((message) => metrics.event(message));
  if (metrics) services.webhookDispatcher.observe(metrics.webhooks);
  const observe = operationObserver(logger, metrics);
  const clientIp = (req: IncomingMessage): string | undefined => proxyaddr(req, app.get("trust proxy fn") as (addr: string, i: number) => boolean);
  const websocket = attachWebSocket({
    httpServer,
    schema,
    services,
    logger,
    limits,
    guards,
    maxPayloadBytes: config.bodyLimitBytes,
    rateLimits,
    clientIp,
    observe,
  });

  const apollo = new ApolloServer<Context>({
    schema,
    validationRules: guards.apollo.validationRules,
    parseOptions: guards.apollo.parseOptions,
    introspection: guards.introspection !== "off",
    // "Did you mean ...?" names fields nobody asked about (the schema, to anyone): off unless asked.
    hideSchemaDetailsFromClientErrors: !guards.suggestions,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Baton authenticates with the Authorization header only, never cookies: a cross-site request
    // carries no credentials, GET cannot run mutations, and a POST must be application/json (a
    // text/plain "simple" request is not parsed). Apollo's CSRF check would only refuse the plain
    // GET queries that urql and other clients send by default.
    csrfPrevention: false,
    // The HTTP server is drained by stop() below, before Apollo stops. No landing page: a browser
    // opening /graphql would load Apollo's Sandbox from a CDN on the console's origin.
    plugins: [ApolloServerPluginLandingPageDisabled(), ...guards.apollo.plugins, serviceUnavailableStatus, textCheckPlugin, userRateLimit(rateLimits), observeOperations(observe, logger), idempotencyPlugin(logger)],
  });
  await apollo.start();

  const readiness = async (): Promise<{ ready: boolean; checks: Record<string, string> }> => {
    const checks: Record<string, string> = {};
    const probe = async (name: string, check: () => Promise<string | null>) => {
      try {
        const problem = await withTimeout(check(), 1_000);
        checks[name] = problem ? `failing: ${problem}` : "ok";
      } catch (err) {
        checks[name] = `failing: ${err instanceof Error ? err.message : String(err)}`;
      }
    };
    await Promise.all([
      probe("database", async () => {
        await services.organizations.ping();
        return null;
      }),
      scheduler ? probe("scheduler", async () => scheduler.problem()) : null,
    ]);
    checks.draining = draining ? "failing: the instance is stopping" : "ok";
    const ready = Object.values(checks).every((v) => v === "ok");
    // Redis degrades this instance (live delivery across instances, shared presence and rate
    // limits) but does not stop it serving GraphQL: every instance shares the outage, and taking
    // them all out of a balancer would take the whole service down. Reported, never failing.
    if (redis instanceof RedisClusterConnections) {
      checks.redis = redis.available() ? "ok" : "degraded: the Redis Cluster or one of its shards does not answer (live events on its channels are interrupted; their sockets were told to catch up)";
    } else if (redis) {
      checks.redis = redis.available() ? "ok" : "degraded: not connected (live events between instances and shared rate limits are interrupted)";
    }
    return { ready, checks };
  };

  // Liveness: the process answers. It does not depend on Postgres or Redis, so an orchestrator
  // never restarts a healthy process because a dependency is down.
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  // Readiness: send traffic here only while this instance can serve: its database answers, its
  // scheduler runs and it is not stopping. Redis down is "degraded" in the body, still 200.
  app.get("/readyz", async (_req, res) => {
    const { ready, checks } = await readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable", checks });
  });

  // Prometheus: operation names and counts are not for the public. On a listener of its own,
  // loopback by default (METRICS_PORT, METRICS_HOST); on the API's port only if asked.
  const serveMetrics = async (_req: Request, res: Response) => {
    res.setHeader("content-type", metrics!.registry.contentType);
    res.end(await metrics!.registry.metrics());
  };
  let metricsServer: Server | null = null;
  let metricsAddress: string | null = null;
  if (metrics && config.metrics?.onApiPort) app.get("/metrics", serveMetrics);
  else if (metrics && config.metrics && config.metrics.port !== null) {
    const metricsApp = express();
    metricsApp.disable("x-powered-by");
    metricsApp.get("/metrics", serveMetrics);
    metricsApp.use(notFoundJson);
    metricsServer = createServer(metricsApp);
  }

  // Per-IP budget for the API and the export (per-user: userRateLimit, once the user is known).
  const ipLimit = async (req: Request, res: Response, next: NextFunction) => {
    try {
      await rateLimits.ip(req.ip);
      next();
    } catch (err) {
      if (!(err instanceof BatonError)) return next(err);
      sendError(res, err);
    }
  };

  // The API first: its requests pass no other route on their way (the exports, the console's files).
  app.use(
    "/graphql",
    ipLimit,
    express.json({ limit: config.bodyLimitBytes }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) =>
        Object.assign(await buildContext(services, req.headers.authorization, req.id as string), {
          requestLine: requestLine(res),
          idempotencyKey: req.headers["idempotency-key"] as string | undefined,
        }),
    }),
  );

  for (const [spec, file] of [
    ["records", "engagement-tracking-records.csv"],
    ["events", "assignment-events.csv"],
  ] as const) {
    app.get(`/exports/${file}`, ipLimit, exportHandler(spec, file, services, logger, rateLimits));
  }

  // The agent console (console/, built by `npm run build`): static files at "/", the API beside it.
  const consoleDir = opts.consoleDir ?? path.join(projectRoot(), "dist", "console");
  if (existsSync(path.join(consoleDir, "index.html"))) {
    // Source maps are built (hidden: no reference in the bundle) for whoever debugs a build, never served.
    app.use((req: Request, res: Response, next: NextFunction) => (req.path.endsWith(".map") ? notFoundJson(req, res) : next()));
    // The console's files compressed (brotli or gzip, as the browser accepts; by the compression
    // library); the API's answers are not (small, and the CPU is the API's).
    const compressed = compression();
    app.use((req: Request, res: Response, next: NextFunction) =>
      req.path.startsWith("/graphql") || req.path.startsWith("/exports") ? next() : compressed(req, res, next),
    );
    app.use(
      express.static(consoleDir, {
        index: "index.html",
        setHeaders: (res, file) => {
          // Vite names assets by content: they never change. The page itself is always asked again.
          res.setHeader("cache-control", file.endsWith("index.html") ? "no-cache" : "public, max-age=31536000, immutable");
        },
      }),
    );
  } else {
    app.get("/", (_req, res) => {
      res.type("text/plain").send("Baton's API is at /graphql. The agent console is not built here: run `npm run build` (npm start does).\n");
    });
  }
  // The APIs the console may be pointed at with ?api= (its own origin always): read by the
  // console from its own origin before it sends anything anywhere.
  app.get("/console/config.json", (_req, res) => {
    res.setHeader("cache-control", "no-cache");
    res.json({ apiOrigins: config.consoleApiOrigins ?? [] });
  });
  // The console's "Sign in with single sign-on": the provider of an email's (or an organization's) organization.
  app.get("/console/sso.json", ipLimit, async (req, res, next) => {
    try {
      const q = (name: string) => (typeof req.query[name] === "string" ? (req.query[name]) : null);
      const found = await services.identity.consoleSignIn({ email: q("email"), organizationId: q("organization") });
      res.setHeader("cache-control", "no-store");
      if (!found) return sendError(res, new BatonError(ErrorCode.NOT_FOUND, "No single sign-on is set up for this email or organization"));
      res.json(found);
    } catch (err) {
      if (err instanceof BatonError) return sendError(res, err);
      next(err);
    }
  });

  if (opts.demo) {
    // Only the embedded demo (no DATABASE_URL): its users' tokens, for the console's "Sign in as".
    app.get("/console/demo-users.json", ipLimit, async (_req, res, next) => {
      try {
        res.json(await services.tokens.demoTokens());
      } catch (err) {
        next(err);
      }
    });
  }

  // Anything else: a JSON 404, not express's HTML page.
  app.use(notFoundJson);

  // Body-parser failures (too large, malformed JSON) answer in GraphQL's error shape.
  app.use((err: { type?: string; status?: number; message?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (!err?.type) return next(err);
    const tooLarge = err.type === "entity.too.large";
    res.status(err.status ?? 400).json({
      errors: [
        {
          message: tooLarge ? `The request body exceeds ${config.bodyLimitBytes} bytes` : "The request body is not valid JSON",
          extensions: { code: tooLarge ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.BAD_USER_INPUT },
        },
      ],
    });
  });
  // Anything else that failed outside GraphQL: JSON too, never express's HTML page (which, without
  // NODE_ENV=production, shows the stack). A malformed path is the client's; the rest is ours, logged.
  app.use((err: { status?: number; statusCode?: number; message?: string }, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (isDatabaseUnavailable(err)) return sendError(res, serviceUnavailable());
    const status = err?.status ?? err?.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      res.status(status).json({ errors: [{ message: `The request could not be read (${status})`, extensions: { code: status === 404 ? ErrorCode.NOT_FOUND : ErrorCode.BAD_USER_INPUT } }] });
      return;
    }
    logger.error({ err, reqId: req.id as string }, "unexpected error");
    res.status(500).json({ errors: [{ message: "Internal server error", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }] });
  });

  return {
    httpServer,
    scheduler,
    websocket,
    services,
    pubsub,
    async listen() {
      const bind = (server: Server, port: number, host = config.host) =>
        new Promise<AddressInfo>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, host, () => resolve(server.address() as AddressInfo));
        });
      const { port } = await bind(httpServer, config.port);
      if (metricsServer) {
        const host = config.metrics!.host;
        const bound = await bind(metricsServer, config.metrics!.port!, host).catch((err: NodeJS.ErrnoException) => {
          throw Object.assign(new Error(`the metrics port ${config.metrics!.port} on ${host}: ${err.code ?? err.message}`), { code: err.code, metrics: true });
        });
        metricsAddress = `http://${host.includes(":") ? `[${host}]` : host}:${bound.port}/metrics`;
      }
      const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
      return `http://${host}:${port}/graphql`;
    },
    metricsUrl: () => metricsAddress,
    readiness,
    async stop() {
      draining = true;
      // Readiness fails first; the instance keeps serving while balancers notice and stop sending.
      if (config.shutdownDelayMs) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      // No new connections; idle keep-alive connections close now, busy ones after their answer.
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      if (inFlight > 0) {
        const grace = config.shutdownGraceMs ?? 10_000;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => resolve(), grace);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (inFlight > 0) logger.warn({ inFlight, graceMs: grace }, "requests still running at the end of the grace period are cut off");
      }
      await websocket.close();
      await scheduler?.stop();
      await services.webhookDispatcher.stop();
      services.idempotency.stopPurging();
      await rollup.stop();
      await checkpointer.stop();
      httpServer.closeAllConnections();
      await closed;
      await apollo.stop();
      await presence.stop();
      pubsub.stop();
      redis?.disconnect();
      metricsServer?.closeAllConnections();
      if (metricsServer?.listening) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
    },
  };
}
