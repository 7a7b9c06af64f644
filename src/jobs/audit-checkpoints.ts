import type { Logger } from "../logger";
import type { AuditService } from "../modules/audit/audit.service";
import { PeriodicRound } from "./periodic";

/**
 * Signs the verifiable log's checkpoints (issue #25): every `everyMinutes`, one per organization
 * whose chain moved since its last checkpoint, at most one per `everyMinutes` each. Looks every
 * minute (or every `everyMinutes`, if shorter), so a checkpoint is at most a minute late. Safe on
 * several instances (a head is signed once: the second is not stored). A failure is logged and
 * the next round tries again; it never stops the process.
 */
export class AuditCheckpointer {
  private readonly rounds: PeriodicRound;

  constructor(
    private readonly audit: AuditService,
    private readonly everyMinutes: number,
    private readonly logger: Logger,
    /** The time checkpoints are signed at (tests move it on). */
    clock: () => Date = () => new Date(),
  ) {
    this.rounds = new PeriodicRound(
      async () => {
        const signed = await audit.checkpoint(everyMinutes, null, clock);
        if (signed.length > 0) logger.debug({ checkpoints: signed.length }, "audit checkpoints signed");
      },
      logger,
      "audit checkpoint round",
    );
  }

  async start(): Promise<void> {
    if (!this.audit.signing || this.everyMinutes <= 0) return;
    const key = await this.audit.putKeyInService().catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message }, "audit signing key could not be published; the checkpointer tries again each round");
      return null;
    });
    if (key && !key.active) this.logger.warn({ keyId: key.keyId }, "audit signing key was retired by a newer one: this instance signs no checkpoints");
    else if (key?.retired) this.logger.info({ keyId: key.keyId, retired: key.retired }, "audit signing key rotated: the keys before it stay published");
    this.rounds.start(Math.min(this.everyMinutes, 1) * 60_000);
  }

  round(): Promise<void> {
    return this.audit.signing ? this.rounds.run() : Promise.resolve();
  }

  stop(): Promise<void> {
    return this.rounds.stop();
  }
}
