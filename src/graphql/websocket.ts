import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { DataSource } from "typeorm";
import { type WebSocket, WebSocketServer } from "ws";
import type { Logger } from "../logger";
import type { User } from "../modules/users/user.entity";
import type { Services } from "../services";
import { type Context, contextFor } from "./context";
import { audience, type UserChangedMessage } from "./pubsub";

/** graphql-ws closes with this when credentials are missing, wrong, or run out. */
export const CLOSE_FORBIDDEN = 4403;

interface Session {
  viewer: User;
  connectionId: string;
  expiry: NodeJS.Timeout | null;
  /** Changes to the viewer's account, until the socket closes. */
  changes: AsyncIterableIterator<UserChangedMessage> & { return(): Promise<unknown> };
}

export interface WebSocketEndpoint {
  /** Sockets open right now, authenticated or not. */
  connectionCount(): number;
  close(): Promise<void>;
}

/**
 * GraphQL over WebSocket on the HTTP server's port and path. The client authenticates in
 * `connection_init` with `{ authorization: "Bearer <JWT>" }`; a socket without valid credentials
 * within `initTimeoutMs`, or whose token expires, is closed with 4403.
 */
export function attachWebSocket(opts: {
  httpServer: Server;
  schema: GraphQLSchema;
  services: Services;
  dataSource: DataSource;
  logger: Logger;
  initTimeoutMs?: number;
}): WebSocketEndpoint {
  const { services, dataSource, logger } = opts;
  const initTimeoutMs = opts.initTimeoutMs ?? 5_000;
  const wss = new WebSocketServer({ server: opts.httpServer, path: "/graphql" });
  const sessions = new WeakMap<WebSocket, Session>();

  wss.on("connection", (socket) => {
    const timer = setTimeout(() => {
      if (!sessions.has(socket)) socket.close(CLOSE_FORBIDDEN, "Forbidden: no connection_init with credentials");
    }, initTimeoutMs);
    socket.once("close", () => clearTimeout(timer));
  });

  const server = useServer<Record<string, unknown> | undefined, { session?: Session }>(
    {
      schema: opts.schema,
      // Ours fires first and closes with 4403 rather than graphql-ws's 4408.
      connectionInitWaitTimeout: initTimeoutMs + 5_000,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = params.authorization ?? params.Authorization;
        try {
          const { user, expiresAt } = await services.tokens.authenticate(typeof header === "string" ? header : undefined);
          const socket = ctx.extra.socket;
          const changes = services.pubsub.subscribe("USER_CHANGED", audience.user(user.id));
          const session: Session = { viewer: user, connectionId: randomUUID(), expiry: null, changes };
          if (expiresAt) {
            session.expiry = setTimeout(() => socket.close(CLOSE_FORBIDDEN, "Forbidden: token expired"), Math.max(0, expiresAt.getTime() - Date.now()));
          }
          // Deactivated (on any instance): the socket closes as an expired token's would.
          void (async () => {
            for await (const change of changes) {
              if (!change.active) socket.close(CLOSE_FORBIDDEN, "Forbidden: user deactivated");
            }
          })();
          sessions.set(socket, session);
          ctx.extra.session = session;
          await services.presence.connected(user.id, session.connectionId);
          return true;
        } catch (err) {
          logger.debug({ err }, "websocket refused");
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onClose: async (ctx) => {
        const session = ctx.extra.session;
        if (!session) return;
        if (session.expiry) clearTimeout(session.expiry);
        await session.changes.return();
        await services.presence.disconnected(session.viewer.id, session.connectionId).catch((err: unknown) => {
          logger.warn({ err }, "presence update failed");
        });
      },
      context: (ctx): Context => contextFor(services, dataSource, ctx.extra.session?.viewer ?? null),
    },
    wss,
  );

  return {
    connectionCount: () => wss.clients.size,
    async close() {
      for (const socket of wss.clients) socket.close(1001, "Going away");
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
