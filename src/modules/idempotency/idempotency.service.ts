import type { DataSource } from "typeorm";
import { poolOf, poolSql } from "../../db/sql";
import { inUnit } from "../../db/unit-of-work";
import { BatonError, ErrorCode } from "../../errors";
import { type KeyRow, IdempotencyRepository } from "../../repositories/idempotency.repository";

/** One idempotent mutation: whose key, and what was asked (a hash of the operation and its variables). */
export interface IdempotencyScope {
  userId: string;
  key: string;
  hash: string;
  /** Set once the run's record committed (its answer should be stored): by `run`. */
  recorded: boolean;
}

/** A run's record: the root result it returned, or the domain error it failed with. */
export type StoredResult = { value: unknown } | { error: { code: ErrorCode; message: string; details: Record<string, unknown> } };

export type IdempotentOutcome<T> =
  /** It ran now: its effects and its record committed together. */
  | { kind: "ran"; value: T }
  /** It ran before and its whole answer was stored: send that. */
  | { kind: "replay"; response: unknown }
  /** It ran before but its answer was never stored (the process died, or the connection, at its commit): rebuild it from the record. */
  | { kind: "rebuild"; result: StoredResult };

/** Errors that say nothing about the operation's outcome, only about now: such a run stores nothing and a retry runs. */
const TRANSIENT = new Set<ErrorCode>([
  ErrorCode.SERVICE_UNAVAILABLE,
  ErrorCode.INTERNAL_SERVER_ERROR,
  ErrorCode.RATE_LIMITED,
  ErrorCode.IDEMPOTENCY_KEY_IN_USE,
  ErrorCode.IDEMPOTENCY_KEY_REUSED,
  ErrorCode.UNAUTHENTICATED,
]);

export const inUse = (): BatonError =>
  new BatonError(ErrorCode.IDEMPOTENCY_KEY_IN_USE, "A request with this Idempotency-Key is still running; retry shortly", { retryAfterSeconds: 1 });

/**
 * Idempotency keys (issue #23, the IETF "Idempotency-Key" draft): a mutation sent with a key
 * happens at most once per user and key for `ttlHours`. It runs as one unit (db/unit-of-work.ts)
 * whose first round trip takes the key's lock (a concurrent repeat is IDEMPOTENCY_KEY_IN_USE)
 * and reads the key's record, and whose last writes the record with the root result in the same
 * transaction as the effects. A domain error is recorded too (its effects rolled back); a run cut
 * off before its commit records nothing, so a retry runs. The transport stores the whole answer
 * once it is built (`storeResponse`) and replays it.
 */
export class IdempotencyService {
  private readonly repo: IdempotencyRepository;
  private purging: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly opts: { ttlHours: number; onEffectError: (err: unknown) => void },
  ) {
    this.repo = new IdempotencyRepository(poolSql(dataSource));
  }

  async run<T>(scope: IdempotencyScope, work: () => Promise<T>): Promise<IdempotentOutcome<T>> {
    const close = (state: "COMMITTED" | "FAILED", result: StoredResult) =>
      this.repo.closeText({ userId: scope.userId, key: scope.key, hash: scope.hash, state, result, ttlHours: this.opts.ttlHours });
    let committed = false;
    const outcome = await inUnit<IdempotentOutcome<T>>(
      poolOf(this.dataSource),
      {
        open: this.repo.openText(scope.userId, scope.key),
        decide: (results) => {
          const locked = results[1]?.[0]?.locked === true;
          if (!locked) throw inUse();
          const row = results[2]?.[0] as unknown as KeyRow | undefined;
          if (!row) return null;
          if (row.request_hash !== scope.hash) {
            throw new BatonError(
              ErrorCode.IDEMPOTENCY_KEY_REUSED,
              "This Idempotency-Key was used for a different operation or variables; use a new key for a new operation",
            );
          }
          if (row.response !== null) return { kind: "replay", response: JSON.parse(row.response) as unknown };
          // Committed moments ago by a run still building its answer: wait for that answer.
          if (row.recent) throw inUse();
          return { kind: "rebuild", result: JSON.parse(row.result ?? "null") as StoredResult };
        },
        work: async () => ({ kind: "ran", value: await work() }),
        commit: (ran) => {
          committed = true;
          return close("COMMITTED", { value: (ran as { value: unknown }).value });
        },
        failed: (err) => {
          if (!(err instanceof BatonError) || TRANSIENT.has(err.code)) return null;
          committed = true;
          return close("FAILED", { error: { code: err.code, message: err.message, details: { ...err.details } } });
        },
      },
      this.opts.onEffectError,
    ).catch((err: unknown) => {
      if (committed && err instanceof BatonError) scope.recorded = true;
      throw err;
    });
    if (outcome.kind === "ran") scope.recorded = true;
    return outcome;
  }

  /** Stores the whole answer of a recorded run (what a replay sends). */
  storeResponse(scope: IdempotencyScope, response: unknown): Promise<void> {
    return this.repo.storeResponse(scope.userId, scope.key, response);
  }

  /** Deletes expired keys every 10 minutes (each instance; the statement takes at most 10,000 a time). */
  startPurging(onError: (err: unknown) => void): void {
    if (this.purging) return;
    this.purging = setInterval(() => void this.repo.purgeExpired().catch(onError), 10 * 60_000);
    this.purging.unref();
  }

  stopPurging(): void {
    if (this.purging) clearInterval(this.purging);
    this.purging = null;
  }

  purgeExpired(): Promise<number> {
    return this.repo.purgeExpired();
  }
}
