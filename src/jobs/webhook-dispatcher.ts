import type { WebhookConfig } from "../config";
import type { Pool } from "pg";
import { sidePoolSql } from "../db/sql";
import { type SecretBox, secretsInForce } from "../kernel/secret-box";
import { webhookSignatures } from "../kernel/standard-webhooks";
import { type WebhookAttempt, WebhookSender } from "../kernel/webhook-sender";
import type { Logger } from "../logger";
import { webhookDisabledMessage, webhookDisabledReason } from "../modules/notifications/messages";
import type { Notification } from "../modules/notifications/notification.entity";
import { type ClaimedDelivery, WebhookDeliveryRepository } from "../repositories/webhook-delivery.repository";

/** What the dispatcher reports, for metrics. */
export interface WebhookObserver {
  attempt(outcome: WebhookAttempt["outcome"], seconds: number): void;
  /** A delivery reached a final status. */
  settled(status: "DELIVERED" | "FAILED"): void;
  /** From the event's commit (its delivery row's creation) to the receiver's 2xx. */
  delivered(seconds: number): void;
}

/** What the dispatcher needs from its surroundings. */
export interface DispatcherDeps {
  /** Its own connections (two): a backlog never takes one from a request. */
  pool: Pool;
  logger: Logger;
  /** Notifications it wrote (an endpoint disabled), to publish. */
  notify(notifications: Notification[]): void;
}

export interface DispatcherOptions extends Omit<WebhookConfig, "secretKey"> {
  box: SecretBox;
  /** How often due retries and what a crash left are looked for (default 1 s); commits are sent at once. */
  sweepMs?: number;
  /** Runs (each one request at a time) at once from this instance, all endpoints together (default 64). */
  concurrency?: number;
  /** Commits and finished attempts within this many ms share one claim (default 2). */
  batchMs?: number;
  /** Deliveries of one endpoint and chat claimed together and sent one after another (default 16). */
  runLength?: number;
}

/** A run's next message is sent only if its lease outlasts the attempt's timeout by this much (for the recording). */
const LEASE_MARGIN_MS = 5_000;

/** Claimed rows (grouped by endpoint and chat, in sequence order) as runs. */
function inRuns(claimed: readonly ClaimedDelivery[]): ClaimedDelivery[][] {
  const runs: ClaimedDelivery[][] = [];
  let last: ClaimedDelivery | undefined;
  for (const c of claimed) {
    const same = last && last.delivery.endpointId === c.delivery.endpointId && last.delivery.chatSessionId === c.delivery.chatSessionId;
    if (same) runs[runs.length - 1].push(c);
    else runs.push([c]);
    last = c;
  }
  return runs;
}

/** How long the organizations-with-endpoints list is trusted before it is read again. */
const ORGANIZATIONS_TTL_MS = 5_000;

/**
 * Sends webhook deliveries (issue #22). The statement that appends an event writes its
 * deliveries; this worker claims them after commit: at once when this instance committed the
 * event (`committed`, called for each event committed here, claims only for organizations that
 * have enabled endpoints, so others cost nothing), and on a sweep every second for retries that
 * came due, events committed by other instances' failed kicks, and leases a crashed instance left.
 * It runs on a thread of its own in the server (webhook-thread.ts), so that its messages do not
 * wait behind the API's work.
 *
 * Claims are cluster-safe (SKIP LOCKED and a lease) and ordered per endpoint and chat in the SQL
 * (webhook-delivery.repository.ts), a run of one chat's deliveries at a time, sent one after
 * another; this process adds a cap on its own runs at once. An
 * attempt's outcome is recorded as it ends: a 2xx delivers, anything else retries after the
 * schedule's next wait (jittered +-20 %) or, after the last, fails. An endpoint whose every attempt
 * has failed for `disableAfterHours` is disabled and its admins are told. A database fault while
 * claiming or recording is logged and never stops the process: an unrecorded attempt's lease runs
 * out and it is sent again (at least once).
 */
export class WebhookDispatcher {
  private readonly pool: Pool;
  private readonly repo: WebhookDeliveryRepository;
  private pending: NodeJS.Timeout | null = null;
  /** 2xx answers not yet recorded: written together before the next claim. */
  private answered: Array<{ id: string; at: Date; status: number; createdAt: Date }> = [];
  private readonly sender: WebhookSender;
  private readonly sends = new Set<Promise<void>>();
  private readonly leaseMs: number;
  private organizations = new Set<string>();
  private organizationsReadAt = 0;
  private pumping = false;
  private again = false;
  private stopping = false;
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly observers = new Set<WebhookObserver>();

  private readonly logger: Logger;

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly opts: DispatcherOptions,
  ) {
    this.logger = deps.logger;
    this.pool = deps.pool;
    this.repo = new WebhookDeliveryRepository(sidePoolSql(this.pool));
    this.sender = new WebhookSender({ timeoutMs: opts.timeoutSeconds * 1000, allowPrivateNetworks: opts.allowPrivateNetworks });
    // Long enough for an attempt and its recording; a crashed instance's claims are sent again after it.
    this.leaseMs = opts.timeoutSeconds * 1000 + 15_000;
  }

  start(): void {
    this.timer = setInterval(() => this.sweep(), this.opts.sweepMs ?? 1_000);
    this.timer.unref();
    void this.refreshOrganizations().then(() => this.schedule());
  }

  /** Hears every attempt and outcome (metrics). */
  observe(observer: WebhookObserver): void {
    this.observers.add(observer);
  }

  /** An endpoint was created, changed or removed here: the next events of its organization are sent at once. */
  endpointsChanged(): void {
    this.organizationsReadAt = 0;
    void this.refreshOrganizations().then(() => this.schedule());
  }

  /** Deliveries queued (a redelivery): send them now rather than at the next sweep. */
  queued(): void {
    this.schedule();
  }

  /** Pending deliveries per endpoint id (the queue-depth gauge). */
  queueDepth(): Promise<Map<string, number>> {
    return this.repo.queueDepth();
  }

  /** Due retries, other instances' commits, expired leases: only while some organization has an endpoint. */
  private sweep(): void {
    if (this.organizationsStale()) {
      void this.refreshOrganizations().then(() => {
        if (this.organizations.size > 0) this.schedule();
      });
    } else if (this.organizations.size > 0) this.schedule();
  }

  /** An event of the organization was committed by this instance: its deliveries are claimed at once. */
  committed(organizationId: string): void {
    const stale = this.organizationsStale();
    if (stale) void this.refreshOrganizations();
    if (stale || this.organizations.has(organizationId)) this.schedule();
  }

  private organizationsStale(): boolean {
    return Date.now() - this.organizationsReadAt > ORGANIZATIONS_TTL_MS;
  }

  private async refreshOrganizations(): Promise<void> {
    this.organizationsReadAt = Date.now();
    try {
      this.organizations = await this.repo.organizationsWithEndpoints();
    } catch {
      this.organizationsReadAt = 0; // read again at the next event; the sweep covers the meantime
    }
  }

  /** A claim soon: every reason to claim within `batchMs` shares one statement. */
  private schedule(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.pumping = true;
      void this.pump();
    }, this.opts.batchMs ?? 2);
  }

  /** Claims what may be sent now, as many as this instance has room for, until nothing more is due. */
  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        const room = Math.max(0, (this.opts.concurrency ?? 64) - this.sends.size);
        if (room <= 0 && this.answered.length === 0) break;
        const now = new Date();
        // The 2xx answers since the last claim are recorded by the claim itself (their rows stay
        // leased until then, so they count against the in-flight cap); if it fails they are kept
        // for the next one, and a lease that runs out first sends the message again (at least once).
        const answered = this.answered;
        this.answered = [];
        let claimed: ClaimedDelivery[];
        try {

          claimed = await this.repo.claim(now, new Date(now.getTime() + this.leaseMs), room, this.opts.maxInFlight, answered, this.opts.runLength ?? 16);
        } catch (err) {
          this.answered = answered.concat(this.answered);
          throw err;
        }
        this.settledAnswered(answered);
        const runs = inRuns(claimed);
        for (const run of runs) this.track(this.sendRun(run));
        if (room > 0 && runs.length === room) this.again = true;
        if (this.again) await new Promise((resolve) => setTimeout(resolve, this.opts.batchMs ?? 2));
      } while (this.again && !this.stopping);
      if (this.failing) this.logger.info("webhook deliveries: the database answers again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.error({ err: (err as Error).message }, "webhook deliveries: could not claim; retrying at the next sweep");
      this.failing = true;
    } finally {
      this.pumping = false;
    }
  }

  private settledAnswered(answered: ReadonlyArray<{ at: Date; createdAt: Date }>): void {
    for (const b of answered) {
      for (const o of this.observers) {
        o.settled("DELIVERED");
        o.delivered(Math.max(0, (b.at.getTime() - b.createdAt.getTime()) / 1000));
      }
    }
  }

  /** At stop: the last 2xx answers recorded (a claim of nothing). */
  private async recordAnswered(): Promise<void> {
    if (this.answered.length === 0) return;
    const answered = this.answered;
    this.answered = [];
    const now = new Date();
    await this.repo.claim(now, now, 0, 0, answered);
    this.settledAnswered(answered);
  }

  private track(send: Promise<void>): void {
    this.sends.add(send);
    void send.finally(() => {
      this.sends.delete(send);
      // The chat's next delivery may be due now, and there is room for one more.
      this.schedule();
    });
  }

  /**
   * Sends a run (one endpoint's and chat's deliveries, in sequence order) one message after
   * another: the next goes once the previous was answered with a 2xx. After a failure, at stop,
   * or when the rest's lease would not outlast another attempt and its recording, the rest is
   * given back unsent (it stays behind its chat's head, so the order holds).
   */
  private async sendRun(run: readonly ClaimedDelivery[]): Promise<void> {
    for (let i = 0; i < run.length; i++) {
      const leaseUntil = run[i].delivery.leaseUntil;
      const lastsLongEnough = !leaseUntil || leaseUntil.getTime() - Date.now() > this.opts.timeoutSeconds * 1000 + LEASE_MARGIN_MS;
      if (i > 0 && (this.stopping || !lastsLongEnough)) {
        await this.release(run.slice(i));
        return;
      }
      if (!(await this.send(run[i]))) {
        await this.release(run.slice(i + 1));
        return;
      }
    }
  }

  private async release(rest: readonly ClaimedDelivery[]): Promise<void> {
    const leaseUntil = rest[0]?.delivery.leaseUntil;
    if (!leaseUntil) return;
    try {
      await this.repo.release(
        rest.map((c) => c.delivery.id),
        leaseUntil,
      );
    } catch (err) {
      // Their lease runs out and they are claimed again (counted as one attempt more than was made).
      this.logger.warn({ err: (err as Error).message, webhook: { deliveries: rest.length } }, "webhook deliveries not given back; they are sent when their lease ends");
    }
  }

  /** One attempt, recorded; true when it was answered with a 2xx. */
  private async send(c: ClaimedDelivery): Promise<boolean> {
    const d = c.delivery;
    let attempt: WebhookAttempt;
    try {
      const body = JSON.stringify(JSON.parse(c.payload));
      const timestamp = Math.floor(Date.now() / 1000);
      attempt = await this.sender.post({
        url: c.url,
        body,
        headers: {
          "webhook-id": d.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": webhookSignatures(secretsInForce(this.opts.box, c, new Date()), d.id, timestamp, body),
        },
      });
    } catch (err) {
      attempt = { ok: false, status: null, error: `not sent: ${(err as Error).message}`.slice(0, 1024), outcome: "network", ms: 0 };
    }
    const now = new Date();
    for (const o of this.observers) o.attempt(attempt.outcome, attempt.ms / 1000);
    this.logger.info(
      { webhook: { endpointId: d.endpointId, deliveryId: d.id, sequence: d.eventSequence, attempt: d.attempts, status: attempt.status, outcome: attempt.outcome, ms: attempt.ms } },
      "webhook attempt",
    );
    try {
      if (attempt.ok) {
        this.answered.push({ id: d.id, at: now, status: attempt.status ?? 200, createdAt: d.createdAt });
        return true; // recorded with the next claim (track() schedules one when the run ends)
      }
      const wait = this.opts.retryScheduleSeconds[d.attempts - 1];
      const next = wait === undefined ? null : new Date(now.getTime() + wait * 1000 * (0.8 + Math.random() * 0.4));
      const endpoint = await this.repo.attemptFailed(d.id, now, attempt.status, attempt.error ?? "failed", next);
      if (!next) for (const o of this.observers) o.settled("FAILED");
      else if (endpoint && next.getTime() - now.getTime() < (this.opts.sweepMs ?? 1_000)) {
        // Due before the next sweep: claim it on time.
        setTimeout(() => this.schedule(), next.getTime() - now.getTime()).unref();
      }
      const hours = this.opts.disableAfterHours;
      if (endpoint?.enabled && hours > 0 && endpoint.failingSince.getTime() <= now.getTime() - hours * 3600_000) {
        const told = await this.repo.disableFailing(
          endpoint.endpointId,
          now,
          new Date(now.getTime() - hours * 3600_000),
          webhookDisabledReason(hours, attempt.error ?? "failed"),
          webhookDisabledMessage(c.url, hours),
        );
        if (told) {
          this.logger.warn({ webhook: { endpointId: endpoint.endpointId, failingSince: endpoint.failingSince } }, "webhook endpoint disabled: every attempt failed");
          this.deps.notify(told);
          this.endpointsChanged();
        }
      }
    } catch (err) {
      // Not recorded: the lease runs out and the delivery is sent again (at least once).
      this.logger.error({ err: (err as Error).message, webhook: { deliveryId: d.id } }, "webhook attempt not recorded; it is sent again when its lease ends");
    }
    return false;
  }


  /** Stops claiming; attempts in flight end (each within the timeout) and are recorded. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    this.timer = null;
    await Promise.allSettled([...this.sends]);
    while (this.pumping) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.recordAnswered().catch((err: unknown) =>
      this.logger.error({ err: (err as Error).message }, "webhook deliveries: answers not recorded at stop; they are sent again when their leases end"),
    );
    this.sender.close();
    await this.pool.end().catch(() => undefined);
  }
}
