import { Pool } from "pg";

/** How long a request waits for a pooled connection before failing with SERVICE_UNAVAILABLE. */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface SidePoolOptions {
  applicationName: string;
  max: number;
  asyncCommit?: boolean;
  onError?: (err: Error) => void;
}

/**
 * A small pool of its own on the database at `url`, for background work (webhook delivery) that
 * must neither wait behind requests for a connection nor take one from them, and whose statements
 * are not a request's (they are not counted). With `asyncCommit`, its commits do not wait for the
 * WAL flush: a crash may forget the last few of its writes, which only bookkeeping that tolerates
 * being done again may use. Connection errors are reported, never thrown. It depends on `pg`
 * alone, so that a thread of its own (the webhook dispatcher's) can open one.
 */
export function sidePool(url: string | undefined, opts: SidePoolOptions): Pool {
  const pool = new Pool({
    connectionString: url,
    max: opts.max,
    application_name: opts.applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(opts.asyncCommit ? { options: "-c synchronous_commit=off" } : {}),
  });
  pool.on("error", opts.onError ?? (() => {}));
  return pool;
}
