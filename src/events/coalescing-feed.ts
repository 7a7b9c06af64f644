import { Feed } from "./feed";

export interface CoalescingOptions<M, C> {
  /** At most this many live messages wait for the reader; past it, the feed keeps only what changed. */
  maxQueued: number;
  /** Past this many distinct things changed and unread, the reader is too far gone: `onOverflow`, and the feed ends. */
  maxPending: number;
  /** What the message is about (a chat's id): a newer message about it supersedes an older one. */
  keyOf(message: M): string;
  /** The little to remember of a message while coalescing (ids, not rows). */
  compact(message: M): C;
  /** The messages again, as things are now, for what was remembered (the current rows, read in one go). */
  expand(items: C[]): Promise<M[]>;
  pageSize?: number;
  onOverflow?: () => void;
  onReadFailed?: (err: unknown) => void;
  onEnd?: () => void;
}

/**
 * A live feed of *states* (a chat as it is now) that never cuts a reader who keeps reading: while
 * it keeps up it gets the messages published at commit; when it falls `maxQueued` behind (a bulk
 * move of thousands of chats), the queue is dropped and the feed remembers only *which* things
 * changed (an id and a hint each, newest hint wins), then serves them read again from the
 * database, `pageSize` at a time as fast as the reader takes them, and goes live again. A reader
 * gets every thing that changed, in its latest state (not every intermediate state). Memory is
 * bounded: `maxQueued` messages, or `maxPending` ids, beyond which the reader has stopped reading.
 */
export class CoalescingFeed<M, C> extends Feed<M> {
  private queue: M[] = [];
  private pending: Map<string, C> | null = null;
  private page: M[] = [];
  private readonly pageSize: number;

  constructor(private readonly opts: CoalescingOptions<M, C>) {
    super(opts.onEnd);
    this.pageSize = opts.pageSize ?? 100;
  }

  push(message: M): void {
    if (this.done) return;
    if (this.pending) return this.remember(message);
    if (this.readerWaiting) {
      this.handOver(message);
    } else if (this.queue.length < this.opts.maxQueued) {
      this.queue.push(message);
    } else {
      // Behind: keep which things changed (what waits included), not every message about them.
      this.pending = new Map();
      const waited = this.queue;
      this.queue = [];
      for (const m of waited) this.remember(m);
      this.remember(message);
    }
  }

  async next(): Promise<IteratorResult<M>> {
    while (!this.done) {
      const queued = this.page.shift() ?? this.queue.shift();
      if (queued !== undefined) return { value: queued, done: false };
      if (!this.pending) return this.waitForNext();
      if (this.pending.size === 0) {
        this.pending = null; // caught up: live again
        continue;
      }
      const batch: C[] = [];
      for (const [key, item] of this.pending) {
        batch.push(item);
        this.pending.delete(key);
        if (batch.length === this.pageSize) break;
      }
      try {
        this.page = await this.opts.expand(batch);
      } catch (err) {
        this.end();
        this.opts.onReadFailed?.(err);
        throw err;
      }
    }
    return { value: undefined, done: true };
  }

  private remember(message: M): void {
    const key = this.opts.keyOf(message);
    this.pending!.delete(key); // the newest goes last
    this.pending!.set(key, this.opts.compact(message));
    if (this.pending!.size > this.opts.maxPending) {
      this.end();
      this.opts.onOverflow?.();
    }
  }

  protected clear(): void {
    this.queue = [];
    this.page = [];
    this.pending = null;
  }
}
