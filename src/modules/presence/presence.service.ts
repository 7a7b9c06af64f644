import { Cluster, type Redis } from "ioredis";
import { withTimeout } from "../../kernel/time";

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
const READ_TIMEOUT_MS = 500;

export class RedisPresence implements Presence {
  private readonly local = new Map<string, string>(); // connectionId -> userId
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly ttlMs = 30_000,
    heartbeatMs = 10_000,
  ) {
    this.timer = setInterval(() => void this.renew(), heartbeatMs);
    this.timer.unref();
  }

  /**
   * Many users' keys at once: one pipeline on one Redis; on a cluster, where keys live on
   * different masters, each command on its own (ioredis's auto-pipelining batches them per master).
   */
  private async batch<T>(commands: Array<[name: "zadd" | "pexpire" | "zrem" | "zcount", ...args: Array<string | number>]>): Promise<Array<T | null>> {
    if (this.redis instanceof Cluster) {
      const cluster = this.redis as unknown as Record<string, (...args: Array<string | number>) => Promise<T>>;
      return Promise.all(commands.map(([name, ...args]) => cluster[name](...args).catch(() => null)));
    }
    const pipeline = this.redis.pipeline(commands);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => (err ? null : (value as T)));
  }

  private async renew(): Promise<void> {
    if (this.local.size === 0) return;
    const until = Date.now() + this.ttlMs;
    const commands: Parameters<RedisPresence["batch"]>[0] = [];
    for (const [connectionId, userId] of this.local) commands.push(["zadd", KEY(userId), until, connectionId], ["pexpire", KEY(userId), this.ttlMs * 2]);
    await this.batch(commands).catch(() => undefined);
  }

  async connected(userId: string, connectionId: string): Promise<void> {
    this.local.set(connectionId, userId);
    // One key: a transaction on one master, cluster or not.
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
    try {
      if (this.redis.status !== "ready") throw new Error("Redis is not connected");
      // A slow Redis never holds a query long: past READ_TIMEOUT_MS, what this instance knows.
      const counts = await withTimeout(this.batch<number>(userIds.map((id) => ["zcount", KEY(id), now, "+inf"])), READ_TIMEOUT_MS);
      // A key whose master is down (a cluster's shard): what this instance knows of that user.
      const here = counts.some((c) => c === null) ? new Set(this.local.values()) : null;
      return new Set(userIds.filter((id, i) => (counts[i] === null ? here!.has(id) : Number(counts[i]) > 0)));
    } catch {
      // Redis is down: what this instance knows (its own sockets) rather than an error.
      const here = new Set(this.local.values());
      return new Set(userIds.filter((id) => here.has(id)));
    }
  }

  /** This instance's sockets go offline now, not after their lease. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const commands: Parameters<RedisPresence["batch"]>[0] = [];
    for (const [connectionId, userId] of this.local) commands.push(["zrem", KEY(userId), connectionId]);
    this.local.clear();
    if (commands.length > 0) await this.batch(commands).catch(() => undefined);
  }
}
