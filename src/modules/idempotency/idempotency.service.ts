import type { DataSource } from "typeorm";
import { poolOf, poolSql } from "../../db/sql";
import { isKeyTaken } from "../../db/faults";
import { fromJson } from "../../db/hydrate";
import { AssignmentRequest } from "../assignments/assignment-request.entity";
import { ChatSession } from "../chat-sessions/chat-session.entity";
import { EngagementTrackingRecord } from "../tracking/engagement-tracking-record.entity";
import { User } from "../users/user.entity";
import { inUnit, type PendingRecord } from "../../db/unit-of-work";
import { BatonError, ErrorCode } from "../../errors";
import { type KeyRow, IdempotencyRepository } from "../../repositories/idempotency.repository";

/** One idempotent mutation: whose key, and what was asked (a hash of the operation and its variables). */
export interface IdempotencyScope {
  userId: string;
  key: string;
  hash: string;
  /** Set once the run's record committed (its answer should be stored): by `run`. */
  recorded: boolean;
  /** A direct run's record, owed by the write that commits its effects (see engine/answer.ts). */
  pending?: PendingRecord;
}

/** The rows a direct run's answer was made of, as its statement wrote them (to_jsonb: columns by name). */
export interface StoredRows {
  request: Record<string, unknown>;
  record: Record<string, unknown> | null;
  chat: Record<string, unknown> | null;
  users: Array<Record<string, unknown> | null>;
}

/** A run's record: the root result it returned, the request it opened or answered (direct runs), or the domain error it failed with. */
export type StoredResult =
  | { value: unknown }
  | { requestId: string; rows?: StoredRows }
  | { error: { code: ErrorCode; message: string; details: Record<string, unknown> } };

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

/** What a key's live row says about a new run: none (null: run it), the stored answer, a rebuild, or a refusal. */
function judge(scope: IdempotencyScope, row: KeyRow | undefined): Exclude<IdempotentOutcome<never>, { kind: "ran" }> | null {
  if (!row) return null;
  if (row.request_hash !== scope.hash) {
    throw new BatonError(ErrorCode.IDEMPOTENCY_KEY_REUSED, "This Idempotency-Key was used for a different operation or variables; use a new key for a new operation");
  }
  if (row.response !== null) return { kind: "replay", response: JSON.parse(row.response) as unknown };
  const result = JSON.parse(row.result ?? "null") as StoredResult;
  // A unit's root result, committed moments ago by a run still building (and storing) its answer: wait for that answer.
  if ("value" in result && row.recent) throw inUse();
  return { kind: "rebuild", result };
}

const failure = (err: BatonError): StoredResult => ({ error: { code: err.code, message: err.message, details: { ...err.details } } });

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
    this.repo = new IdempotencyRepository(poolSql(dataSource), async (text) => {
      await poolOf(dataSource).query(text);
    });
  }

  /**
   * Runs `work` at most once for the scope's user and key. `direct`: the work's own statement
   * writes the record (the handover engine's open and answer, see db/unit-of-work.ts
   * PendingRecord), so it runs on the pool as it would without a key, and the key is held by a
   * session lock on a connection of its own: its statement's locks are not held any longer than
   * without a key. Otherwise the work runs as one unit whose last round trip writes the record and
   * commits.
   */
  run<T>(scope: IdempotencyScope, work: () => Promise<T>, opts: { direct?: boolean } = {}): Promise<IdempotentOutcome<T>> {
    return opts.direct ? this.runDirect(scope, work) : this.runAsUnit(scope, work);
  }

  private async runDirect<T>(scope: IdempotencyScope, work: () => Promise<T>): Promise<IdempotentOutcome<T>> {
    // Optimistic: nothing is asked before the work. Its one recording statement fails whole when
    // the key is taken (a repeat, or a concurrent first run that committed first); then the key's
    // row says what to answer. An expired row is deleted on that read, and the work runs again.
    for (let attempt = 0; attempt < 2; attempt++) {
      const record: PendingRecord = { userId: scope.userId, key: scope.key, hash: scope.hash, ttlHours: this.opts.ttlHours, recorded: false };
      try {
        scope.pending = record;
        const value = await work();
        // A path that did not write the record with its effects (none should): written now, after them.
        if (!record.recorded) await this.repo.record({ ...record, state: "COMMITTED", result: { value } });
        scope.recorded = true;
        return { kind: "ran", value };
      } catch (err) {
        if (record.recorded) {
          scope.recorded = true;
          throw err;
        }
        if (isKeyTaken(err)) {
          const earlier = await this.earlier(scope);
          if (earlier) return earlier;
          continue; // it had expired: run
        }
        if (!(err instanceof BatonError) || TRANSIENT.has(err.code)) throw err;
        // A domain error is recorded, unless the key is taken: a repeat's refusal is not its answer.
        try {
          await this.repo.record({ ...record, state: "FAILED", result: failure(err) });
          scope.recorded = true;
        } catch (recording) {
          if (!isKeyTaken(recording)) throw recording;
          const earlier = await this.earlier(scope);
          if (earlier) return earlier;
        }
        throw err;
      }
    }
    throw inUse();
  }

  /** What the key's row says, after the key turned out taken: null when it had expired (and was deleted). */
  private async earlier(scope: IdempotencyScope): Promise<Exclude<IdempotentOutcome<never>, { kind: "ran" }> | null> {
    return judge(scope, await this.repo.read(scope.userId, scope.key));
  }

  private async runAsUnit<T>(scope: IdempotencyScope, work: () => Promise<T>): Promise<IdempotentOutcome<T>> {
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
          return judge(scope, results[3]?.[0] as unknown as KeyRow | undefined);
        },
        work: async () => ({ kind: "ran", value: await work() }),
        commit: (ran) => {
          committed = true;
          return close("COMMITTED", { value: (ran as { value: unknown }).value });
        },
        failed: (err) => {
          if (!(err instanceof BatonError) || TRANSIENT.has(err.code)) return null;
          committed = true;
          return close("FAILED", failure(err));
        },
      },
      this.opts.onEffectError,
    ).catch(async (err: unknown) => {
      // A direct run (see runDirect) took the key while this unit ran: its effects rolled back, its row answers.
      if (isKeyTaken(err)) {
        const earlier = await this.earlier(scope);
        if (earlier) return earlier;
        throw inUse();
      }
      if (committed && err instanceof BatonError) scope.recorded = true;
      throw err;
    });
    if (outcome.kind === "ran") scope.recorded = true;
    return outcome;
  }

  /**
   * Ends an operation's idempotent run: stores its whole answer when it was recorded (what a
   * replay sends; committed asynchronously: losing it only means a replay rebuilds it), and lets
   * go of the key. Always called once the answer is known, recorded or not.
   */
  async finish(scope: IdempotencyScope, response: unknown): Promise<void> {
    // A direct run's record holds the rows its answer is made of: nothing more to store.
    if (scope.recorded && !scope.pending && response !== null) await this.repo.storeResponse(scope.userId, scope.key, response);
  }

  /** A direct run's stored rows, as entities (a repeat's answer is made of them, as the first run's was). */
  rowsOf(rows: StoredRows): { request: AssignmentRequest; record: EngagementTrackingRecord | null; chat: ChatSession | null; users: User[] } {
    return {
      request: fromJson(AssignmentRequest, rows.request),
      record: rows.record ? fromJson(EngagementTrackingRecord, rows.record) : null,
      chat: rows.chat ? fromJson(ChatSession, rows.chat) : null,
      users: rows.users.filter((u): u is Record<string, unknown> => u !== null).map((u) => fromJson(User, u)),
    };
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
