import calculateSlot from "cluster-key-slot";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { ClusterAccess } from "../config";
import type { Logger } from "../logger";
import { withTimeout } from "../kernel/time";
import { StartupError } from "../startup-error";

export type { ClusterAccess } from "../config";

/** What a channel's subscription is doing (see ShardedChannels). */
type ChannelState = "subscribing" | "live" | "lost";

interface ChannelEntry {
  state: ChannelState;
  /** The shard it is subscribed on (or being subscribed on); null while no shard takes it. */
  shard: Shard | null;
}

interface Shard {
  node: string;
  redis: Redis;
  channels: Set<string>;
  ready: boolean;
}

export interface ShardedListener {
  /** A message on a channel this instance listens to. */
  message(channel: string, raw: string): void;
  /**
   * The channel's subscription was lost (its shard's connection dropped), or it is live again
   * after being lost: either way messages may have been published that this instance never
   * heard, and whoever listens on it must be told.
   */
  gap(channel: string): void;
}

/**
 * Sharded pub/sub (Redis 7: SSUBSCRIBE, SPUBLISH) on a Redis Cluster: a shard channel lives on
 * the master that owns its slot, so this keeps one subscribing connection per master that
 * holds a channel listened to here, and knows, per channel, whether its subscription is live.
 *
 * When a master's connection drops, only the channels on it are lost (their listeners hear a
 * gap); the cluster's map is read again every `resyncMs` until each channel is subscribed
 * again, on the master back or on the replica promoted in its place, and then its listeners
 * hear a gap again (whoever listened meanwhile may have missed what was published). Other
 * shards' channels never notice.
 *
 * ioredis's own `shardedSubscribers` was not used: it does not say which channels a dropped
 * shard held, nor when a channel is subscribed again, and both decide which sockets must catch up.
 */
export class ShardedChannels {
  private readonly channels = new Map<string, ChannelEntry>();
  private readonly shards = new Map<string, Shard>();
  /** Masters whose connection failed or dropped and has not been ready since. */
  private readonly down = new Set<string>();
  private resyncTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly redisOptions: RedisOptions,
    private readonly listener: ShardedListener,
    private readonly logger: Logger,
    private readonly resyncMs = 500,
  ) {
    // A slot moved by resharding while its master stayed up: Redis unsubscribes the slot's
    // channels there without a word ioredis passes on, so the map is checked on every refresh
    // (ioredis reads it every few seconds, on MOVED, and on each resync here).
    this.onRefresh = () => this.followMoves();
    cluster.on("refresh", this.onRefresh);
  }

  private readonly onRefresh: () => void;

  /** Channels whose slot's master is no longer their shard: lost there, placed again. */
  private followMoves(): void {
    if (this.stopped) return;
    for (const [channel, entry] of this.channels) {
      const shard = entry.shard;
      if (!shard) continue;
      const owner = this.ownerOf(channel);
      if (!owner || owner === shard.node) continue;
      this.logger.info({ channel, from: shard.node, to: owner }, "a channel's slot moved to another master; its listeners are told to catch up");
      shard.channels.delete(channel);
      if (shard.ready) shard.redis.sunsubscribe(channel).catch(() => undefined);
      if (shard.channels.size === 0) this.dropShard(shard);
      entry.shard = null;
      this.lose(channel, entry);
      this.place(channel, entry);
    }
  }

  /** Subscribes to the channel (once, however many listen here). */
  add(channel: string): void {
    if (this.channels.has(channel) || this.stopped) return;
    const entry: ChannelEntry = { state: "subscribing", shard: null };
    this.channels.set(channel, entry);
    this.place(channel, entry);
  }

  remove(channel: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    this.channels.delete(channel);
    const shard = entry.shard;
    if (!shard) return;
    shard.channels.delete(channel);
    if (shard.channels.size === 0) this.dropShard(shard);
    else if (shard.ready) shard.redis.sunsubscribe(channel).catch(() => undefined);
  }

  /** Channels whose shard is down now, for /readyz. */
  lostCount(): number {
    let n = 0;
    for (const entry of this.channels.values()) if (entry.state === "lost") n++;
    return n;
  }

  /** Masters this instance found down and has not reached since (for /readyz). */
  downCount(): number {
    return this.down.size;
  }

  stop(): void {
    this.stopped = true;
    this.cluster.off("refresh", this.onRefresh);
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    for (const shard of [...this.shards.values()]) this.dropShard(shard);
    this.channels.clear();
  }

  /** The master that owns the channel's slot now, as the cluster's map says. */
  private ownerOf(channel: string): string | undefined {
    return this.cluster.slots[calculateSlot(channel)]?.[0];
  }

  private place(channel: string, entry: ChannelEntry): void {
    const node = this.ownerOf(channel);
    if (!node || this.down.has(node)) {
      // Nobody takes it now (a master down, or the map not read yet): it waits, and whoever
      // listens meanwhile is told once it is live.
      if (this.down.has(node ?? "") || this.cluster.status === "ready") this.lose(channel, entry);
      this.scheduleResync();
      return;
    }
    const shard = this.shardOf(node);
    entry.shard = shard;
    shard.channels.add(channel);
    if (shard.ready) this.subscribe(shard, channel);
  }

  private subscribe(shard: Shard, channel: string): void {
    shard.redis
      .ssubscribe(channel)
      .then(() => {
        const entry = this.channels.get(channel);
        if (!entry || entry.shard !== shard) return;
        const wasLost = entry.state === "lost";
        entry.state = "live";
        if (wasLost) this.listener.gap(channel);
      })
      .catch((err: Error) => {
        const entry = this.channels.get(channel);
        if (!entry || entry.shard !== shard) return;
        // MOVED (the slot went elsewhere) or the connection went: placed again from a fresh map.
        this.logger.debug({ channel, node: shard.node, err: err.message }, "SSUBSCRIBE failed; the channel is placed again");
        shard.channels.delete(channel);
        entry.shard = null;
        this.lose(channel, entry);
        this.scheduleResync();
      });
  }

  private shardOf(node: string): Shard {
    const existing = this.shards.get(node);
    if (existing) return existing;
    const [host, port] = splitNode(node);
    const redis = new Redis({
      ...this.redisOptions,
      host,
      port,
      lazyConnect: true,
      // This class reconnects (from a fresh map), not ioredis: a master may be gone for good.
      retryStrategy: () => null,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      connectionName: "baton-ssubscriber",
    });
    const shard: Shard = { node, redis, channels: new Set(), ready: false };
    this.shards.set(node, shard);
    redis.on("error", (err: Error) => this.logger.debug({ node, err: err.message }, "redis shard connection error"));
    redis.on("smessage", (channel: string, raw: string) => this.listener.message(channel, raw));
    redis.on("ready", () => {
      shard.ready = true;
      if (this.down.delete(node)) this.logger.info({ node }, "a Redis Cluster master is reachable again: its channels are subscribed again");
      for (const channel of shard.channels) this.subscribe(shard, channel);
    });
    redis.on("end", () => this.shardLost(shard));
    redis.connect().catch(() => undefined);
    return shard;
  }

  /** Its connection ended: each of its channels is lost, and placed again from a fresh map. */
  private shardLost(shard: Shard): void {
    if (this.shards.get(shard.node) !== shard) return;
    this.shards.delete(shard.node);
    if (!this.stopped && !this.down.has(shard.node)) {
      this.down.add(shard.node);
      this.logger.warn({ node: shard.node, channels: shard.channels.size }, "a Redis Cluster master's subscribing connection dropped: the sockets on its channels are told to catch up");
    }
    for (const channel of shard.channels) {
      const entry = this.channels.get(channel);
      if (!entry || entry.shard !== shard) continue;
      entry.shard = null;
      this.lose(channel, entry);
    }
    shard.channels.clear();
    shard.redis.removeAllListeners("ready");
    this.scheduleResync();
  }

  private lose(channel: string, entry: ChannelEntry): void {
    if (entry.state === "lost") return;
    entry.state = "lost";
    this.listener.gap(channel);
  }

  private dropShard(shard: Shard): void {
    this.shards.delete(shard.node);
    shard.redis.removeAllListeners();
    shard.redis.on("error", () => undefined);
    shard.redis.disconnect();
  }

  /** Reads the cluster's map again, then places every channel without a shard. */
  private scheduleResync(): void {
    if (this.resyncTimer || this.stopped) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      this.cluster.refreshSlotsCache(() => {
        if (this.stopped) return;
        // A master that answers its own connection again is tried again (the map may still name
        // it); one the map no longer names (a replica took its slots) is forgotten.
        const masters = new Set<string>();
        for (const owners of this.cluster.slots) if (owners?.[0]) masters.add(owners[0]);
        this.down.forEach((node) => {
          if (!masters.has(node)) this.down.delete(node);
          else if (!this.shards.has(node)) this.probe(node);
        });
        let waiting = false;
        for (const [channel, entry] of this.channels) {
          if (entry.shard) continue;
          this.place(channel, entry);
          if (!entry.shard) waiting = true;
        }
        if (waiting || this.down.size > 0) this.scheduleResync();
      });
    }, this.resyncMs);
    this.resyncTimer.unref();
  }

  /** Tries a down master's address: when it answers, it is no longer down. */
  private probe(node: string): void {
    const [host, port] = splitNode(node);
    const probe = new Redis({ ...this.redisOptions, host, port, lazyConnect: true, retryStrategy: () => null, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 500 });
    probe.on("error", () => undefined);
    probe
      .connect()
      .then(() => probe.ping())
      .then(() => {
        this.down.delete(node);
      })
      .catch(() => undefined)
      .finally(() => probe.disconnect());
  }
}

function splitNode(node: string): [string, number] {
  const at = node.lastIndexOf(":");
  return [node.slice(0, at), Number(node.slice(at + 1))];
}

/**
 * Baton on a Redis Cluster (REDIS_CLUSTER_NODES): commands (presence, rate limits, publishing)
 * through ioredis's Cluster client, which routes each by its key's slot; audiences through
 * sharded pub/sub (ShardedChannels).
 */
export class RedisClusterConnections {
  readonly commands: Cluster;
  private readonly redisOptions: RedisOptions;
  private state: "starting" | "up" | "down" = "starting";
  private sharded: ShardedChannels | null = null;

  constructor(
    private readonly access: ClusterAccess,
    private readonly logger: Logger,
  ) {
    this.redisOptions = {
      username: access.username,
      password: access.password,
      tls: access.tls ? {} : undefined,
      connectTimeout: 2_000,
    };
    this.commands = new Cluster(
      access.seeds.map((s) => ({ host: s.host, port: s.port })),
      {
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        // Not publishes: a batch to one master whose answers mix MOVED with others (a slot just
        // moved) is not redirected, and the moved channel's message would be lost.
        autoPipeliningIgnoredCommands: ["spublish"],
        clusterRetryStrategy: (times: number) => Math.min(times * 100, 1_000),
        slotsRefreshTimeout: 1_000,
        slotsRefreshInterval: 5_000,
        retryDelayOnClusterDown: 100,
        // A command for a master that is down fails within ~200 ms (a publish is remembered and
        // announced, presence and rate limits answer from this instance) instead of being tried
        // 16 times, 100 ms apart, under a mutation. Not at once: with no offline queue, a command
        // that finds a node's connection still opening is refused and must be tried again; and
        // a slot moved mid-resharding takes one or two redirections, not four.
        retryDelayOnFailover: 50,
        maxRedirections: 4,
        redisOptions: { ...this.redisOptions, maxRetriesPerRequest: 1, connectionName: "baton" },
      },
    );
    this.commands.on("error", (err: Error) => this.logger.debug({ err: err.message }, "redis cluster error"));
    this.commands.on("node error", (err: Error, node: string) => this.logger.debug({ node, err: err.message }, "redis cluster node error"));
    this.commands.on("ready", () => this.changed());
    this.commands.on("close", () => this.changed());
  }

  /** The subscriptions of this instance's audiences, one connection per master that holds one. */
  channels(listener: ShardedListener, resyncMs?: number): ShardedChannels {
    this.sharded = new ShardedChannels(this.commands, this.redisOptions, listener, this.logger, resyncMs);
    return this.sharded;
  }

  async connect(timeoutMs = 5_000): Promise<void> {
    const where = this.describe();
    try {
      await withTimeout(this.commands.connect(), timeoutMs);
      await this.commands.ping();
    } catch (err) {
      this.disconnect();
      const reason = err instanceof Error ? err.message : String(err);
      throw new StartupError(`the Redis Cluster at ${where} cannot be reached (${reason})`, "Start the cluster, fix REDIS_CLUSTER_NODES, or unset it");
    }
  }

  /** The cluster answers, no master this instance listened on is down, and no channel waits for one. */
  available(): boolean {
    return this.commands.status === "ready" && (this.sharded?.lostCount() ?? 0) === 0 && (this.sharded?.downCount() ?? 0) === 0;
  }

  describe(): string {
    return this.access.seeds.map((s) => `${s.host}:${s.port}`).join(",");
  }

  private changed(): void {
    const now = this.available();
    if (now && this.state !== "up") {
      if (this.state === "down") this.logger.info({ redisCluster: this.describe() }, "the Redis Cluster is available again");
      this.state = "up";
    } else if (!now && this.state === "up") {
      this.state = "down";
      this.logger.warn({ redisCluster: this.describe() }, "the Redis Cluster is unavailable: changes still commit; live delivery and shared presence wait for it");
    }
  }

  disconnect(): void {
    this.state = "starting";
    this.commands.disconnect();
  }
}
