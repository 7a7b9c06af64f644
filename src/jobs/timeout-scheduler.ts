import { Agenda, type AgendaBackend } from "agenda";
import { Pool } from "pg";
import { DataSource, type DataSourceOptions } from "typeorm";
import { CONNECT_TIMEOUT_MS } from "../db/data-source";
import { poolErrorLogger } from "../db/database";
import { isDatabaseUnavailable } from "../db/faults";
import { oncePer } from "../kernel/time";
import type { Logger } from "../logger";
import type { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import type { DeadlineJobs, HandoverEngine } from "../engine/handover-engine";
import type { JobTable } from "../repositories/handover.repository";

export const TIMEOUT_JOB = "assignment-request-timeout";

export interface TimeoutJobData {
  requestId: string;
}

export interface SchedulerOptions {
  /** Postgres URL of Baton's database (the default backend) or, when set, a MongoDB URL. */
  postgresUrl: string;
  mongoUrl?: string;
  /** How often Agenda polls for due jobs (and locks those due before its next poll). */
  processEveryMs: number;
  /** How often the sweeper drains pending requests past their deadline, whatever became of their jobs. */
  sweepEveryMs: number;
  /** Instance name, written on locked jobs. */
  name: string;
}

/** Builds the configured Agenda backend. Both are ESM-only packages, loaded on demand. */
export async function createBackend(
  opts: Pick<SchedulerOptions, "postgresUrl" | "mongoUrl">,
  onPoolError: (err: Error) => void = () => {},
): Promise<{ backend: AgendaBackend; close: () => Promise<void> }> {
  if (opts.mongoUrl) {
    const { MongoBackend } = await import("@agendajs/mongo-backend");
    return { backend: new MongoBackend({ address: opts.mongoUrl, collection: "agendaJobs" }), close: async () => {} };
  }
  const { PostgresBackend } = await import("@agendajs/postgres-backend");
  // Our pool, not one Agenda makes: Agenda's has no `error` listener, so a dropped idle
  // connection (a Postgres restart) would end the process. Agenda leaves a pool it was given open.
  const pool = new Pool({
    connectionString: opts.postgresUrl,
    max: 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: "baton-agenda",
    // A job row lost in a crash is recreated by nobody and needed by nobody: the sweeper times
    // the request out from assignment_requests, the truth. So job writes skip the WAL flush wait.
    options: "-c synchronous_commit=off",
  });
  pool.on("error", onPoolError);
  // The table comes from a migration: instances never race to create it.
  const backend = new PostgresBackend({
    pool,
    ensureSchema: false,
    // LISTEN/NOTIFY wakes Agenda for jobs due before its next poll; ours are due 5 s or more
    // after they are made, so it would only add a NOTIFY round trip to every request.
    disableNotifications: true,
  });
  return { backend, close: () => pool.end() };
}

/**
 * Makes deadlines act on their own: one Agenda job per pending request, due at its expiresAt,
 * removed when the request settles first; plus a sweeper for a backend outage or a lost job. Both
 * end in a drain (`HandoverEngine.timeOutDue`, set-based, skipping locked rows, conditional on
 * the request still being pending and due), so a request times out exactly once whoever gets there first.
 */
export class TimeoutScheduler implements DeadlineJobs {
  private agenda: Agenda | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private draining: Promise<number> | null = null;
  private drainAgain: Promise<number> | null = null;
  /** Connections of the scheduler's own, apart from the API's pool. */
  private pool: DataSource | null = null;
  private closeBackend: () => Promise<void> = async () => {};
  /** Why the last sweep failed, until one succeeds. */
  private sweepError: string | null = null;

  constructor(
    private readonly opts: SchedulerOptions,
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
  ) {}

  /** The engine whose due requests this scheduler times out: given at start. */
  private engine: Pick<HandoverEngine, "timeOutDueBatch"> | null = null;

  /**
   * Starts the jobs and the sweeper, timing out through `engine` (which was made with this
   * scheduler as its `jobs`: the scheduler exists first, so neither is changed afterwards).
   */
  async start(engine: Pick<HandoverEngine, "timeOutDueBatch">): Promise<void> {
    this.engine = engine;
    const options = this.dataSource.options as Extract<DataSourceOptions, { type: "postgres" }>;
    const extra = (options.extra as object | undefined) ?? {};
    this.pool = new DataSource({
      ...options,
      poolErrorHandler: poolErrorLogger(this.logger, "timeouts"),
      extra: { ...extra, max: 4, application_name: "baton-timeouts" },
    });
    await this.pool.initialize();
    const { backend, close } = await createBackend(this.opts, poolErrorLogger(this.logger, "agenda"));
    this.closeBackend = close;
    const agenda = new Agenda({
      backend,
      name: this.opts.name,
      processEvery: this.opts.processEveryMs,
      defaultConcurrency: 50,
      maxConcurrency: 100,
      defaultLockLimit: 0,
      // A timeout job takes milliseconds; a crashed holder's lock frees its jobs soon.
      defaultLockLifetime: 10_000,
      removeOnComplete: true,
    });
    // A job's deadline has come: time out every request that is due, not only its own, in set-based
    // batches. When many fall due together (a burst of requests made seconds apart), the first job
    // settles them all in a few statements and the rest find theirs done (and cancelled).
    agenda.define<TimeoutJobData>(TIMEOUT_JOB, async () => {
      await this.drain();
    });
    const outageLog = oncePer(5_000);
    agenda.on("error", (err: unknown) => {
      // A request settled while its job ran: the settling transaction deleted the job Agenda wanted to update.
      const gone = err instanceof Error && err.message.includes("does not exist anymore");
      if (gone) return this.logger.debug({ err }, "timeout job removed while running");
      // Agenda polls every processEvery: during a database outage, one line per burst, not per poll.
      if (isDatabaseUnavailable(err)) {
        if (!outageLog()) return;
        return this.logger.warn({ err: (err as Error).message }, "agenda cannot reach its job store; the sweeper catches up once it is back");
      }
      this.logger.error({ err }, "agenda error");
    });
    await agenda.start();
    this.agenda = agenda;
    await this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.opts.sweepEveryMs);
    this.sweepTimer.unref();
  }

  /** Lets other instances take this one's jobs: Agenda unlocks what it held. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.agenda) await this.agenda.stop();
    this.agenda = null;
    await this.closeBackend().catch(() => undefined);
    // A drain a job or the sweeper started finishes on the pool before it closes.
    await this.drainAgain?.catch(() => 0);
    await this.draining?.catch(() => 0);
    if (this.pool?.isInitialized) await this.pool.destroy();
    this.pool = null;
  }

  private connections(): DataSource {
    return this.pool ?? this.dataSource;
  }

  /**
   * With the Postgres backend, Agenda's table is in Baton's database: the engine writes a
   * request's job in the very statement that opens the request, and removes it in the one that
   * settles it (one request, one job, atomically: no crash can leave a pending request without its
   * job, nor a job without its request). Agenda then finds it by polling. With MongoDB the job
   * is saved and cancelled through Agenda once the request's change commits.
   */
  get table(): JobTable | null {
    if (!this.agenda || this.opts.mongoUrl) return null;
    return { name: TIMEOUT_JOB, instance: this.opts.name };
  }

  async opened(request: AssignmentRequest): Promise<void> {
    if (!this.agenda || !this.opts.mongoUrl) return;
    await this.agenda.create<TimeoutJobData>(TIMEOUT_JOB, { requestId: request.id }).schedule(request.expiresAt).save();
  }

  async settled(requestIds: string[]): Promise<void> {
    if (!this.agenda || !this.opts.mongoUrl) return;
    for (const requestId of requestIds) await this.agenda.cancel({ name: TIMEOUT_JOB, data: { requestId } });
  }

  /**
   * Times out all due requests, batch after batch. Jobs that fire while a drain runs share one
   * more drain after it (which sees what fell due meanwhile), instead of each starting its own.
   */
  drain(): Promise<number> {
    if (!this.draining) {
      this.draining = this.timeOutAllDue().finally(() => (this.draining = null));
      return this.draining;
    }
    this.drainAgain ??= this.draining
      .catch(() => 0) // that drain's failure is its callers'; this one runs regardless
      .then(() => {
        this.drainAgain = null;
        return this.drain();
      });
    return this.drainAgain;
  }

  private async timeOutAllDue(): Promise<number> {
    const BATCH = 500;
    let total = 0;
    // Due requests of fallback chains whose chat was busy (their hop needs it) are tried again
    // shortly, a few times, before the sweeper's next round.
    for (let retries = 0; ; ) {
      if (!this.engine) return total;
      const { timedOut, deferred, found } = await this.engine.timeOutDueBatch(this.connections(), BATCH);
      total += timedOut.length;
      if (found >= BATCH) continue;
      if (deferred === 0 || ++retries > 20) return total;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /**
   * The safety net, at start and every `sweepEveryMs`: a drain whatever happened to the jobs (a
   * crash between commit and scheduling with MongoDB, a backend outage). Cheap (one indexed query)
   * when nothing is due.
   */
  async sweep(): Promise<number> {
    try {
      const total = await this.drain();
      if (this.sweepError) this.logger.info("timeout sweep works again");
      this.sweepError = null;
      if (total > 0) this.logger.info({ count: total }, "sweep timed out requests past their deadline");
      return total;
    } catch (err) {
      // During a database outage every sweep fails: log the first, then wait for one to succeed.
      if (!this.sweepError) this.logger.error({ err }, "timeout sweep failed; retrying every sweep interval");
      this.sweepError = err instanceof Error ? err.message : String(err);
      return 0;
    }
  }

  /** For readiness: null while deadlines are being acted on, else why not. */
  problem(): string | null {
    if (!this.agenda) return "not running";
    return this.sweepError ? `last sweep failed: ${this.sweepError}` : null;
  }
}
