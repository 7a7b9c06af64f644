import { StartupError } from "../startup-error";

type Wrapped = { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; originalError?: unknown };

/** The error and what it wraps (TypeORM's driverError, GraphQL's originalError, a cause). */
function* chain(err: unknown): Generator<Wrapped> {
  let e = err as Wrapped | undefined;
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    yield e;
    e = (e.driverError ?? e.originalError ?? e.cause) as Wrapped | undefined;
  }
}

const NETWORK = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
/** SQLSTATEs of a server that is going, gone or not there yet; class 08 is every connection exception. */
const SERVER_GONE = new Set(["57P01", "57P02", "57P03", "53300"]);
const MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
  "Cannot use a pool after calling end on the pool",
  "Client was closed and is not queryable",
  // TypeORM, once the connection under a transaction died and its query runner was released.
  "query runner was already released",
  "Query runner already released",
];

/**
 * True when `err` says Postgres could not be reached or dropped the connection (a restart, a
 * failover, a terminated backend): the operation may be retried, nothing about the input is wrong.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (const e of chain(err)) {
    const code = typeof e.code === "string" ? e.code : "";
    if (NETWORK.has(code) || SERVER_GONE.has(code) || code.startsWith("08")) return true;
    const message = typeof e.message === "string" ? e.message : "";
    if (MESSAGES.some((m) => message.includes(m))) return true;
  }
  return false;
}

/** What a failure to reach the configured database at start means, in one line. */
export function databaseStartupError(err: unknown, url: string): StartupError {
  let where = "the database";
  try {
    const u = new URL(url);
    where = `the database "${decodeURIComponent(u.pathname.slice(1))}" at ${u.hostname}:${u.port || 5432}`;
  } catch {
    // keep the generic name
  }
  for (const e of chain(err)) {
    const code = typeof e.code === "string" ? e.code : "";
    if (code === "3D000") return new StartupError(`${where} does not exist`, "Create it (createdb), or fix DATABASE_URL");
    if (code === "28P01" || code === "28000") {
      return new StartupError(`${where} refused the credentials in DATABASE_URL`, "Fix the user or password in DATABASE_URL");
    }
    if (code === "57P03") return new StartupError(`${where} is starting up or shutting down`, "Start Baton again once Postgres is up");
    if (NETWORK.has(code)) {
      return new StartupError(`${where} cannot be reached (${code})`, "Start Postgres, or fix the host and port in DATABASE_URL");
    }
  }
  if (isDatabaseUnavailable(err)) return new StartupError(`${where} closed the connection`, "Check that Postgres is up and accepts Baton");
  const message = err instanceof Error ? err.message : String(err);
  return new StartupError(`${where} could not be prepared: ${message}`, "Check DATABASE_URL and the database's state");
}

/**
 * The connection was lost while COMMIT was under way: the change may or may not be in the
 * database. The client is told so (SERVICE_UNAVAILABLE with `commitOutcome: UNKNOWN`) instead
 * of "nothing was changed", and reads the object back before retrying.
 */
export class CommitOutcomeUnknown extends Error {
  constructor(readonly cause: unknown) {
    super("The connection to the database was lost while the change was committing");
    this.name = "CommitOutcomeUnknown";
  }
}

/**
 * A statement that commits by itself (a write on the pool) lost its connection once sent: it may
 * have committed. As CommitOutcomeUnknown; other errors (including a connection that could not be
 * made, when nothing was sent) as they are.
 */
export function outcomeOfCutWrite(err: unknown): unknown {
  for (const e of chain(err)) {
    const message = typeof e.message === "string" ? e.message : "";
    const code = typeof e.code === "string" ? e.code : "";
    if (message.includes("Connection terminated") || code === "57P01" || code === "57P02" || code === "ECONNRESET" || code === "EPIPE") {
      return new CommitOutcomeUnknown(err);
    }
  }
  return err;
}

/** An idempotency key's record already exists (issue #23): the statement that would write it again failed whole. */
export function isKeyTaken(err: unknown): boolean {
  for (const e of chain(err)) {
    if (e.code === "23505" && (e as { constraint?: unknown }).constraint === "idempotency_keys_pkey") return true;
  }
  return false;
}
