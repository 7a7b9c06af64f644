import type { DataSource } from "typeorm";
import { CommitOutcomeUnknown, isDatabaseUnavailable } from "./faults";
import { poolSql, type Sql, txSql } from "./sql";
import { currentUnit } from "./unit-of-work";

/** A transaction plus the work that must wait for its commit (publishing, scheduling). */
export interface Tx {
  /** The transaction's connection, for repositories. */
  sql: Sql;
  afterCommit: (effect: () => void | Promise<void>) => void;
}

export type AfterCommitErrorHandler = (err: unknown) => void;

/**
 * Runs `work` in one transaction; effects registered with `afterCommit` run only once it has
 * committed, so no subscriber or job ever sees a change that was rolled back.
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (tx: Tx) => Promise<T>,
  /** Required: an effect that fails after commit must be told to someone (services log it and close sockets to catch up). */
  onEffectError: AfterCommitErrorHandler,
): Promise<T> {
  // Inside a unit (an idempotent mutation) the unit is the transaction, and its commit the effects' moment.
  const unit = currentUnit();
  if (unit) return work({ sql: poolSql(dataSource), afterCommit: (effect) => unit.effects.push(effect) });
  const effects: Array<() => void | Promise<void>> = [];
  let workDone = false;
  let result: T;
  try {
    result = await dataSource.transaction(async (manager) => {
      const value = await work({ sql: txSql(manager), afterCommit: (effect) => effects.push(effect) });
      workDone = true;
      return value;
    });
  } catch (err) {
    // The work succeeded and COMMIT failed on a lost connection: Postgres may have committed.
    if (workDone && isDatabaseUnavailable(err)) throw new CommitOutcomeUnknown(err);
    throw err;
  }
  for (const effect of effects) {
    try {
      await effect();
    } catch (err) {
      onEffectError(err);
    }
  }
  return result;
}
