import type { Logger } from "../logger";
import type { AuditService } from "../modules/audit/audit.service";

/**
 * Signs the verifiable log's checkpoints (issue #25): every `everyMinutes`, one per organization
 * whose chain moved since its last checkpoint, at most one per `everyMinutes` each. Looks every
 * minute (or every `everyMinutes`, if shorter), so a checkpoint is at most a minute late. Safe on
 * several instances (a head is signed once: the second is not stored). A failure is logged and
 * the next round tries again; it never stops the process.
 */
export class AuditCheckpointer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly audit: AuditService,
    private readonly everyMinutes: number,
    private readonly logger: Logger,
    /** The time checkpoints are signed at (tests move it on). */
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async start(): Promise<void> {
    if (!this.audit.signing || this.everyMinutes <= 0 || this.timer) return;
    const key = await this.audit.putKeyInService().catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message }, "audit signing key could not be published; the checkpointer tries again each round");
      return null;
    });
    if (key && !key.active) this.logger.warn({ keyId: key.keyId }, "audit signing key was retired by a newer one: this instance signs no checkpoints");
    else if (key?.retired) this.logger.info({ keyId: key.keyId, retired: key.retired }, "audit signing key rotated: the keys before it stay published");
    this.timer = setInterval(() => void this.round(), Math.min(this.everyMinutes, 1) * 60_000);
    this.timer.unref();
  }

  round(): Promise<void> {
    if (!this.audit.signing) return Promise.resolve();
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        const signed = await this.audit.checkpoint(this.everyMinutes, null, this.clock);
        if (this.failing) this.logger.info("audit checkpoints work again");
        this.failing = false;
        if (signed.length > 0) this.logger.debug({ checkpoints: signed.length }, "audit checkpoints signed");
      } catch (err) {
        if (!this.failing) this.logger.warn({ err: (err as Error).message }, "audit checkpoints failed; retrying next round");
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
