import type { Logger } from "../logger";
import type { BiAccessService } from "../modules/bi/bi-access.service";
import { PeriodicRound } from "./periodic";

/**
 * Keeps `bi.handover_daily` fresh: a concurrent refresh every `everySeconds` (readers are never
 * blocked; one instance at a time, the others skip that round). A failure is logged and the next
 * round tries again; it never stops the process.
 */
export class RollupRefresher {
  private readonly rounds: PeriodicRound;

  constructor(
    bi: BiAccessService,
    private readonly everySeconds: number,
    logger: Logger,
  ) {
    this.rounds = new PeriodicRound(
      async () => {
        const started = Date.now();
        const done = await bi.refreshRollup();
        logger.debug({ refreshed: done, ms: Date.now() - started }, "bi rollup refresh");
      },
      logger,
      "bi rollup refresh",
    );
  }

  start(): void {
    this.rounds.start(this.everySeconds * 1000);
  }

  refresh(): Promise<void> {
    return this.rounds.run();
  }

  stop(): Promise<void> {
    return this.rounds.stop();
  }
}
