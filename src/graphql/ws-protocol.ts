import {
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  getOperationAST,
  GraphQLError,
  type GraphQLFormattedError,
  OperationTypeNode,
} from "graphql";
import { areGraphQLErrors, CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, handleProtocols, MessageType, parseMessage, type SubscribePayload } from "graphql-ws";
import type { IncomingMessage } from "node:http";
import type { WebSocket, WebSocketServer } from "ws";

/**
 * An operation's result stream that says when it ends, with no read pending in the meantime
 * (graphql/multiplex.ts's members: they write their results to the socket themselves).
 */
export interface EndingStream {
  /** `listener` hears the end once: an error, or undefined when it simply ended. */
  whenEnded(listener: (error: unknown) => void): void;
  return(): unknown;
}

type Operation = EndingStream | AsyncIterator<ExecutionResult> | null;

/**
 * One socket of the GraphQL over WebSocket protocol (graphql-transport-ws). Its state is this one
 * object, its methods on the prototype, and the socket's listeners are shared by every socket:
 * ten thousand idle sockets hold no closures, timers or suspended loops for it (issue #27).
 */
export class WsConnection<D> {
  initReceived = false;
  acknowledged = false;
  /** connection_init's payload, until `onConnect` has read it. */
  connectionParams: Record<string, unknown> | undefined = undefined;
  /** Open operations by id (null: admitted, not started yet). */
  readonly operations = new Map<string, Operation>();
  /** What the application keeps for the socket (its session). */
  data: D | undefined = undefined;

  constructor(
    readonly socket: WebSocket,
    readonly server: WsProtocolServer<D>,
  ) {}

  send(text: string): void {
    const socket = this.socket;
    if (socket.readyState === socket.OPEN) socket.send(text);
  }

  /** Resolves once written (or at once when the socket is no longer open): a stream's next read waits for its last write. */
  sendAndWait(text: string): Promise<void> {
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return Promise.resolve();
    return new Promise((resolve) => socket.send(text, () => resolve()));
  }

  close(code: number, reason: string): void {
    const socket = this.socket;
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  }
}

/** What the application decides; the protocol's steps and answers are the server's. */
export interface WsProtocolHooks<D> {
  /** A socket opened (authenticated or not, before connection_init). */
  opened?(conn: WsConnection<D>, request: IncomingMessage): void;
  /** connection_init: true to acknowledge, false to close with 4403 (unless the hook closed the socket itself). */
  onConnect(conn: WsConnection<D>): Promise<boolean>;
  /** An operation arrives: what to execute, or the errors to answer with. */
  onSubscribe(conn: WsConnection<D>, id: string, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]>;
  /** The operation's context. */
  context(conn: WsConnection<D>, id: string, payload: SubscribePayload, args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | EndingStream | ExecutionResult>;
  execute(args: ExecutionArgs): Promise<ExecutionResult> | ExecutionResult;
  /** The operation started (a stream) or was answered (a result). */
  onOperation?(conn: WsConnection<D>, id: string, payload: SubscribePayload, result: unknown): void;
  /** A result as the wire carries it (undefined: as it is). */
  onNext?(conn: WsConnection<D>, id: string, payload: SubscribePayload, args: ExecutionArgs, result: ExecutionResult): Promise<FormattedExecutionResult | undefined>;
  /** Errors as the wire carries them. */
  onError?(conn: WsConnection<D>, id: string, errors: readonly GraphQLError[]): GraphQLFormattedError[];
  /** The socket closed (its operations are ended already). */
  onClose?(conn: WsConnection<D>, code: number, reason: string): Promise<void> | void;
  /** An exception in the server's own handling (the socket is closed with 4500). */
  internalError(err: unknown, conn: WsConnection<D>): void;
  /** The client sent a frame that breaks the WebSocket protocol; ws is closing the socket (1002, 1007, 1009). */
  brokenFrame(err: Error, conn: WsConnection<D>): void;
}

const connections = new WeakMap<WebSocket, WsConnection<unknown>>();

/** Shared by every socket: the listeners find their connection by their socket (`this`). */
function onMessage(this: WebSocket, data: unknown): void {
  const conn = connections.get(this);
  if (conn) void conn.server.received(conn, String(data));
}
function onClose(this: WebSocket, code: number, reason: Buffer): void {
  const conn = connections.get(this);
  if (conn) void conn.server.closed(conn, code, String(reason));
}
/**
 * ws emits `error` for a frame that breaks the WebSocket protocol (larger than maxPayload, text
 * that is not UTF-8, a reserved opcode, an unmasked frame), once it has begun closing the socket
 * with that frame's close code (1009, 1007, 1002): the client's fault, not the server's. The close
 * then ends the socket's operations as any close does.
 */
function onSocketError(this: WebSocket, err: Error): void {
  const conn = connections.get(this);
  if (!conn) return;
  conn.server.hooks.brokenFrame(err, conn);
  // Should ws ever report an error without closing, the socket is not left open.
  if (this.readyState === this.OPEN) conn.close(CloseCode.InternalServerError, "Internal server error");
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
function isEndingStream(value: unknown): value is EndingStream {
  return typeof value === "object" && value !== null && typeof (value as EndingStream).whenEnded === "function";
}

/**
 * The server side of graphql-transport-ws (the protocol of graphql-ws, whose client the console and
 * tests use; its message parsing, close codes and subprotocol check are used here too), with the
 * same answers as graphql-ws's own server: 4400 for a message that does not parse, 4401 for an
 * operation before the acknowledgement, 4403 when `onConnect` refuses, 4406 without the
 * subprotocol, 4409 for an operation id in use, 4429 for a second connection_init, 4500 for an
 * internal fault (and 4400, not graphql-ws's 4500, for a server's message sent by the client); pings answered with pongs; an operation's result as `next` messages then
 * `complete`, or `error`. graphql-ws's server holds per operation two suspended async functions,
 * their registers and promises, an emitter with three closures and the subscribe message (about
 * 1.7 kB per subscription, measured in heap snapshots), and per socket a timer and half a dozen
 * closures; here an operation is one entry in its socket's map, and a multiplexed subscription
 * tells its end through a listener rather than a pending read.
 */
export class WsProtocolServer<D> {
  constructor(
    readonly wss: WebSocketServer,
    readonly hooks: WsProtocolHooks<D>,
  ) {
    wss.options.handleProtocols = handleProtocols;
    wss.on("connection", (socket: WebSocket, request: IncomingMessage) => this.opened(socket, request));
  }

  /** The upgrade request is handed to the application's hook and not kept. */
  private opened(socket: WebSocket, request: IncomingMessage): void {
    const conn = new WsConnection<D>(socket, this);
    connections.set(socket, conn);
    socket.on("error", onSocketError);
    socket.once("close", onClose);
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) {
      socket.close(CloseCode.SubprotocolNotAcceptable, "Subprotocol not acceptable");
      return;
    }
    socket.on("message", onMessage);
    this.hooks.opened?.(conn, request);
  }

  /** One message from the client. */
  async received(conn: WsConnection<D>, data: string): Promise<void> {
    try {
      let message: ReturnType<typeof parseMessage>;
      try {
        message = parseMessage(data);
      } catch {
        conn.close(CloseCode.BadRequest, "Invalid message received");
        return;
      }
      switch (message.type) {
        case MessageType.ConnectionInit: {
          if (conn.initReceived) {
            conn.close(CloseCode.TooManyInitialisationRequests, "Too many initialisation requests");
            return;
          }
          conn.initReceived = true;
          if (typeof message.payload === "object" && message.payload !== null) conn.connectionParams = message.payload;
          const permitted = await this.hooks.onConnect(conn);
          conn.connectionParams = undefined;
          if (!permitted) {
            conn.close(CloseCode.Forbidden, "Forbidden");
            return;
          }
          conn.acknowledged = true;
          conn.send(`{"type":"${MessageType.ConnectionAck}"}`);
          return;
        }
        case MessageType.Ping:
          conn.send(JSON.stringify(message.payload ? { type: MessageType.Pong, payload: message.payload } : { type: MessageType.Pong }));
          return;
        case MessageType.Pong:
          return;
        case MessageType.Subscribe:
          await this.subscribed(conn, message.id, message.payload);
          return;
        case MessageType.Complete: {
          const operation = conn.operations.get(message.id);
          conn.operations.delete(message.id);
          if (operation) await operation.return?.();
          return;
        }
        case MessageType.ConnectionAck:
        case MessageType.Next:
        case MessageType.Error:
          // A server's message from the client (graphql-ws's server closed with 4500 here: the fault is the client's).
          conn.close(CloseCode.BadRequest, `Unexpected message of type ${message.type} received`);
          return;
      }
    } catch (err) {
      this.hooks.internalError(err, conn);
      conn.close(CloseCode.InternalServerError, "Internal server error");
    }
  }

  private async subscribed(conn: WsConnection<D>, id: string, payload: SubscribePayload): Promise<void> {
    if (!conn.acknowledged) {
      conn.close(CloseCode.Unauthorized, "Unauthorized");
      return;
    }
    if (conn.operations.has(id)) {
      conn.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
      return;
    }
    conn.operations.set(id, null);
    let keep = false;
    try {
      const admitted = await this.hooks.onSubscribe(conn, id, payload);
      if (Array.isArray(admitted)) {
        if (!areGraphQLErrors(admitted)) throw new Error("Invalid return value from onSubscribe: expected GraphQLErrors");
        if (conn.operations.has(id)) this.sendErrors(conn, id, admitted);
        return;
      }
      const args = admitted as ExecutionArgs;
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) {
        if (conn.operations.has(id)) this.sendErrors(conn, id, [new GraphQLError("Unable to identify operation")]);
        return;
      }
      if (!("contextValue" in args)) args.contextValue = this.hooks.context(conn, id, payload, args);
      const result = operation.operation === OperationTypeNode.SUBSCRIPTION ? await this.hooks.subscribe(args) : await this.hooks.execute(args);
      this.hooks.onOperation?.(conn, id, payload, result);
      if (isEndingStream(result)) {
        if (!conn.operations.has(id)) {
          result.return();
          return;
        }
        conn.operations.set(id, result);
        keep = true;
        this.listen(conn, id, result);
        return;
      }
      if (isAsyncIterable(result)) {
        const iterator = result[Symbol.asyncIterator]();
        if (!conn.operations.has(id)) {
          await iterator.return?.();
          return;
        }
        conn.operations.set(id, iterator);
        keep = true;
        this.pump(conn, id, payload, args, iterator);
        return;
      }
      if (conn.operations.has(id)) await this.sendNext(conn, id, payload, args, result);
      if (conn.operations.has(id)) conn.send(`{"id":${JSON.stringify(id)},"type":"${MessageType.Complete}"}`);
    } finally {
      if (!keep) conn.operations.delete(id);
    }
  }

  /** Its end is heard by one small closure (made here, so that it holds nothing of the subscribe message). */
  private listen(conn: WsConnection<D>, id: string, stream: EndingStream): void {
    stream.whenEnded((error) => this.ended(conn, id, stream, error));
  }

  /** A stream read with promise callbacks (no suspended loop): each result sent before the next read. */
  private pump(conn: WsConnection<D>, id: string, payload: SubscribePayload, args: ExecutionArgs, iterator: AsyncIterator<ExecutionResult>): void {
    const step = (): void => {
      iterator.next().then(
        (item) => {
          if (conn.operations.get(id) !== iterator) return;
          if (item.done) {
            this.ended(conn, id, iterator, undefined);
            return;
          }
          this.sendNext(conn, id, payload, args, item.value).then(step, (err: unknown) => this.ended(conn, id, iterator, err));
        },
        (err: unknown) => this.ended(conn, id, iterator, err),
      );
    };
    step();
  }

  /** A stream ended by itself: `error`, or `complete` (nothing when the client completed it first). */
  private ended(conn: WsConnection<D>, id: string, operation: Operation, error: unknown): void {
    if (conn.operations.get(id) !== operation) return;
    conn.operations.delete(id);
    if (error === undefined) {
      conn.send(`{"id":${JSON.stringify(id)},"type":"${MessageType.Complete}"}`);
      return;
    }
    const original = error instanceof Error ? error : new Error(typeof error === "string" ? error : "The subscription ended with an error");
    try {
      this.sendErrors(conn, id, [new GraphQLError(original.message, { originalError: original })]);
    } catch (err) {
      this.hooks.internalError(err, conn);
      conn.close(CloseCode.InternalServerError, "Internal server error");
    }
  }

  private async sendNext(conn: WsConnection<D>, id: string, payload: SubscribePayload, args: ExecutionArgs, result: ExecutionResult): Promise<void> {
    const formatted = (await this.hooks.onNext?.(conn, id, payload, args, result)) ?? {
      ...result,
      ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}),
    };
    await conn.sendAndWait(`{"id":${JSON.stringify(id)},"type":"${MessageType.Next}","payload":${JSON.stringify(formatted)}}`);
  }

  private sendErrors(conn: WsConnection<D>, id: string, errors: readonly GraphQLError[]): void {
    const formatted = this.hooks.onError?.(conn, id, errors) ?? errors.map((e) => e.toJSON());
    conn.send(`{"id":${JSON.stringify(id)},"type":"${MessageType.Error}","payload":${JSON.stringify(formatted)}}`);
  }

  /** The socket closed: its operations end, then the application hears of it. */
  async closed(conn: WsConnection<D>, code: number, reason: string): Promise<void> {
    connections.delete(conn.socket);
    const operations = [...conn.operations.values()];
    conn.operations.clear();
    try {
      await Promise.all(operations.map((operation) => operation?.return?.()));
      await this.hooks.onClose?.(conn, code, reason);
    } catch (err) {
      this.hooks.internalError(err, conn);
    }
  }

  /** Closes every socket with 1001 (shutdown). */
  dispose(): void {
    for (const socket of this.wss.clients) socket.close(1001, "Going away");
  }
}
