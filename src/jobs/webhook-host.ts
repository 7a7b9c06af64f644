import { existsSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { DataSource } from "typeorm";
import type { LogLevel, WebhookConfig } from "../config";
import { databaseUrlOf } from "../db/data-source";
import { sidePool } from "../db/side-pool";
import { poolSql } from "../db/sql";
import { type BatonPubSub, publishNotification } from "../events/pubsub";
import type { SecretBox } from "../kernel/secret-box";
import type { Logger } from "../logger";
import { Notification } from "../modules/notifications/notification.entity";
import { WebhookDeliveryRepository } from "../repositories/webhook-delivery.repository";
import { WebhookDispatcher, type WebhookObserver } from "./webhook-dispatcher";
import type { FromWebhookThread, ToWebhookThread, WebhookThreadData } from "./webhook-thread";

/** The compiled thread's file; absent when the server runs from its TypeScript sources (tests). */
const THREAD_FILE = path.join(__dirname, "webhook-thread.js");
/** How long a stop waits for the thread's attempts in flight to end and be recorded. */
const STOP_GRACE_MS = 30_000;
/** A thread that died is started again after this long (its claims' leases run out meanwhile). */
const RESTART_MS = 1_000;

/**
 * Runs the webhook dispatcher (webhook-dispatcher.ts) for the server: on a thread of its own when
 * the server runs compiled (`npm start`, production), in the server's own event loop when it runs
 * from its TypeScript sources (the test suites that start the app in their process). Either way
 * it is told of every event this instance commits, of endpoints changed and redeliveries queued;
 * it passes the attempts' outcomes to the metrics and publishes the notifications it writes. A
 * thread that fails is logged and started again: nothing is lost, the deliveries it held are
 * claimed again when their leases run out.
 */
export class WebhookDispatcherHost {
  private worker: Worker | null = null;
  private local: WebhookDispatcher | null = null;
  private readonly observers = new Set<WebhookObserver>();
  private readonly repo: WebhookDeliveryRepository;
  private stopping = false;
  private restart: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    private readonly logger: Logger,
    private readonly config: WebhookConfig,
    private readonly box: SecretBox,
    /** false: always in this event loop. */
    private readonly thread = true,
  ) {
    this.repo = new WebhookDeliveryRepository(poolSql(dataSource));
  }

  start(): void {
    this.pubsub.onCommittedEvent((message) => this.tell({ t: "committed", organizationId: message.event.organizationId }));
    this.launch();
  }

  /** Hears every attempt and outcome (metrics). */
  observe(observer: WebhookObserver): void {
    this.observers.add(observer);
  }

  /** An endpoint was created, changed or removed here: the next events of its organization are sent at once. */
  endpointsChanged(): void {
    this.tell({ t: "endpointsChanged" });
  }

  /** Deliveries queued (a redelivery): send them now rather than at the next sweep. */
  queued(): void {
    this.tell({ t: "queued" });
  }

  /** Pending deliveries per endpoint id (the queue-depth gauge), read on the server's pool. */
  queueDepth(): Promise<Map<string, number>> {
    return this.repo.queueDepth();
  }

  /** Whether the dispatcher runs on a thread of its own. */
  get threaded(): boolean {
    return this.worker !== null;
  }

  private launch(): void {
    if (this.thread && __filename.endsWith(".js") && existsSync(THREAD_FILE)) this.launchThread();
    else this.launchLocal();
  }

  private launchLocal(): void {
    const pool = sidePool(databaseUrlOf(this.dataSource), {
      applicationName: "baton-webhooks",
      max: 2,
      asyncCommit: true,
      onError: (err) => this.logger.warn({ err: err.message }, "webhook deliveries: a database connection ended"),
    });
    const { secretKey: _key, ...options } = this.config;
    this.local = new WebhookDispatcher({ pool, logger: this.logger, notify: (ns) => this.publish(ns) }, { ...options, box: this.box });
    this.local.observe({
      attempt: (outcome, seconds) => this.heard({ t: "heard", attempts: [[outcome, seconds]], settled: [], delivered: [] }),
      settled: (status) => this.heard({ t: "heard", attempts: [], settled: [status], delivered: [] }),
      delivered: (seconds) => this.heard({ t: "heard", attempts: [], settled: [], delivered: [seconds] }),
    });
    this.local.start();
  }

  private launchThread(): void {
    const { secretKey, ...options } = this.config;
    const data: WebhookThreadData = {
      kind: "baton-webhooks",
      databaseUrl: databaseUrlOf(this.dataSource),
      logLevel: this.logger.level as LogLevel,
      secretKey: secretKey ? new Uint8Array(secretKey) : null,
      options,
    };
    const worker = new Worker(THREAD_FILE, { workerData: data, stdout: false, stderr: false });
    worker.on("message", (m: FromWebhookThread) => this.heard(m));
    worker.on("error", (err) => this.logger.error({ err }, "webhook thread failed; it is started again, and what it held is sent again when its leases end"));
    worker.on("exit", (code) => {
      if (this.worker === worker) this.worker = null;
      if (this.stopping) return;
      this.logger.error({ code }, "webhook thread ended; starting it again");
      this.restart = setTimeout(() => {
        this.restart = null;
        if (!this.stopping) this.launchThread();
      }, RESTART_MS);
      this.restart.unref();
    });
    this.worker = worker;
  }

  private tell(m: ToWebhookThread): void {
    if (this.worker) {
      this.worker.postMessage(m);
      return;
    }
    if (!this.local) return;
    if (m.t === "committed") this.local.committed(m.organizationId);
    else if (m.t === "endpointsChanged") this.local.endpointsChanged();
    else if (m.t === "queued") this.local.queued();
  }

  private heard(m: FromWebhookThread): void {
    switch (m.t) {
      case "heard":
        for (const o of this.observers) {
          for (const [outcome, seconds] of m.attempts) o.attempt(outcome, seconds);
          for (const status of m.settled) o.settled(status);
          for (const seconds of m.delivered) o.delivered(seconds);
        }
        break;
      case "notify":
        this.publish(m.notifications.map((n) => Object.assign(new Notification(), n)));
        break;
      case "stopped":
        break;
    }
  }

  private publish(notifications: Notification[]): void {
    for (const n of notifications) publishNotification(this.pubsub, n);
  }

  /** Stops claiming; attempts in flight end (each within the timeout) and are recorded. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restart) clearTimeout(this.restart);
    if (this.local) await this.local.stop();
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_GRACE_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      worker.on("message", (m: FromWebhookThread) => m.t === "stopped" && done());
      worker.once("exit", done);
      worker.postMessage({ t: "stop" } satisfies ToWebhookThread);
    });
    await worker.terminate();
    this.worker = null;
  }
}
