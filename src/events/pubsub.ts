import pino from "pino";
import type { Logger } from "../logger";
import type { RedisConnections } from "./redis";
import { RedisClusterConnections, type ShardedChannels } from "./redis-cluster";
import { CatchUpFeed } from "./catch-up-feed";
import { type CoalescingOptions, CoalescingFeed } from "./coalescing-feed";
import { Feed } from "./feed";
import type { AssignmentEvent } from "../modules/assignments/assignment-event.entity";
import type { AssignmentRequest } from "../modules/assignments/assignment-request.entity";
import type { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import type { DiscussionMessage } from "../modules/discussions/discussion.entity";
import type { User } from "../modules/users/user.entity";
import type { Notification } from "../modules/notifications/notification.entity";
import type { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";

/** An event with the rows it is about, as they were at commit: subscribers resolve it without queries. */
export interface AssignmentEventMessage {
  event: AssignmentEvent;
  request: AssignmentRequest | null;
  trackingRecord: EngagementTrackingRecord;
  chat: ChatSession;
}

export interface ChatSessionMessage {
  chat: ChatSession;
  /** Who owned it before this change, so the one who lost it hears of it too. */
  previousOwnerId: string | null;
}

/**
 * Every topic, keyed by audience (`audience.user(id)` or `audience.organization(id)`), and its
 * payload. A message goes only to the audiences that may see it, so a publish reaches the few
 * subscriptions concerned instead of being filtered by every open one (with Redis, each key is
 * a channel). Payloads are JSON-safe: with Redis they cross instances as JSON.
 */
export type Topics = {
  ASSIGNMENT_EVENT: [audience: string, message: AssignmentEventMessage];
  NOTIFICATION: [audience: string, message: Notification];
  CHAT_SESSION_UPDATED: [audience: string, message: ChatSessionMessage];
  /** A user's availability changed, to everyone in their organization. */
  USER_AVAILABILITY_CHANGED: [audience: string, message: User];
  /** A message written in a discussion, to those following it. */
  DISCUSSION_MESSAGE: [audience: string, message: DiscussionMessage];
  /** A user's account changed (an admin's upsert): their open sockets react (see websocket.ts). */
  USER_CHANGED: [audience: string, message: UserChangedMessage];
};

export interface UserChangedMessage {
  userId: string;
  active: boolean;
  /** The role now: an open socket whose user's role changed re-decides what it may do and see. */
  role: string;
}


export const audience = {
  /** One user's own events, notifications and chats. */
  user: (userId: string): string => `user:${userId}`,
  /** Everything in an organization: what managers and admins follow. */
  organization: (organizationId: string): string => `org:${organizationId}`,
  /** One discussion's followers: its participants and the managers who opened it. */
  discussion: (discussionId: string): string => `discussion:${discussionId}`,
  /** Every instance's own caches (user changes). */
  instances: (): string => "instances",
};

/** Who a message goes to, as the policy decides it (policy/access.ts `audienceOf`). */
export interface Audiences {
  organizationId: string;
  userIds: readonly string[];
}

const keysOf = (to: Audiences): string[] => [audience.organization(to.organizationId), ...to.userIds.map(audience.user)];

/** To the audiences the policy gives an event (`audienceOf.event`). */
export function publishAssignmentEvent(pubsub: BatonPubSub, message: AssignmentEventMessage, to: Audiences): void {
  pubsub.committed(message);
  for (const key of keysOf(to)) pubsub.publish("ASSIGNMENT_EVENT", key, message);
}

/** To the audiences the policy gives a chat's change (`audienceOf.chat`). */
export function publishChatSessionUpdated(pubsub: BatonPubSub, message: ChatSessionMessage, to: Audiences): void {
  for (const key of keysOf(to)) pubsub.publish("CHAT_SESSION_UPDATED", key, message);
}

/**
 * To every instance (which drops the user from its cache), then to the user's own sockets: in
 * that order, so a socket that reads the user again on hearing it does not find the cached copy.
 */
export function publishUserChanged(pubsub: BatonPubSub, message: UserChangedMessage): void {
  pubsub.publish("USER_CHANGED", audience.instances(), message);
  pubsub.publish("USER_CHANGED", audience.user(message.userId), message);
}

export function publishAvailabilityChanged(pubsub: BatonPubSub, user: User): void {
  pubsub.publish("USER_AVAILABILITY_CHANGED", audience.organization(user.organizationId), user);
}

export function publishDiscussionMessage(pubsub: BatonPubSub, message: DiscussionMessage): void {
  pubsub.publish("DISCUSSION_MESSAGE", audience.discussion(message.discussionId), message);
}

export function publishNotification(pubsub: BatonPubSub, notification: Notification): void {
  pubsub.publish("NOTIFICATION", audience.user(notification.userId), notification);
}

/** Where a message goes: one channel per topic and audience. */
const channelOf = (topic: string, key: string): string => `${topic}:${key}`;

/**
 * Moves messages between publishers and the feeds listening on a channel: in this process, or
 * through Redis so that every instance hears every change.
 */
interface Transport {
  publish(channel: string, message: unknown): void;
  /** Tells every instance's sockets that events may be missing (see websocket.ts). */
  reportMissed(): void;
  /** Returns the function that stops listening. */
  listen(channel: string, listener: Listener): () => void;
  /** Closes what the transport opened itself (a cluster's subscribing connections). */
  stop?(): void;
}

/**
 * One feed's ear on a channel. `interrupted`: messages on this channel alone may have been
 * lost (a Redis Cluster shard went down or came back); transports that lose everything at once
 * say so through `BatonPubSub.onGap` instead.
 */
export interface Listener {
  deliver(message: unknown): void;
  interrupted?(): void;
}

class Listeners {
  /** A channel's one listener, or its set when it has several (most channels have one: a Set costs ~130 bytes). */
  private readonly byChannel = new Map<string, Listener | Set<Listener>>();

  /** True when this is the channel's first listener. */
  add(channel: string, listener: Listener): boolean {
    const held = this.byChannel.get(channel);
    if (held === undefined) {
      this.byChannel.set(channel, listener);
      return true;
    }
    if (held instanceof Set) held.add(listener);
    else if (held !== listener) this.byChannel.set(channel, new Set([held, listener]));
    return false;
  }

  /** True when that was the channel's last listener. */
  remove(channel: string, listener: Listener): boolean {
    const held = this.byChannel.get(channel);
    if (held === listener) {
      this.byChannel.delete(channel);
      return true;
    }
    if (!(held instanceof Set) || !held.delete(listener) || held.size > 0) return false;
    this.byChannel.delete(channel);
    return true;
  }

  deliver(channel: string, message: unknown): void {
    const held = this.byChannel.get(channel);
    if (held instanceof Set) for (const listener of held) listener.deliver(message);
    else held?.deliver(message);
  }

  /** A message as Redis carried it (JSON): parsed once for every listener on the channel. */
  deliverRaw(channel: string, raw: string, logger: Logger): void {
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      return logger.warn({ channel }, "ignored a message that is not JSON");
    }
    this.deliver(channel, message);
  }

  interrupt(channel: string): void {
    const held = this.byChannel.get(channel);
    for (const listener of held instanceof Set ? [...held] : held ? [held] : []) listener.interrupted?.();
  }

  channels(): string[] {
    return [...this.byChannel.keys()];
  }
}

class LocalTransport implements Transport {
  private readonly listeners = new Listeners();
  constructor(private readonly onMissed: () => void) {}
  reportMissed(): void {
    this.onMissed();
  }
  publish(channel: string, message: unknown): void {
    this.listeners.deliver(channel, message);
  }
  listen(channel: string, listener: Listener): () => void {
    this.listeners.add(channel, listener);
    return () => void this.listeners.remove(channel, listener);
  }
}

/** The channel on which an instance that could not publish tells the others, once Redis is back. */
const MISSED_CHANNEL = "baton:missed";

class RedisTransport implements Transport {
  private readonly listeners = new Listeners();
  /** Messages this instance could not publish since Redis last took one. */
  private dropped = 0;

  constructor(
    private readonly redis: RedisConnections,
    private readonly logger: Logger,
    private readonly onMissed: () => void,
  ) {
    redis.subscriber.on("message", (channel: string, raw: string) => {
      if (channel === MISSED_CHANNEL) return this.onMissed();
      this.listeners.deliverRaw(channel, raw, this.logger);
    });
    // Channels whose SUBSCRIBE failed during an outage are subscribed again (repeating one is harmless).
    redis.subscriber.on("ready", () => {
      const channels = [MISSED_CHANNEL, ...this.listeners.channels()];
      this.redis.subscriber.subscribe(...channels).catch(() => undefined);
    });
    redis.commands.on("ready", () => this.reportDropped());
  }

  publish(channel: string, message: unknown): void {
    if (this.redis.commands.status !== "ready") {
      this.dropped++;
      return;
    }
    this.redis.commands.publish(channel, JSON.stringify(message)).catch(() => this.dropped++);
  }

  listen(channel: string, listener: Listener): () => void {
    if (this.listeners.add(channel, listener)) this.redis.subscriber.subscribe(channel).catch(() => undefined);
    return () => {
      if (this.listeners.remove(channel, listener)) this.redis.subscriber.unsubscribe(channel).catch(() => undefined);
    };
  }

  reportMissed(): void {
    this.dropped++;
    if (this.redis.commands.status === "ready") this.reportDropped();
  }

  /** Lost publishes are announced to every instance (this one too), whose sockets then catch up. */
  private reportDropped(): void {
    if (this.dropped === 0) return;
    const count = this.dropped;
    this.dropped = 0;
    this.logger.warn({ count }, "events could not be published; every instance's sockets are told to catch up");
    this.redis.commands.publish(MISSED_CHANNEL, "").catch(() => (this.dropped += count));
  }
}

/**
 * Through a Redis Cluster's sharded pub/sub: each audience's channel lives on one shard, so a
 * shard that goes down costs only the listeners of its channels (told one by one, `interrupted`),
 * never every socket. A publish that fails is remembered per channel and announced on that
 * channel once it takes messages again (an empty message: "you may have missed some").
 */
/**
 * A channel's name on a Redis Cluster: its audience is the hash tag (`ASSIGNMENT_EVENT:{user:…}`),
 * so every channel of one user (events, notifications, changes to the user) lives on one shard
 * and a shard that goes down interrupts the sockets of the users it holds, no others. (One
 * Redis keeps the plain names, which instances of earlier versions publish and listen on.)
 */
const shardChannel = (channel: string): string => {
  const at = channel.indexOf(":");
  return at < 0 ? `{${channel}}` : `${channel.slice(0, at)}:{${channel.slice(at + 1)}}`;
};

class ClusterTransport implements Transport {
  private readonly listeners = new Listeners();
  private readonly channels: ShardedChannels;
  /** Channels whose publishes failed, to announce the loss on once their shard answers. */
  private readonly dropped = new Set<string>();
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: RedisClusterConnections,
    private readonly logger: Logger,
    private readonly onMissed: () => void,
  ) {
    this.channels = redis.channels({
      message: (channel, raw) => {
        if (channel === shardChannel(MISSED_CHANNEL)) return this.onMissed();
        if (raw === "") return this.listeners.interrupt(channel);
        this.listeners.deliverRaw(channel, raw, this.logger);
      },
      gap: (channel) => this.listeners.interrupt(channel),
    });
    this.channels.add(shardChannel(MISSED_CHANNEL));
  }

  publish(channel: string, message: unknown): void {
    this.send(shardChannel(channel), JSON.stringify(message));
  }

  private send(channel: string, raw: string): void {
    this.redis.commands.spublish(channel, raw).catch(() => {
      this.dropped.add(channel);
      this.retryDropped();
    });
  }

  listen(name: string, listener: Listener): () => void {
    const channel = shardChannel(name);
    this.listeners.add(channel, listener);
    this.channels.add(channel);
    return () => {
      if (this.listeners.remove(channel, listener)) this.channels.remove(channel);
    };
  }

  reportMissed(): void {
    this.dropped.add(shardChannel(MISSED_CHANNEL));
    this.retryDropped();
  }

  /** Once a second, each channel that lost a publish is told so, until its shard takes it. */
  private retryDropped(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const channels = [...this.dropped];
      this.dropped.clear();
      if (channels.length > 0) this.logger.warn({ channels: channels.length }, "events could not be published on some shards; their listeners are told to catch up");
      for (const channel of channels) this.send(channel, "");
    }, 1_000);
    this.retryTimer.unref();
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.channels.stop();
  }
}

/**
 * A subscription's queue of messages not yet taken by its reader, bounded: a reader that falls
 * `maxQueued` behind (a socket that stops reading) ends its feed and hears `onOverflow`,
 * instead of growing memory without bound.
 */
export class BoundedFeed<T> extends Feed<T> {
  private queue: T[] = [];

  constructor(
    private readonly maxQueued: number,
    private readonly onOverflow: () => void,
    onEnd?: () => void,
  ) {
    super(onEnd);
  }

  push(value: T): void {
    if (this.done) return;
    if (this.readerWaiting) {
      this.handOver(value);
    } else if (this.queue.length >= this.maxQueued) {
      this.end();
      this.onOverflow();
    } else {
      this.queue.push(value);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift() as T, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return this.waitForNext();
  }

  protected clear(): void {
    this.queue = [];
  }
}

export interface FeedOptions {
  /** Called when the reader fell too far behind and the feed ended (the socket must be told). */
  onOverflow?: () => void;
  /**
   * Called when messages on this feed's channel alone may have been lost (on a Redis Cluster,
   * its shard went down or came back); the feed goes on, and its socket must be told.
   */
  onInterrupted?: () => void;
}

/** What delivery across instances can lose, for the sockets to be closed and catch up (websocket.ts). */
export type DeliveryGap = "interrupted" | "resumed" | "missed";

/** Typed topics over a transport; every feed is bounded. */
export class BatonPubSub {
  private readonly gapListeners = new Set<(gap: DeliveryGap) => void>();
  private readonly eventListeners = new Set<(message: AssignmentEventMessage) => void>();
  private readonly transport: Transport;

  constructor(
    redis: RedisConnections | RedisClusterConnections | undefined,
    private readonly logger: Logger,
    private readonly maxQueued = 1_000,
  ) {
    if (redis instanceof RedisClusterConnections) {
      this.transport = new ClusterTransport(redis, logger, () => this.gap("missed"));
    } else if (redis) {
      this.transport = new RedisTransport(redis, logger, () => this.gap("missed"));
      redis.on("interrupted", () => this.gap("interrupted"));
      redis.on("resumed", () => this.gap("resumed"));
    } else {
      this.transport = new LocalTransport(() => this.gap("missed"));
    }
  }

  publish<K extends keyof Topics>(topic: K, key: Topics[K][0], message: Topics[K][1]): void {
    try {
      this.transport.publish(channelOf(topic, key), message);
    } catch (err) {
      // A publish happens after commit: it must never turn a committed change into an error.
      this.logger.error({ err, topic }, "publish failed");
    }
  }

  subscribe<K extends keyof Topics>(topic: K, key: Topics[K][0], opts: FeedOptions = {}): BoundedFeed<Topics[K][1]> {
    return this.attach(topic, key, (onEnd) =>
      new BoundedFeed<Topics[K][1]>(
        this.maxQueued,
        () => {
          this.logger.warn({ topic, maxQueued: this.maxQueued }, "a subscriber fell too far behind; its feed ended");
          opts.onOverflow?.();
        },
        onEnd,
      ),
      opts.onInterrupted,
    );
  }

  /**
   * A feed of assignment events that falls back to the event table instead of overflowing: a
   * reader that keeps reading gets every event however many arrive at once (see CatchUpFeed).
   */
  subscribeSequenced<E extends { sequence: string }>(
    key: Topics["ASSIGNMENT_EVENT"][0],
    readAfter: (after: string, first: number) => Promise<E[]>,
    opts: { onReadFailed?: (err: unknown) => void; startAfter?: string; onInterrupted?: () => void } = {},
  ): CatchUpFeed<AssignmentEventMessage, E> {
    return this.attach(
      "ASSIGNMENT_EVENT",
      key,
      (onEnd) => new CatchUpFeed<AssignmentEventMessage, E>({ maxQueued: this.maxQueued, readAfter, onReadFailed: opts.onReadFailed, onEnd, startAfter: opts.startAfter }),
      opts.onInterrupted,
    );
  }

  /**
   * A feed of states (a chat as it is now) that, when its reader falls behind, keeps only which
   * things changed and serves them read again, instead of cutting the reader (see CoalescingFeed).
   */
  subscribeCoalescing<K extends keyof Topics, C>(
    topic: K,
    key: Topics[K][0],
    opts: Omit<CoalescingOptions<Topics[K][1], C>, "maxQueued" | "maxPending" | "onEnd"> & { onInterrupted?: () => void },
  ): CoalescingFeed<Topics[K][1], C> {
    const { onInterrupted, ...feedOptions } = opts;
    return this.attach(
      topic,
      key,
      (onEnd) => new CoalescingFeed<Topics[K][1], C>({ ...feedOptions, maxQueued: this.maxQueued, maxPending: this.maxQueued * 100, onEnd }),
      onInterrupted,
    );
  }

  /**
   * A plain listener on the topic's channel for `key`, without a feed: for what must hear a
   * message as it arrives and holds nothing while idle (each socket's watch on its own account).
   * Returns the function that stops listening.
   */
  listen<K extends keyof Topics>(topic: K, key: Topics[K][0], listener: { deliver(message: Topics[K][1]): void; interrupted?(): void }): () => void {
    // The listener itself, not a wrapper: ten thousand sockets hold two or three each.
    return this.transport.listen(channelOf(topic, key), listener);
  }

  /** A feed listening on the topic's channel for `key`, which stops listening when it ends. */
  private attach<K extends keyof Topics, F extends { push(message: Topics[K][1]): void }>(
    topic: K,
    key: Topics[K][0],
    make: (onEnd: () => void) => F,
    interrupted?: () => void,
  ): F {
    let stop = () => {};
    const feed = make(() => stop());
    stop = this.transport.listen(channelOf(topic, key), { deliver: (message) => feed.push(message as Topics[K][1]), interrupted });
    return feed;
  }

  /**
   * A committed change could not be published (its after-commit step failed): every socket that
   * may have wanted it is closed (4503) to catch up, on every instance.
   */
  reportMissed(): void {
    this.transport.reportMissed();
  }

  /** Closes the transport's own connections (the app stops). */
  stop(): void {
    this.transport.stop?.();
  }

  /** Listeners on every committed assignment event, once each, on the instance that committed it (metrics). */
  onCommittedEvent(listener: (message: AssignmentEventMessage) => void): void {
    this.eventListeners.add(listener);
  }

  committed(message: AssignmentEventMessage): void {
    for (const listener of this.eventListeners) {
      try {
        listener(message);
      } catch (err) {
        this.logger.error({ err }, "an event listener failed");
      }
    }
  }

  /** Hears when live delivery may have lost messages. */
  onGap(listener: (gap: DeliveryGap) => void): void {
    this.gapListeners.add(listener);
  }

  private gap(gap: DeliveryGap): void {
    for (const listener of this.gapListeners) listener(gap);
  }
}

/** In-process, or through Redis pub/sub so that every instance hears every change. */
export function createBatonPubSub(opts: { redis?: RedisConnections | RedisClusterConnections; logger?: Logger; maxQueued?: number } = {}): BatonPubSub {
  return new BatonPubSub(opts.redis, opts.logger ?? silentLogger, opts.maxQueued);
}

const silentLogger = pino({ level: "silent" });
