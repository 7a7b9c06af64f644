import type { Redis } from "ioredis";

/** Who has an open, authenticated socket. */
export interface Presence {
  connected(userId: string, connectionId: string): Promise<void>;
  disconnected(userId: string, connectionId: string): Promise<void>;
  onlineUserIds(userIds: readonly string[]): Promise<Set<string>>;
  stop(): Promise<void>;
}

/** One instance: a count of sockets per user, in memory. */
export class LocalPresence implements Presence {
  private readonly sockets = new Map<string, Set<string>>();

  async connected(userId: string, connectionId: string): Promise<void> {
    const set = this.sockets.get(userId) ?? new Set<string>();
    set.add(connectionId);
    this.sockets.set(userId, set);
  }

  async disconnected(userId: string, connectionId: string): Promise<void> {
    const set = this.sockets.get(userId);
    set?.delete(connectionId);
    if (set?.size === 0) this.sockets.delete(userId);
  }

  async onlineUserIds(userIds: readonly string[]): Promise<Set<string>> {
    return new Set(userIds.filter((id) => this.sockets.has(id)));
  }

  async stop(): Promise<void> {
    this.sockets.clear();
  }
}

const KEY = (userId: string) => `baton:presence:${userId}`;

/**
 * Shared by every instance: a sorted set per user of connection ids scored by when they lapse.
 * Each instance renews its own connections every `heartbeatMs`; a crashed instance's connections
 * simply lapse after `ttlMs`, so its users go offline without anyone cleaning up.
 */
export class RedisPresence implements Presence {
  private readonly local = new Map<string, string>(); // connectionId -> userId
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly ttlMs = 30_000,
    heartbeatMs = 10_000,
  ) {
    this.timer = setInterval(() => void this.renew(), heartbeatMs);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.local.size === 0) return;
    const until = Date.now() + this.ttlMs;
    const batch = this.redis.multi();
    for (const [connectionId, userId] of this.local) {
      batch.zadd(KEY(userId), until, connectionId);
      batch.pexpire(KEY(userId), this.ttlMs * 2);
    }
    await batch.exec().catch(() => undefined);
  }

  async connected(userId: string, connectionId: string): Promise<void> {
    this.local.set(connectionId, userId);
    await this.redis
      .multi()
      .zadd(KEY(userId), Date.now() + this.ttlMs, connectionId)
      .pexpire(KEY(userId), this.ttlMs * 2)
      .exec();
  }

  async disconnected(userId: string, connectionId: string): Promise<void> {
    this.local.delete(connectionId);
    await this.redis.zrem(KEY(userId), connectionId);
  }

  async onlineUserIds(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const now = Date.now();
    const batch = this.redis.pipeline();
    for (const id of userIds) batch.zcount(KEY(id), now, "+inf");
    try {
      const results = (await batch.exec()) ?? [];
      return new Set(userIds.filter((_, i) => Number(results[i]?.[1] ?? 0) > 0));
    } catch {
      // Redis is down: what this instance knows (its own sockets) rather than an error.
      const here = new Set(this.local.values());
      return new Set(userIds.filter((id) => here.has(id)));
    }
  }

  /** This instance's sockets go offline now, not after their lease. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const batch = this.redis.multi();
    for (const [connectionId, userId] of this.local) batch.zrem(KEY(userId), connectionId);
    this.local.clear();
    await batch.exec().catch(() => undefined);
  }
}
