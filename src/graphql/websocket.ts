import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type DocumentNode, type ExecutionArgs, type ExecutionResult, execute, type FormattedExecutionResult, getOperationAST, GraphQLError, type GraphQLSchema, OperationTypeNode, validate } from "graphql";
import type { SubscribePayload } from "graphql-ws";
import { type WebSocket, WebSocketServer } from "ws";
import type { SocketLimits } from "../config";
import { isDatabaseUnavailable } from "../db/faults";
import { BatonError, ErrorCode, serviceUnavailable } from "../errors";
import { outcomeCode, type operationObserver } from "../http/observability";
import type { RateLimits } from "../rate-limits";
import type { Logger } from "../logger";
import type { User } from "../modules/users/user.entity";
import type { Services } from "../services";
import { type Context, contextFor, type OperationIdempotency, type SubscriberHooks, type ViewerWatch } from "./context";
import { domainErrorOf, toGraphQLError } from "./errors";
import { idempotencyOf, settleIdempotentAnswer } from "./idempotency";
import { codeOf, formatError, isInternal } from "./format-error";
import { findBadText, isTokenLimitError, type operationGuards, withoutSuggestions } from "./operation-rules";
import { audience, type UserChangedMessage } from "../events/pubsub";
import { Multiplexer } from "./multiplex";
import { type WsConnection, WsProtocolServer } from "./ws-protocol";

/**
 * The close codes a client may see, besides the protocol's own (4400, 4401, 4406, 4409, 4500: ws-protocol.ts). Every one but
 * 4401, 4403 and 4429 means: reconnect, then catch up with `assignmentEventsSince` from the last
 * sequence seen; after 4401, reconnect with a fresh token (and catch up).
 */
export const CloseCode = {
  /** Shutdown (SIGTERM): reconnect, to another instance. */
  GOING_AWAY: 1001,
  /** The database is unavailable during connection_init: retry shortly. */
  TRY_AGAIN_LATER: 1013,
  /** The token expired while the socket was open (a Baton token or an identity provider's): reconnect with a fresh one. */
  UNAUTHORIZED: 4401,
  /** Missing, wrong or expired credentials at connection_init, a deactivated user, or no connection_init in time. */
  FORBIDDEN: 4403,
  /** This user already holds the most sockets allowed on this instance. Not retried by graphql-ws. */
  TOO_MANY_SOCKETS: 4429,
  /** Live delivery was interrupted (Redis outage or reconnect): events may have been missed. */
  DELIVERY_INTERRUPTED: 4503,
  /**
   * The socket's reader stopped reading: its send buffer did not drain for WS_SLOW_READER_MS (or a
   * feed other than assignment events fell WS_MAX_QUEUED_EVENTS behind). Nothing was queued without end.
   */
  TOO_SLOW: 4508,
} as const;


interface Session {
  /** The user as they are now: read again for every operation, and at once when their role changes. */
  viewer: User;
  /** The credentials of connection_init, checked again for every operation. */
  authorization: string;
  /** Open subscriptions that re-decide themselves when the viewer's role changes. */
  /** Made when a subscription first watches the role (a socket of personal feeds only has none). */
  roleListeners: Set<(viewer: User) => void> | null;
  connectionId: string;
  expiry: NodeJS.Timeout | null;
  /** Stops listening to changes to the viewer's account (the socket closed). */
  stopWatching: () => void;
  /** The change being acted on now: changes are acted on one after another, in order. */
  changing: Promise<void> | null;
  /** Subscribed while live delivery was interrupted: to be closed once it resumes. */
  subscribedDuringGap: boolean;
  /** Operations (mostly subscriptions) open on the socket now, as its protocol server keeps them. */
  operations: ReadonlyMap<string, unknown>;
  /** When the socket's send buffer was last seen empty (its reader keeping up). */
  drainedAt: number;
  /** The client's address for rate limits, kept instead of the upgrade request (see onConnect). */
  clientIp: string | undefined;
}

/** What a socket keeps: its client's address until it authenticates, then its session and hooks. */
type Extra = { clientIp: string | undefined; session?: Session; hooks?: SocketLink };
type Connection = WsConnection<Extra>;

/** The reason sent with 4503, whatever interrupted live delivery. */
const INTERRUPTED_REASON = "Live delivery was interrupted: reconnect and catch up with assignmentEventsSince";

/** What every socket's link shares. */
interface LinkEnv {
  services: Services;
  logger: Logger;
  closeSocket(socket: WebSocket, code: number, reason: string): void;
  /** Errors to answer an operation with when the socket's credentials no longer hold, or null. */
  reauthenticate(session: Session, socket: WebSocket): Promise<readonly GraphQLError[] | null>;
}

const noWatch = (): void => {};

/**
 * What a socket's operations need from it (graphql/multiplex.ts, `revocable`), and its watch on its
 * user's account (it is the USER_CHANGED listener): made once per socket at authentication, its
 * methods on the prototype (ten thousand sockets held a dozen closures each).
 */
class SocketLink implements SubscriberHooks, ViewerWatch {
  constructor(
    private readonly socket: WebSocket,
    private readonly session: Session | undefined,
    private readonly env: LinkEnv,
    readonly maxQueued: number,
  ) {}

  private closeSocket(socket: WebSocket, code: number, reason: string): void {
    this.env.closeSocket(socket, code, reason);
  }

  /** The token's expiry (its timer's callback). */
  expired(): void {
    this.closeSocket(this.socket, CloseCode.UNAUTHORIZED, "Unauthorized: token expired");
  }

  /**
   * A change to the user's account (on any instance), acted on one after another, in order.
   * Deactivated: the socket closes as an expired token's would. Another role: the user is read
   * again now (not in 5 s, at the next operation) and the open subscriptions re-decide; if the
   * database cannot say who they are now, the socket closes (1013) rather than go on with rights
   * they may have lost. A listener, not a feed and a loop: an idle socket holds no promise for it.
   */
  deliver(change: UserChangedMessage): void {
    const session = this.session;
    if (!session) return;
    const previous = session.changing ?? Promise.resolve();
    const current: Promise<void> = previous
      .then(() => this.acted(session, change))
      .catch((err: unknown) => this.env.logger.warn({ err }, "acting on an account change failed"))
      .finally(() => {
        if (session.changing === current) session.changing = null;
      });
    session.changing = current;
  }

  private async acted(session: Session, change: UserChangedMessage): Promise<void> {
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return;
    if (!change.active) {
      this.closeSocket(socket, CloseCode.FORBIDDEN, "Forbidden: user deactivated");
    } else if (change.role !== (session.viewer.role as string)) {
      this.env.services.tokens.forget(change.userId);
      const refused = await this.env.reauthenticate(session, socket);
      if (refused?.[0]?.extensions.code === ErrorCode.SERVICE_UNAVAILABLE) {
        this.closeSocket(socket, CloseCode.TRY_AGAIN_LATER, "Your account changed and could not be read again: reconnect shortly");
      }
    }
  }

  tooSlow(): void {
    this.closeSocket(this.socket, CloseCode.TOO_SLOW, `Too slow: more than ${this.maxQueued} events unread; reconnect and catch up`);
  }

  /**
   * Live delivery to this socket was interrupted. Also its account watch's: on a Redis Cluster, this
   * user's channel alone may lose messages (its shard went down), so a change of role or a
   * deactivation may have been missed, and the socket starts again.
   */
  interrupted(): void {
    this.closeSocket(this.socket, CloseCode.DELIVERY_INTERRUPTED, INTERRUPTED_REASON);
  }

  current(): User {
    if (!this.session) throw new BatonError(ErrorCode.UNAUTHENTICATED, "Send Authorization: Bearer <token>");
    return this.session.viewer;
  }

  onRoleChange(listener: (viewer: User) => void): () => void {
    const session = this.session;
    if (!session) return () => {};
    (session.roleListeners ??= new Set()).add(listener);
    return () => void session.roleListeners?.delete(listener);
  }

  onChange(listener: (viewer: User) => void): () => void {
    return this.onRoleChange(listener);
  }

  send(text: string, written?: () => void): void {
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return written?.();
    if (written) socket.send(text, () => written());
    else socket.send(text);
  }

  buffered(): number {
    return this.socket.bufferedAmount;
  }
}

export interface WebSocketEndpoint {
  /** Sockets open right now, authenticated or not. */
  connectionCount(): number;
  /** Subscription classes (one execution per event each) and the subscriptions in them (graphql/multiplex.ts). */
  subscriptionClasses(): Promise<{ classes: number; members: number }>;
  close(): Promise<void>;
}

/**
 * GraphQL over WebSocket on the HTTP server's port and path. The client authenticates in
 * `connection_init` with `{ authorization: "Bearer <JWT>" }`. Every operation is validated with the
 * same rules as over HTTP. Nothing a client does (not reading, many sockets, many subscriptions)
 * grows the server's memory without bound, and whenever this instance may have missed or dropped
 * events for a socket it closes it with a code that says so, never silently.
 */
export function attachWebSocket(opts: {
  httpServer: Server;
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  limits: SocketLimits;
  guards: ReturnType<typeof operationGuards>;
  maxPayloadBytes: number;
  rateLimits?: RateLimits;
  /** The client's address, through trusted proxies (express's `trust proxy`). */
  clientIp?: (req: IncomingMessage) => string | undefined;
  observe?: ReturnType<typeof operationObserver>;
}): WebSocketEndpoint {
  const { services, logger, limits, guards } = opts;
  const sessions = new Map<WebSocket, Session>();
  /**
   * A result as a socket carries it, as over HTTP: stable codes, internal faults masked and logged
   * (undefined: the result as it is). For the protocol server's answers and the multiplexer's shared results.
   */
  const forTheWire = (result: ExecutionResult, log: Record<string, unknown>): FormattedExecutionResult | undefined => {
    if (!result.errors?.length) return undefined;
    for (const error of result.errors) {
      if (isInternal(codeOf(error)) && !isDatabaseUnavailable(error)) logger.error({ ...log, err: error.originalError ?? error }, "unexpected error");
    }
    return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
  };
  // Subscriptions that would resolve an event alike share one execution of it (graphql/multiplex.ts).
  const multiplexer = new Multiplexer(services, (result) => forTheWire(result, {}) ?? result);
  const socketsPerUser = new Map<string, number>();
  let deliveryInterrupted = false;

  // noServer: the upgrade is routed below, so the HTTP server's own errors (a port taken at
  // start) stay with it instead of being re-emitted here as "internal" WebSocket errors.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayloadBytes,
    // Unauthenticated sockets cost memory and a timer each: past the cap, the upgrade is refused.
    verifyClient: (_info, callback) => {
      if (waitingForAuth.size >= limits.unauthenticatedSockets) callback(false, 503, "Too many connections waiting to authenticate");
      else callback(true);
    },
  });

  opts.httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== "/graphql") {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });

  /** Closes with `code`; a peer that does not read the close frame is cut off soon after. */
  const closeSocket = (socket: WebSocket, code: number, reason: string): void => {
    if (socket.readyState === socket.CLOSED) return;
    socket.close(code, reason);
    setTimeout(() => socket.terminate(), 2_000).unref();
  };

  /** Sockets not authenticated yet (their number is capped), with the timer that closes them if they do not in time. */
  const waitingForAuth = new Map<WebSocket, NodeJS.Timeout>();
  /** Authenticated (or closed): out of the unauthenticated count, its timer gone, once. */
  const authenticated = (socket: WebSocket): void => {
    const timer = waitingForAuth.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    waitingForAuth.delete(socket);
  };
  const opened = (conn: Connection, req: IncomingMessage): void => {
    const socket = conn.socket;
    // The client's address is all that is kept of the upgrade request.
    conn.data = { clientIp: opts.clientIp?.(req) };
    waitingForAuth.set(
      socket,
      setTimeout(() => {
        if (!sessions.has(socket)) closeSocket(socket, CloseCode.FORBIDDEN, "Forbidden: no connection_init with credentials");
      }, limits.authTimeoutMs),
    );
    socket.on("pong", answered);
  };

  // Keep-alive: every WS_KEEP_ALIVE_MS (12 s, graphql-ws's default) each socket is pinged, and one
  // that has not answered the previous ping is cut (as graphql-ws's own keep-alive did, whose
  // per-socket interval, timer and listener for each ping Baton does without), with one shared
  // pong listener. A round is spread over the interval, a twelfth of the sockets at a time: ten
  // thousand pings at once stalled the loop for deliveries, and made the seconds that held a
  // round look busier than an idle instance is (memory-trim.ts waits for idle seconds). Ten
  // thousand idle sockets then allocate so little that V8 can tell the process is idle and give
  // back what a busy spell grew.
  const SLICES = 12;
  const unanswered = new Set<WebSocket>();
  function answered(this: WebSocket): void {
    unanswered.delete(this);
  }
  let round: Iterator<WebSocket> | null = null;
  let perSlice = 0;
  let roundStarted = Date.now();
  const pingSlice = (): void => {
    if (!round) {
      if (Date.now() - roundStarted < limits.keepAliveMs) return;
      roundStarted = Date.now();
      round = wss.clients.values();
      perSlice = Math.ceil(wss.clients.size / SLICES);
    }
    for (let i = 0; i < perSlice; i++) {
      const next = round.next();
      if (next.done) {
        round = null;
        return;
      }
      const socket = next.value;
      if (socket.readyState !== socket.OPEN) continue;
      if (unanswered.has(socket)) {
        unanswered.delete(socket);
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      socket.ping();
    }
  };
  const keepAlive = setInterval(() => {
    try {
      pingSlice();
    } catch (err) {
      round = null;
      logger.warn({ err }, "keep-alive round failed");
    }
  }, Math.max(1, Math.floor(limits.keepAliveMs / SLICES)));
  keepAlive.unref();

  // A reader that stops reading: what is sent to it stays in its socket's buffer (and, since
  // a stream waits for each send, its feeds stop being read). Only a socket whose buffer has
  // not drained for WS_SLOW_READER_MS is closed; a reader that keeps reading, however much
  // arrives at once (a bulk move), is never cut.
  const slowReaders = setInterval(
    () => {
      const now = Date.now();
      // forEach, not for-of: no entry allocated per socket every sweep (an idle instance then
      // allocates little enough for V8 to give its young generation back, memory-trim.ts).
      sessions.forEach((session, socket) => {
        if (socket.bufferedAmount === 0) session.drainedAt = now;
        else if (now - session.drainedAt > limits.slowReaderMs) {
          session.drainedAt = now; // once
          logger.warn({ reqId: session.connectionId, bufferedBytes: socket.bufferedAmount }, "a socket's reader stopped reading; closed (4508)");
          closeSocket(socket, CloseCode.TOO_SLOW, `Too slow: nothing read for ${limits.slowReaderMs} ms; reconnect and catch up`);
        }
      });
    },
    Math.max(50, Math.min(1_000, Math.floor(limits.slowReaderMs / 10))),
  );
  slowReaders.unref();

  // With Redis, events published while this instance's subscription link was down never reach it.
  services.pubsub.onGap((gap) => {
    if (gap === "interrupted") deliveryInterrupted = true;
    if (gap === "resumed") deliveryInterrupted = false;
    let closed = 0;
    for (const [socket, session] of sessions) {
      const live = session.operations.size > 0;
      // interrupted: those with live subscriptions now; resumed: those that subscribed meanwhile; missed: all live ones.
      const close = gap === "resumed" ? session.subscribedDuringGap : live;
      if (!close) continue;
      closed++;
      closeSocket(socket, CloseCode.DELIVERY_INTERRUPTED, INTERRUPTED_REASON);
    }
    if (closed > 0) logger.warn({ gap, sockets: closed }, "closed sockets that may have missed events (4503)");
  });

  /** Takes the user as they are now; subscriptions decided on another role re-decide at once. */
  const setViewer = (session: Session, user: User): void => {
    const roleChanged = user.role !== session.viewer.role;
    session.viewer = user;
    if (!roleChanged) return;
    logger.info({ userId: user.id, role: user.role, reqId: session.connectionId }, "a socket's user changed role; its subscriptions re-decided");
    for (const listener of [...(session.roleListeners ?? [])]) listener(user);
  };

  /**
   * Authenticates the socket's credentials again (the user cache, dropped on every change): every
   * operation is decided on the user as they are now, never as they were at connection_init.
   * Errors to answer the operation with, or null.
   */
  const reauthenticate = async (session: Session, socket: WebSocket): Promise<readonly GraphQLError[] | null> => {
    try {
      setViewer(session, (await services.tokens.authenticate(session.authorization)).user);
      return null;
    } catch (err) {
      if (isDatabaseUnavailable(err)) return [toGraphQLError(serviceUnavailable())];
      if (!(err instanceof BatonError)) throw err;
      if (err.code === ErrorCode.UNAUTHENTICATED) closeSocket(socket, CloseCode.FORBIDDEN, `Forbidden: ${err.message}`);
      return [toGraphQLError(err)];
    }
  };

  const linkEnv: LinkEnv = { services, logger, closeSocket, reauthenticate };

  /** One log line and metric sample per operation on a socket: refused, answered, or subscribed. */
  const observe = (session: Session | undefined, operation: string | null | undefined, errors: readonly GraphQLError[] | undefined, started: number) =>
    opts.observe?.({
      operation,
      code: outcomeCode(errors),
      seconds: (performance.now() - started) / 1000,
      userId: session?.viewer.id,
      organizationId: session?.viewer.organizationId,
      requestId: session?.connectionId,
      transport: "ws",
    });

  /**
   * Parsed and validated once per distinct query text (the last 500): ten thousand consoles send the
   * same few documents, and each socket's subscription then holds the same document, not a copy.
   * Neither parsing nor the rules depend on who asks or on the variables (checked below, each time).
   */
  const documents = new Map<string, { text: string; result: DocumentNode | readonly GraphQLError[] }>();
  const checkedDocument = (payload: { query: string }): DocumentNode | readonly GraphQLError[] => {
    const query = payload.query;
    const known = documents.get(query);
    if (known) {
      documents.delete(query);
      documents.set(query, known);
      // The operation's message may be kept while it runs: one copy of the text for all.
      payload.query = known.text;
      return known.result;
    }
    let result: DocumentNode | readonly GraphQLError[];
    try {
      const document = guards.parse(query);
      const errors = validate(opts.schema, document);
      const invalid = errors.length > 0 ? errors : validate(opts.schema, document, guards.validationRules);
      result =
        invalid.length === 0
          ? document
          : guards.suggestions
            ? invalid
            : invalid.map((e) => new GraphQLError(withoutSuggestions(e.message), { nodes: e.nodes, extensions: e.extensions }));
    } catch (err) {
      if (err instanceof GraphQLError && isTokenLimitError(err.message)) {
        result = [new GraphQLError(err.message, { extensions: { code: ErrorCode.QUERY_TOO_COMPLEX } })];
      } else {
        result = [err instanceof GraphQLError ? err : new GraphQLError("The query does not parse")];
      }
    }
    // Only small documents are kept (an attacker's megabyte of query text is checked each time).
    if (query.length <= 20_000) {
      documents.set(query, { text: query, result });
      if (documents.size > 500) documents.delete(documents.keys().next().value!);
    }
    return result;
  };

  /** When each admitted operation started, until the protocol server reports its first result. */
  const started_ = new Map<string, number>();
  /** Checks an operation before it runs: caps, syntax, limits, text, budget. Errors, or what to execute. */
  const admit = async (conn: Connection, payload: SubscribePayload): Promise<readonly GraphQLError[] | ExecutionArgs> => {
    const session = conn.data?.session;
    // Counted with this one: the protocol server registers the id before asking us.
    if (conn.operations.size > limits.subscriptionsPerSocket) {
      return [limitError(`At most ${limits.subscriptionsPerSocket} operations may be open on one socket`)];
    }
    const checked = checkedDocument(payload);
    if (Array.isArray(checked)) return checked as readonly GraphQLError[];
    const document = checked as DocumentNode;
    const badText = findBadText(document, payload.variables);
    if (badText) return [new GraphQLError(badText.message, { extensions: { code: ErrorCode.BAD_USER_INPUT, field: badText.extensions.field } })];
    if (session && deliveryInterrupted && getOperationAST(document, payload.operationName)?.operation === OperationTypeNode.SUBSCRIPTION) {
      session.subscribedDuringGap = true;
    }
    if (session) {
      const refused = await reauthenticate(session, conn.socket);
      if (refused) return refused;
      try {
        await opts.rateLimits?.user(session.viewer.id);
        await opts.rateLimits?.ip(session.clientIp);
      } catch (err) {
        if (err instanceof BatonError) return [toGraphQLError(err)];
        throw err;
      }
    }
    // A mutation with extensions.idempotencyKey happens at most once per user and key (graphql/idempotency.ts).
    try {
      const idempotency = idempotencyOf(payload.extensions?.idempotencyKey, session?.viewer ?? null, getOperationAST(document, payload.operationName), payload);
      if (idempotency) idempotencyOfPayload.set(payload, idempotency);
    } catch (err) {
      if (err instanceof BatonError) return [toGraphQLError(err)];
      throw err;
    }
    return { schema: opts.schema, document, operationName: payload.operationName, variableValues: payload.variables };
  };
  /** An operation's idempotency, from its admission to its context (the protocol server hands both the same payload). */
  const idempotencyOfPayload = new WeakMap<object, OperationIdempotency>();

  const server = new WsProtocolServer<Extra>(wss, {
      opened,
      subscribe: (args) => multiplexer.subscribe(args),
      execute: (args) => execute(args),
      internalError: (err, conn) => logger.error({ err, reqId: conn.data?.session?.connectionId }, "websocket: internal error; closed (4500)"),
      brokenFrame: (err, conn) =>
        logger.warn(
          { reason: err.message, wsCode: (err as { code?: string }).code, reqId: conn.data?.session?.connectionId },
          "websocket: the client sent a frame that breaks the WebSocket protocol; closed",
        ),
      onConnect: async (conn) => {
        const socket = conn.socket;
        const params = conn.connectionParams ?? {};
        const header = params.authorization ?? params.Authorization;
        let user: User;
        let expiresAt: Date;
        try {
          ({ user, expiresAt } = await services.tokens.authenticate(typeof header === "string" ? header : undefined));
        } catch (err) {
          if (isDatabaseUnavailable(err) || (err instanceof BatonError && err.code === ErrorCode.SERVICE_UNAVAILABLE)) {
            const why = err instanceof BatonError ? "The identity provider cannot be reached" : "The database is unavailable";
            closeSocket(socket, CloseCode.TRY_AGAIN_LATER, `${why}: retry shortly`);
          } else {
            logger.debug({ err }, "websocket refused");
          }
          return false; // closed with 4403 Forbidden (unless closed above)
        }
        const held = socketsPerUser.get(user.id) ?? 0;
        if (held >= limits.socketsPerUser) {
          closeSocket(socket, CloseCode.TOO_MANY_SOCKETS, `Too many sockets: at most ${limits.socketsPerUser} per user`);
          return false;
        }
        socketsPerUser.set(user.id, held + 1);
        authenticated(socket);
        const session: Session = {
          viewer: user,
          authorization: header as string,
          roleListeners: null,
          connectionId: randomUUID(),
          expiry: null,
          stopWatching: noWatch,
          changing: null,
          subscribedDuringGap: false,
          operations: conn.operations,
          drainedAt: Date.now(),
          clientIp: conn.data?.clientIp,
        };
        const link = new SocketLink(socket, session, linkEnv, limits.queuedEventsPerSubscription);
        session.expiry = setTimeout(expire, Math.max(0, expiresAt.getTime() - Date.now()), link);
        session.stopWatching = services.pubsub.listen("USER_CHANGED", audience.user(user.id), link);
        sessions.set(socket, session);
        conn.data = { clientIp: session.clientIp, session, hooks: link };
        await services.presence.connected(user.id, session.connectionId).catch((err: unknown) => {
          logger.debug({ err }, "presence update failed");
        });
        return true;
      },
      onSubscribe: async (conn, id, payload) => {
        const started = performance.now();
        const admitted = await admit(conn, payload);
        if (!Array.isArray(admitted)) {
          started_.set(`${conn.data?.session?.connectionId}:${id}`, started);
          return admitted;
        }
        const errors = [...(admitted as readonly GraphQLError[])];
        observe(conn.data?.session, payload.operationName, errors, started);
        return errors;
      },
      onOperation: (conn, id, payload, result) => {
        const key = `${conn.data?.session?.connectionId}:${id}`;
        const started = started_.get(key) ?? performance.now();
        started_.delete(key);
        const errors = result !== null && typeof result === "object" && "errors" in result ? (result as ExecutionResult).errors : undefined;
        observe(conn.data?.session, payload.operationName, errors, started);
      },
      // A subscription that ended with a domain error (FORBIDDEN after a change of role) keeps its code.
      onError: (_conn, _id, errors) => errors.map((e) => (domainErrorOf(e) ? formatError(e.toJSON(), e) : e.toJSON())),
      // Results over a socket are formatted as over HTTP: stable codes, internal faults masked (and logged).
      onNext: async (conn, _id, payload, args, result) => {
        const formatted = forTheWire(result, { reqId: conn.data?.session?.connectionId, operation: payload.operationName ?? null });
        const context = args.contextValue as Context | undefined;
        if (context?.idempotency) {
          const sent = await settleIdempotentAnswer(context, 200, formatted ?? (result), logger);
          if (sent) return sent.body;
        }
        return formatted;
      },
      onClose: async (conn) => {
        authenticated(conn.socket);
        unanswered.delete(conn.socket);
        const session = conn.data?.session;
        if (!session) return;
        sessions.delete(conn.socket);
        const held = (socketsPerUser.get(session.viewer.id) ?? 1) - 1;
        if (held > 0) socketsPerUser.set(session.viewer.id, held);
        else socketsPerUser.delete(session.viewer.id);
        if (session.expiry) clearTimeout(session.expiry);
        session.stopWatching();
        await services.presence.disconnected(session.viewer.id, session.connectionId).catch((err: unknown) => {
          logger.debug({ err }, "presence update failed");
        });
      },
      context: (conn, id, payload): Context => {
        const session = conn.data?.session;
        const context = contextFor(services, session?.viewer ?? null, null, session?.connectionId ?? null);
        context.operationId = id;
        const idempotency = idempotencyOfPayload.get(payload);
        if (idempotency) context.idempotency = idempotency;
        // The socket's hooks, made once per socket and shared by its operations (lean sockets, #27).
        const data = (conn.data ??= { clientIp: undefined });
        const hooks = (data.hooks ??= new SocketLink(conn.socket, session, linkEnv, limits.queuedEventsPerSubscription));
        if (session) {
          context.subscriber = hooks;
          context.viewerWatch = hooks;
        }
        context.onFeedOverflow = () => hooks.tooSlow();
        context.onFeedInterrupted = () => hooks.interrupted();
        return context;
      },
  });

  return {
    connectionCount: () => wss.clients.size,
    subscriptionClasses: () => multiplexer.sizes(),
    async close() {
      clearInterval(slowReaders);
      clearInterval(keepAlive);
      for (const socket of wss.clients) closeSocket(socket, CloseCode.GOING_AWAY, "Going away");
      server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** A token's expiry timer's callback, shared by every socket (its argument is the socket's link). */
function expire(link: SocketLink): void {
  link.expired();
}

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.LIMIT_EXCEEDED } });
}
