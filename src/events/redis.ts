import { Redis } from "ioredis";
import type { Logger } from "../logger";
import { withTimeout } from "../kernel/time";
import { StartupError } from "../startup-error";

/**
 * Baton's two Redis connections (commands and publishing; subscribing), and whether they are up.
 *
 * Redis is a dependency, not a single point of failure: every command fails fast while it is
 * down (no offline queue that grows, no retries that end in an unhandled rejection), callers
 * degrade (events are not delivered live; presence is this instance's only), an outage and its
 * end are each logged once, and the clients reconnect by themselves within a second of Redis
 * returning. Listeners hear when the subscribing connection was down: events published meanwhile
 * never reach this instance, and its sockets must be told (see websocket.ts).
 */
export class RedisConnections {
  readonly commands: Redis;
  readonly subscriber: Redis;
  private state: "starting" | "up" | "down" = "starting";
  private subscriberReady = false;
  private subscriberInterrupted = false;
  private readonly listeners = { interrupted: new Set<() => void>(), resumed: new Set<() => void>() };

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {
    const options = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Reconnect every second at most: delivery resumes within a second or two of Redis returning.
      retryStrategy: (times: number) => Math.min(times * 100, 1_000),
      connectTimeout: 2_000,
    };
    this.commands = new Redis(url, { ...options, connectionName: "baton" });
    this.subscriber = new Redis(url, { ...options, connectionName: "baton-subscriber" });
    for (const client of [this.commands, this.subscriber]) {
      // Without a listener ioredis prints "[ioredis] Unhandled error event" several times a second.
      client.on("error", (err: Error) => this.logger.debug({ err: err.message }, "redis connection error"));
      client.on("ready", () => this.changed());
      client.on("close", () => this.changed());
    }
    // `close` repeats with every failed reconnect attempt: tell listeners once per outage.
    this.subscriber.on("ready", () => {
      this.subscriberReady = true;
      if (!this.subscriberInterrupted) return;
      this.subscriberInterrupted = false;
      for (const fn of this.listeners.resumed) fn();
    });
    this.subscriber.on("close", () => {
      if (!this.subscriberReady) return;
      this.subscriberReady = false;
      this.subscriberInterrupted = true;
      for (const fn of this.listeners.interrupted) fn();
    });
  }

  /** Connects both clients, or fails with a StartupError naming the cause. */
  async connect(timeoutMs = 5_000): Promise<void> {
    const where = redactedUrl(this.url);
    try {
      await withTimeout(Promise.all([this.commands.connect(), this.subscriber.connect()]), timeoutMs);
      await this.commands.ping();
    } catch (err) {
      this.disconnect();
      const reason = err instanceof Error ? err.message : String(err);
      throw new StartupError(`Redis at ${where} cannot be reached (${reason})`, "Start Redis, fix REDIS_URL, or unset REDIS_URL to run a single instance without it");
    }
  }

  available(): boolean {
    return this.commands.status === "ready" && this.subscriber.status === "ready";
  }

  /** The subscribing connection dropped (`interrupted`) or came back (`resumed`). */
  on(event: "interrupted" | "resumed", fn: () => void): void {
    this.listeners[event].add(fn);
  }

  /** Logs each outage once when it starts and once when it ends. */
  private changed(): void {
    const now = this.available();
    if (now && this.state !== "up") {
      if (this.state === "down") this.logger.info({ redis: redactedUrl(this.url) }, "Redis is available again: live delivery resumes");
      this.state = "up";
    } else if (!now && this.state === "up") {
      this.state = "down";
      this.logger.warn({ redis: redactedUrl(this.url) }, "Redis is unavailable: changes still commit; live delivery and shared presence wait for it");
    }
  }

  disconnect(): void {
    // A deliberate close is no outage: nothing logged, no listener told.
    this.state = "starting";
    this.subscriberReady = false;
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}
