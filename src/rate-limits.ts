import type { Cluster, Redis } from "ioredis";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from "rate-limiter-flexible";
import { BatonError, ErrorCode } from "./errors";
import type { Logger } from "./logger";

export interface RateLimitSettings {
  /** Operations per minute per user; 0: off. */
  perUserPerMinute: number;
  /** Operations per minute per client IP; 0: off. */
  perIpPerMinute: number;
}

export const rateLimited = (retryAfterSeconds: number): BatonError =>
  new BatonError(ErrorCode.RATE_LIMITED, `Too many requests: retry in ${retryAfterSeconds} s`, { retryAfterSeconds });

/**
 * Per-user and per-IP budgets of operations per minute (rate-limiter-flexible). With Redis the
 * budgets are shared by every instance; while Redis is down each instance falls back to a budget
 * of its own in memory (`insuranceLimiter`) rather than refusing everyone or no one.
 */
const STORE_TIMEOUT_MS = 250;

export class RateLimits {
  private readonly byUser: RateLimiterAbstract | null;
  private readonly byIp: RateLimiterAbstract | null;

  constructor(
    settings: RateLimitSettings,
    redis: Redis | Cluster | undefined,
    private readonly logger: Logger,
  ) {
    const make = (points: number, keyPrefix: string): RateLimiterAbstract | null => {
      if (points <= 0) return null;
      const memory = new RateLimiterMemory({ points, duration: 60, keyPrefix });
      if (!redis) return memory;
      // A Redis (or a cluster's shard) that does not answer within STORE_TIMEOUT_MS: this
      // instance's own count decides, rather than holding the operation.
      const shared = new RateLimiterRedis({ storeClient: redis, points, duration: 60, keyPrefix: `baton:${keyPrefix}` });
      return new RLWrapperTimeouts({ limiter: shared, timeoutMs: STORE_TIMEOUT_MS, insuranceLimiter: memory });
    };
    this.byUser = make(settings.perUserPerMinute, "rl-user");
    this.byIp = make(settings.perIpPerMinute, "rl-ip");
  }

  /** Takes one operation from the user's budget; throws RATE_LIMITED when it is spent. */
  async user(userId: string): Promise<void> {
    await this.take(this.byUser, userId);
  }

  /** Takes one operation from the IP's budget; throws RATE_LIMITED when it is spent. */
  async ip(address: string | undefined): Promise<void> {
    await this.take(this.byIp, address ?? "unknown");
  }

  private async take(limiter: RateLimiterAbstract | null, key: string): Promise<void> {
    if (!limiter) return;
    try {
      await limiter.consume(key);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw rateLimited(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
      // The store failed and had no fallback: let the operation through rather than fail it.
      this.logger.warn({ err: res }, "rate limit store failed; operation allowed");
    }
  }
}
