import { isDatabaseUnavailable } from "../db/faults";
import { BatonError, ErrorCode, serviceUnavailable } from "../errors";
import { toGraphQLError } from "./errors";
import type { User } from "../modules/users/user.entity";
import type { Services } from "../services";
import { createLoaders, type Loaders } from "./loaders";
import type { FormattedExecutionResult } from "graphql";
import type { IdempotencyScope } from "../modules/idempotency/idempotency.service";

/** A mutation's idempotency, as the transport follows it through one operation (graphql/idempotency.ts). */
export interface OperationIdempotency extends IdempotencyScope {
  /** The stored answer to send instead of this execution's (a replay). */
  replay: { status: number; body: FormattedExecutionResult } | null;
  /** This execution's answer is rebuilt from the record (marked as a replay). */
  rebuilt: boolean;
}

export interface Context {
  viewer: User | null;
  /** Why there is no viewer, when a credential was sent and refused. */
  authError: BatonError | null;
  loaders: Loaders;
  services: Services;
  /**
   * Starts `loaders` afresh. A subscription's context lives as long as its socket: each delivered
   * event renews them, so caches hold one event's rows (never stale ones, never all of them).
   */
  renewLoaders(): Loaders;
  /** Lets the loaders go until they are used again (a subscription class between two events). */
  forgetLoaders(): void;
  /** The HTTP request's id (X-Request-Id), or the socket's connection id: in every log line about it. */
  requestId: string | null;
  /** Over HTTP: the request's log line, which takes the operation's facts (see http/observability.ts). */
  requestLine?: Record<string, unknown>;
  /** On a socket: its subscription fell too far behind; the socket is closed (4508) to catch up. */
  onFeedOverflow?: () => void;
  /** On a socket: a feed could not go on (the event table unreadable); the socket is closed (4503) to catch up. */
  onFeedInterrupted?: () => void;
  /** On a socket: a sequenced subscription resumes after this sequence (it moved to another visibility class). */
  resumeAfter?: string;
  /** On a socket: what its subscriptions need from it (graphql/multiplex.ts). */
  subscriber?: SubscriberHooks;
  /** On a socket: the operation's id in graphql-transport-ws. */
  operationId?: string;
  /**
   * What a subscription was decided on (`revocable`): a viewer for whom one of these no longer
   * holds loses it with FORBIDDEN (graphql/multiplex.ts asks them for each socket's viewer).
   */
  revocations?: Array<(viewer: User) => boolean>;
  /**
   * On a socket: the viewer as they are now, for subscriptions that outlive the operation's
   * start. A change of role (an admin's upsert, on any instance) is heard at once.
   */
  viewerWatch?: ViewerWatch;
  /** Over HTTP: the Idempotency-Key header as sent (checked once the operation is known). */
  idempotencyKey?: string;
  /** A mutation sent with an idempotency key (graphql/idempotency.ts). */
  idempotency?: OperationIdempotency;
}

/** What a socket gives each of its subscriptions (graphql/multiplex.ts). */
export interface SubscriberHooks {
  /** The socket's reader cannot keep up (4508). */
  tooSlow: () => void;
  /** A feed could not go on (4503). */
  interrupted: () => void;
  /** The socket's viewer as they are now, and their changes of role. */
  current(): User;
  onRoleChange(listener: (viewer: User) => void): () => void;
  /** Results a subscription may hold for its reader before the multiplexer's rules apply. */
  maxQueued: number;
  /** Writes a text frame on the socket now; `written` once it has gone to the network. */
  send: (text: string, written?: () => void) => void;
  /** Bytes the socket has not written yet. */
  buffered: () => number;
}

export interface ViewerWatch {
  current(): User;
  /** Calls `listener` with the user after each change of role; returns the function that stops it. */
  onChange(listener: (viewer: User) => void): () => void;
}

/** Authenticates once per operation; resolvers then call `viewerOf`. */
export async function buildContext(
  services: Services,
  authorization: string | undefined,
  requestId: string | null = null,
): Promise<Context> {
  let viewer: User | null = null;
  let authError: BatonError | null = null;
  if (authorization) {
    try {
      viewer = (await services.tokens.authenticate(authorization)).user;
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw toGraphQLError(serviceUnavailable(), true);
      if (!(err instanceof BatonError)) throw err;
      authError = err;
    }
  }
  return contextFor(services, viewer, authError, requestId);
}

/** The context of one operation, over HTTP or a socket. */
export function contextFor(
  services: Services,
  viewer: User | null,
  authError: BatonError | null = null,
  requestId: string | null = null,
): Context {
  return new OperationContext(services, viewer, authError, requestId);
}

/**
 * A class, its methods on the prototype: a socket holds a few of these for its life (its
 * subscriptions' classes), and each closure an object literal made for them cost it memory.
 */
class OperationContext implements Context {
  /** Made on first use: a socket's subscription context never resolves anything itself (its class does, graphql/multiplex.ts). */
  private made: Loaders | null = null;

  constructor(
    readonly services: Services,
    readonly viewer: User | null,
    readonly authError: BatonError | null,
    readonly requestId: string | null,
  ) {}

  get loaders(): Loaders {
    return (this.made ??= this.make());
  }

  renewLoaders(): Loaders {
    return (this.made = this.make());
  }

  forgetLoaders(): void {
    this.made = null;
  }

  private make(): Loaders {
    const { services } = this;
    // Without a viewer the loaders are never reached; an impossible org id keeps them harmless.
    const organizationId = this.viewer?.organizationId ?? "00000000-0000-0000-0000-000000000000";
    return createLoaders(services.reads, organizationId, services.presence, services.users, services.settings);
  }
}

export function viewerOf(ctx: Context): User {
  if (ctx.viewer) return ctx.viewer;
  throw ctx.authError ?? new BatonError(ErrorCode.UNAUTHENTICATED, "Send Authorization: Bearer <token>");
}
