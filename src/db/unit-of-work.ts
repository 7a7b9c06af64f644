import { AsyncLocalStorage } from "node:async_hooks";
import type { Pool, PoolClient } from "pg";
import { CommitOutcomeUnknown, isDatabaseUnavailable } from "./faults";

/**
 * One transaction around a whole operation (an idempotent mutation, issue #23): every statement
 * the operation sends through the pool (`poolSql`) or through `inTransaction` runs on the unit's
 * connection, inside the unit's transaction, and effects registered with `afterCommit` wait for the
 * unit's commit. The unit knows nothing of what it wraps: the caller opens it with its first
 * statements and closes it with its last (see `UnitRun`).
 */
export interface Unit {
  readonly client: PoolClient;
  /** False once committed or rolled back: statements of timers it started go to the pool again. */
  open: boolean;
  readonly effects: Array<() => void | Promise<void>>;
}

const storage = new AsyncLocalStorage<Unit>();
/**
 * Units running now. When none is, the storage is disabled: on Node 20 an enabled
 * AsyncLocalStorage tracks every promise of the process (its promise hooks), a cost every other
 * operation would pay for the rare mutation that runs as a unit.
 */
let running = 0;

/** The open unit this code runs in, if any. */
export function currentUnit(): Unit | null {
  const unit = storage.getStore();
  return unit?.open ? unit : null;
}

/**
 * Runs an effect once the change it follows has committed: now when no unit is open (the change
 * was its own transaction on the pool), or at the open unit's commit (dropped if it rolls back).
 */
export async function afterCommit(effect: () => void | Promise<void>, onError: (err: unknown) => void): Promise<void> {
  const unit = currentUnit();
  if (unit) {
    unit.effects.push(effect);
    return;
  }
  try {
    await effect();
  } catch (err) {
    onError(err);
  }
}

/** What a unit's opening statements found, and how it ends. */
export interface UnitRun<T> {
  /** The simple-protocol text sent first (it begins the transaction), and what to make of its results. */
  open: string;
  /** Given the opening results: null to go on with `work`, or a value to answer without running it (the unit rolls back). */
  decide(results: Array<Array<Record<string, unknown>>>): T | null;
  work(): Promise<T>;
  /** The text that ends a unit whose work succeeded (it commits). */
  commit(value: T): string;
  /** For an error of the work: the text that ends the unit keeping what the error should leave (it commits), or null to roll back everything. */
  failed(err: unknown): string | null;
}

/**
 * Opens a unit on its own connection, runs `run.work` inside it and ends it; effects run after
 * the commit, outside the unit, and their failures go to `onEffectError`. A connection lost at
 * the commit is `CommitOutcomeUnknown` (the caller's own record, written in the same transaction,
 * says later whether it committed).
 */
export async function inUnit<T>(pool: Pool, run: UnitRun<T>, onEffectError: (err: unknown) => void): Promise<T> {
  const client = await pool.connect();
  const unit: Unit = { client, open: true, effects: [] };
  let broken: Error | undefined;
  // A connection that dies while checked out emits 'error' (a terminated backend, a cut network):
  // without a listener that would kill the process. The query in flight fails with it anyway.
  const lost = (err: Error) => (broken ??= err);
  client.on("error", lost);
  try {
    const opened = (await client.query(run.open)) as unknown as Array<{ rows: Array<Record<string, unknown>> }>;
    let early: T | null;
    try {
      early = run.decide(opened.map((r) => r.rows));
    } catch (err) {
      unit.open = false;
      await client.query("ROLLBACK");
      throw err;
    }
    if (early !== null) {
      unit.open = false;
      await client.query("ROLLBACK");
      return early;
    }
    let value: T;
    try {
      running++;
      value = await storage.run(unit, () => run.work()).finally(() => {
        if (--running === 0) storage.disable();
      });
    } catch (err) {
      unit.open = false;
      const keep = isDatabaseUnavailable(err) ? null : run.failed(err);
      if (keep === null) {
        await client.query("ROLLBACK").catch((e: Error) => (broken = e));
      } else {
        await client.query(keep).catch((e: Error) => {
          broken = e;
          return client.query("ROLLBACK").catch(() => undefined);
        });
      }
      throw err;
    }
    unit.open = false;
    try {
      await client.query(run.commit(value));
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        broken = err as Error;
        throw new CommitOutcomeUnknown(err);
      }
      // The closing text failed on its own (a key a direct run took meanwhile): the connection is sound.
      await client.query("ROLLBACK").catch((e: Error) => (broken = e));
      throw err;
    }
    for (const effect of unit.effects) {
      try {
        await storage.exit(effect);
      } catch (err) {
        onEffectError(err);
      }
    }
    return value;
  } catch (err) {
    if (isDatabaseUnavailable(err)) broken ??= err as Error;
    throw err;
  } finally {
    unit.open = false;
    client.off("error", lost);
    client.release(broken);
  }
}

/**
 * The record an idempotent mutation still owes (issue #23), for mutations whose effects one
 * statement commits (the handover engine's open and answer): that statement writes the record too
 * (see HandoverRepository), so effects and record commit together without holding the statement's
 * locks across a round trip to this process. It travels with the operation's answer hook
 * (engine/answer.ts); whoever writes it sets `recorded` once it committed.
 */
export interface PendingRecord {
  userId: string;
  key: string;
  hash: string;
  ttlHours: number;
  recorded: boolean;
}
