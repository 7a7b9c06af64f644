import type { Logger } from "../logger";
import type { BiAccessService } from "../modules/bi/bi-access.service";

/**
 * Keeps `bi.handover_daily` fresh: a concurrent refresh every `everySeconds` (readers are never
 * blocked; one instance at a time, the others skip that round). A failure is logged and the next
 * round tries again; it never stops the process.
 */
export class RollupRefresher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly bi: BiAccessService,
    private readonly everySeconds: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.everySeconds <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.everySeconds * 1000);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      const started = Date.now();
      try {
        const done = await this.bi.refreshRollup();
        if (this.failing) this.logger.info("bi rollup refresh works again");
        this.failing = false;
        this.logger.debug({ refreshed: done, ms: Date.now() - started }, "bi rollup refresh");
      } catch (err) {
        if (!this.failing) this.logger.warn({ err: (err as Error).message }, "bi rollup refresh failed; retrying next round");
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
