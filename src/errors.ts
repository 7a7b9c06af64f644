/** Stable codes carried in `extensions.code`; clients branch on these, never on messages. */
export enum ErrorCode {
  UNAUTHENTICATED = "UNAUTHENTICATED",
  FORBIDDEN = "FORBIDDEN",
  NOT_FOUND = "NOT_FOUND",
  BAD_USER_INPUT = "BAD_USER_INPUT",
  ASSIGNMENT_ALREADY_PENDING = "ASSIGNMENT_ALREADY_PENDING",
  REQUEST_NOT_PENDING = "REQUEST_NOT_PENDING",
  REQUEST_EXPIRED = "REQUEST_EXPIRED",
  CHAT_CLOSED = "CHAT_CLOSED",
  INVALID_RECIPIENT = "INVALID_RECIPIENT",
  /** The recipient is AWAY and the organization requires available recipients. */
  RECIPIENT_UNAVAILABLE = "RECIPIENT_UNAVAILABLE",
  RECIPIENT_AT_CAPACITY = "RECIPIENT_AT_CAPACITY",
  /** Loops: the chat would go straight back to who handed it to its owner (within pingPongMinutes). */
  HANDOVER_LOOP = "HANDOVER_LOOP",
  /** Loops: the chat was moved maxHandoversPerChatPerDay times in the last 24 h. */
  HANDOVER_LIMIT_REACHED = "HANDOVER_LIMIT_REACHED",
  /** The discussion has ended: nothing more can be written in it, and it cannot end twice. */
  DISCUSSION_ENDED = "DISCUSSION_ENDED",
  QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX",
  PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE",
  /** Too many operations for this user or IP in the last minute; `extensions.retryAfterSeconds`. */
  RATE_LIMITED = "RATE_LIMITED",
  /** A per-socket cap: too many operations open on one socket. */
  LIMIT_EXCEEDED = "LIMIT_EXCEEDED",
  /** Postgres cannot be reached right now (a restart, a failover): nothing was changed; retry. */
  SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE",
  INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR",
  /** The Idempotency-Key was used before for a different operation or variables (HTTP 422). */
  IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED",
  /** A run with this Idempotency-Key is still in progress (HTTP 409, Retry-After). */
  IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE",
}

/**
 * The one error type the domain throws: a stable code, a message for people, and details that
 * clients may read (`field`, `status`, `requestId`, `retryAfterSeconds`). It knows nothing of
 * GraphQL or HTTP: each edge maps it once (`src/graphql/errors.ts` for GraphQL and sockets,
 * `src/http/errors.ts` for HTTP statuses).
 */
export class BatonError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = "BatonError";
  }
}

export const notFound = (what: string): BatonError => new BatonError(ErrorCode.NOT_FOUND, `${what} not found`);
export const badInput = (message: string, field?: string, extra: Record<string, unknown> = {}): BatonError =>
  new BatonError(ErrorCode.BAD_USER_INPUT, message, field ? { field, ...extra } : extra);

export const DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable right now; nothing was changed. Retry shortly";

export const COMMIT_OUTCOME_UNKNOWN_MESSAGE =
  "The database connection was lost while this change was committing: it may or may not have been made. Read it back before retrying";

export const COMMITTED_ANSWER_UNREADABLE_MESSAGE =
  "The change was made, but the database became unavailable while its answer was read. Read it back; do not repeat it";

export const serviceUnavailable = (): BatonError => new BatonError(ErrorCode.SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE, { retryAfterSeconds: 1 });
