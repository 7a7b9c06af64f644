import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type NextFunction, type Request, type Response } from "express";
import type { DataSource } from "typeorm";
import type { Config } from "./config";
import { type SchedulerOptions, TimeoutScheduler } from "./jobs/timeout-scheduler";
import { ErrorCode } from "./errors";
import { buildContext, type Context } from "./graphql/context";
import { formatError } from "./graphql/format-error";
import { queryLimitsRule } from "./graphql/limits";
import { type BatonPubSub, createBatonPubSub } from "./graphql/pubsub";
import { buildBatonSchema } from "./graphql/schema";
import { attachWebSocket, type WebSocketEndpoint } from "./graphql/websocket";
import type { Logger } from "./logger";
import { trackingExportHandler } from "./modules/tracking/tracking-export";
import { LocalPresence, RedisPresence } from "./modules/presence/presence.service";
import { Redis } from "ioredis";
import { createServices, type Services } from "./services";

export interface AppOptions {
  config: Pick<Config, "port" | "host" | "bodyLimitBytes" | "maxQueryDepth">;
  /** Events and presence through Redis, shared by every instance. */
  redisUrl?: string;
  presenceTtlMs?: number;
  /** Scheduled timeouts; without it a deadline acts only when someone touches the request. */
  scheduler?: SchedulerOptions;
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
  stop(): Promise<void>;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const { config, dataSource, logger } = opts;
  const redis = opts.redisUrl
    ? { publish: new Redis(opts.redisUrl, { lazyConnect: false }), subscribe: new Redis(opts.redisUrl) }
    : undefined;
  const pubsub = createBatonPubSub(redis);
  const ttl = opts.presenceTtlMs ?? 30_000;
  const presence = redis ? new RedisPresence(redis.publish, ttl, Math.max(250, Math.floor(ttl / 3))) : new LocalPresence();
  const services = createServices(dataSource, pubsub, opts.jwtSecret, logger, presence);
  const schema = await buildBatonSchema(pubsub);
  const scheduler = opts.scheduler ? new TimeoutScheduler(opts.scheduler, dataSource, services.assignments, logger) : null;
  await scheduler?.start();

  const app = express();
  app.disable("x-powered-by");
  const httpServer = createServer(app);

  const websocket = attachWebSocket({ httpServer, schema, services, dataSource, logger });

  const apollo = new ApolloServer<Context>({
    schema,
    validationRules: [queryLimitsRule({ maxDepth: config.maxQueryDepth, maxFields: 2000 })],
    formatError: formatError(logger),
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer })],
  });
  await apollo.start();

  app.get("/healthz", async (_req, res) => {
    try {
      await dataSource.query("SELECT 1");
      res.json({ status: "ok" });
    } catch {
      res.status(503).json({ status: "unavailable" });
    }
  });

  app.get("/exports/engagement-tracking-records.csv", trackingExportHandler(dataSource, services.tokens, logger));

  app.use(
    "/graphql",
    express.json({ limit: config.bodyLimitBytes }),
    expressMiddleware(apollo, {
      context: ({ req }) => buildContext(services, dataSource, req.headers.authorization),
    }),
  );

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

  return {
    httpServer,
    scheduler,
    websocket,
    services,
    pubsub,
    listen: () =>
      new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(config.port, config.host, () => {
          const { port } = httpServer.address() as AddressInfo;
          const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
          resolve(`http://${host}:${port}/graphql`);
        });
      }),
    async stop() {
      await scheduler?.stop();
      await websocket.close();
      await apollo.stop();
      await presence.stop();
      if (redis) {
        redis.publish.disconnect();
        redis.subscribe.disconnect();
      }
    },
  };
}
