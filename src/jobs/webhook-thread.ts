import { isMainThread, parentPort, workerData } from "node:worker_threads";
import type { LogLevel, WebhookConfig } from "../config";
import { sidePool } from "../db/side-pool";
import { SecretBox } from "../kernel/secret-box";
import type { WebhookAttempt } from "../kernel/webhook-sender";
import { createLogger } from "../logger";
import { type DispatcherOptions, WebhookDispatcher } from "./webhook-dispatcher";

/** What the server gives the webhook thread when it starts it. */
export interface WebhookThreadData {
  kind: "baton-webhooks";
  databaseUrl: string | undefined;
  logLevel: LogLevel;
  /** WEBHOOK_SECRET_KEY's 32 bytes (null: secrets stored as they are). */
  secretKey: Uint8Array | null;
  options: Omit<WebhookConfig, "secretKey"> & Omit<DispatcherOptions, "box" | keyof WebhookConfig>;
}

/** From the server to the thread. */
export type ToWebhookThread = { t: "committed"; organizationId: string } | { t: "endpointsChanged" } | { t: "queued" } | { t: "stop" };

/** What the metrics heard, gathered for a few milliseconds (one message rather than three per delivery). */
export interface HeardBatch {
  attempts: Array<[WebhookAttempt["outcome"], number]>;
  settled: Array<"DELIVERED" | "FAILED">;
  delivered: number[];
}

/** From the thread to the server: what the metrics hear, notifications to publish, and its stop. */
export type FromWebhookThread =
  | ({ t: "heard" } & HeardBatch)
  | { t: "notify"; notifications: Array<Record<string, unknown>> }
  | { t: "stopped" };

/** How long the thread gathers what the metrics hear before it passes it on. */
const HEARD_EVERY_MS = 50;

/**
 * The webhook dispatcher on a thread of its own (webhook-host.ts starts it): its own event loop,
 * so that a message's answer is read when it arrives, not after the API's queued work (under
 * load the server's loop took ~20 ms to come back to an answer, and each endpoint has at most
 * WEBHOOK_MAX_IN_FLIGHT requests at once); its own two database connections and logger.
 */
function runThread(data: WebhookThreadData, post: (m: FromWebhookThread) => void, on: (listener: (m: ToWebhookThread) => void) => void): void {
  const logger = createLogger(data.logLevel);
  // As on the server's main thread (main.ts): a promise nobody awaited failed; log it as the bug it
  // is rather than end the thread (whose deliveries would wait for their leases to run out).
  process.on("unhandledRejection", (err) => logger.error({ err }, "webhook thread: unhandled rejection"));
  const pool = sidePool(data.databaseUrl, {
    applicationName: "baton-webhooks",
    max: 2,
    // Commits without waiting for the WAL flush: a crash may forget a lease or a DELIVERED mark,
    // and the delivery is then sent again (at least once, as promised).
    asyncCommit: true,
    onError: (err) => logger.warn({ err: err.message }, "webhook deliveries: a database connection ended"),
  });
  const box = new SecretBox(data.secretKey ? Buffer.from(data.secretKey) : null);
  const dispatcher = new WebhookDispatcher(
    { pool, logger, notify: (notifications) => post({ t: "notify", notifications: notifications.map((n) => ({ ...n })) }) },
    { ...data.options, box },
  );
  let heard: HeardBatch | null = null;
  const flushHeard = () => {
    if (heard) post({ t: "heard", ...heard });
    heard = null;
  };
  const batch = (): HeardBatch => {
    if (!heard) {
      heard = { attempts: [], settled: [], delivered: [] };
      setTimeout(flushHeard, HEARD_EVERY_MS);
    }
    return heard;
  };
  dispatcher.observe({
    attempt: (outcome, seconds) => batch().attempts.push([outcome, seconds]),
    settled: (status) => batch().settled.push(status),
    delivered: (seconds) => batch().delivered.push(seconds),
  });
  on((m) => {
    switch (m.t) {
      case "committed":
        dispatcher.committed(m.organizationId);
        break;
      case "endpointsChanged":
        dispatcher.endpointsChanged();
        break;
      case "queued":
        dispatcher.queued();
        break;
      case "stop":
        void dispatcher.stop().finally(() => {
          flushHeard();
          logger.flush();
          post({ t: "stopped" });
        });
        break;
    }
  });
  dispatcher.start();
}

if (!isMainThread && parentPort && (workerData as WebhookThreadData | undefined)?.kind === "baton-webhooks") {
  const port = parentPort;
  runThread(
    workerData as WebhookThreadData,
    (m) => port.postMessage(m),
    (listener) => port.on("message", listener),
  );
}
