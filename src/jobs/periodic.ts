import type { Logger } from "../logger";

/**
 * A background round repeated every `everyMs` (the BI rollup's refresh, the audit checkpoints):
 * one round at a time (a call during a round joins it), a failure logged once per outage and
 * retried next round, its recovery logged once; it never stops the process. `stop` waits for
 * the round in progress.
 */
export class PeriodicRound {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly logger: Logger,
    /** "<what> failed; retrying next round" and "<what> works again". */
    private readonly what: string,
  ) {}

  /** Starts the rounds (once; `everyMs` <= 0: never). */
  start(everyMs: number): void {
    if (everyMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.run(), everyMs);
    this.timer.unref();
  }

  run(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        await this.work();
        if (this.failing) this.logger.info(`${this.what} works again`);
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.logger.warn({ err: (err as Error).message }, `${this.what} failed; retrying next round`);
        this.failing = true;
      }
    })().finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
