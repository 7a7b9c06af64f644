import type { DataSource } from "typeorm";
import type { WebhookConfig } from "../config";
import type { Pool } from "pg";
import { sidePool } from "../db/data-source";
import { sidePoolSql } from "../db/sql";
import { type BatonPubSub, publishNotification } from "../events/pubsub";
import { type SecretBox, secretsInForce } from "../kernel/secret-box";
import { webhookSignatures } from "../kernel/standard-webhooks";
import { type WebhookAttempt, WebhookSender } from "../kernel/webhook-sender";
import type { Logger } from "../logger";
import { webhookDisabledMessage, webhookDisabledReason } from "../modules/notifications/messages";
import { type ClaimedDelivery, WebhookDeliveryRepository } from "../repositories/webhook-delivery.repository";

/** What the dispatcher reports, for metrics. */
export interface WebhookObserver {
  attempt(outcome: WebhookAttempt["outcome"], seconds: number): void;
  /** A delivery reached a final status. */
  settled(status: "DELIVERED" | "FAILED"): void;
  /** From the event's commit (its delivery row's creation) to the receiver's 2xx. */
  delivered(seconds: number): void;
}

export interface DispatcherOptions extends Omit<WebhookConfig, "secretKey"> {
  box: SecretBox;
  /** How often due retries and what a crash left are looked for (default 1 s); commits are sent at once. */
  sweepMs?: number;
  /** Requests at once from this instance, all endpoints together (default 64). */
  concurrency?: number;
  /** Commits and finished attempts within this many ms share one claim (default 2). */
  batchMs?: number;
}

/** How long the organizations-with-endpoints list is trusted before it is read again. */
const ORGANIZATIONS_TTL_MS = 5_000;

/**
 * Sends webhook deliveries (issue #22). The statement that appends an event writes its
 * deliveries; this worker claims them after commit: at once when this instance committed the
 * event (a kick from the pub/sub's committed-event listener, only for organizations that have
 * enabled endpoints, so others cost nothing), and on a sweep every second for retries that came
 * due, events committed by other instances' failed kicks, and leases a crashed instance left.
 *
 * Claims are cluster-safe (SKIP LOCKED and a lease) and ordered per endpoint and chat in the SQL
 * (webhook-delivery.repository.ts); this process adds a cap on its own requests at once. An
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

  constructor(
    dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    private readonly logger: Logger,
    private readonly opts: DispatcherOptions,
  ) {
    // Its own two connections: a backlog never takes one from a request, and its statements are
    // not counted as a request's. Commits without waiting for the WAL flush: a crash may forget a
    // lease or a DELIVERED mark, and the delivery is then sent again (at least once, as promised).
    this.pool = sidePool(dataSource, {
      applicationName: "baton-webhooks",
      max: 2,
      asyncCommit: true,
      onError: (err) => this.logger.warn({ err: err.message }, "webhook deliveries: a database connection ended"),
    });
    this.repo = new WebhookDeliveryRepository(sidePoolSql(this.pool));
    this.sender = new WebhookSender({ timeoutMs: opts.timeoutSeconds * 1000, allowPrivateNetworks: opts.allowPrivateNetworks });
    // Long enough for an attempt and its recording; a crashed instance's claims are sent again after it.
    this.leaseMs = opts.timeoutSeconds * 1000 + 15_000;
  }

  start(): void {
    this.pubsub.onCommittedEvent((message) => this.kick(message.event.organizationId));
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

  private kick(organizationId: string): void {
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
          claimed = await this.repo.claim(now, new Date(now.getTime() + this.leaseMs), room, this.opts.maxInFlight, answered);
        } catch (err) {
          this.answered = answered.concat(this.answered);
          throw err;
        }
        this.settledAnswered(answered);
        for (const c of claimed) this.track(this.send(c));
        if (room > 0 && claimed.length === room) this.again = true;
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

  private async send(c: ClaimedDelivery): Promise<void> {
    const d = c.delivery;
    let attempt: WebhookAttempt;
    try {
      const body = JSON.stringify(JSON.parse(d.payload ?? "null"));
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
        return; // recorded with the next claim (track() schedules it)
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
          for (const n of told) publishNotification(this.pubsub, n);
          this.endpointsChanged();
        }
      }
    } catch (err) {
      // Not recorded: the lease runs out and the delivery is sent again (at least once).
      this.logger.error({ err: (err as Error).message, webhook: { deliveryId: d.id } }, "webhook attempt not recorded; it is sent again when its lease ends");
    }
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
