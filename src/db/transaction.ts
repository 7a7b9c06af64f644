import type { DataSource, EntityManager } from "typeorm";

/** A transaction plus the work that must wait for its commit (publishing, scheduling). */
export interface Tx {
  manager: EntityManager;
  afterCommit(effect: () => void | Promise<void>): void;
}

export type AfterCommitErrorHandler = (err: unknown) => void;

/**
 * Runs `work` in one transaction; effects registered with `afterCommit` run only once it has
 * committed, so no subscriber or job ever sees a change that was rolled back.
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (tx: Tx) => Promise<T>,
  onEffectError: AfterCommitErrorHandler = () => {},
): Promise<T> {
  const effects: Array<() => void | Promise<void>> = [];
  const result = await dataSource.transaction((manager) =>
    work({ manager, afterCommit: (effect) => effects.push(effect) }),
  );
  for (const effect of effects) {
    try {
      await effect();
    } catch (err) {
      onEffectError(err);
    }
  }
  return result;
}
