import { Feed } from "./feed";

/** An item of a sequenced feed: what the event table can serve again. */
export interface Sequenced {
  event: { sequence: string };
}

/** An event read back from the table (not the message published at commit). */
export interface Stored<E> {
  event: E;
  stored: true;
}

export interface CatchUpOptions<E> {
  /** At most this many live messages wait for the reader; past it, the feed reads the table instead. */
  maxQueued: number;
  /** The events after `after` (a sequence), in order, at most `first`: exactly what the live feed would have carried. */
  readAfter(after: string, first: number): Promise<E[]>;
  pageSize?: number;
  /** The table could not be read (the database is away): the socket must be told to catch up itself. */
  onReadFailed?: (err: unknown) => void;
  /** Called once when the feed ends (stop listening). */
  onEnd?: () => void;
  /**
   * Start from the table after this sequence, then go live (a subscription that moved to another
   * class on a change of role resumes where it was: graphql/multiplex.ts).
   */
  startAfter?: string;
}

type Result<M, E> = IteratorResult<M | Stored<E>>;

/**
 * A live feed of sequenced events that never drops one and never grows without bound: while the
 * reader keeps up it gets the messages published at commit; when it falls `maxQueued` behind
 * (a bulk move of thousands of chats) the queue is dropped and the feed reads the event table
 * by sequence from the last event delivered, page by page, as fast as the reader takes them,
 * then goes live again. The hand-over is gap-free: live messages keep being collected while a
 * page is read, and the feed goes live only after a short page read while none of them was lost;
 * anything both read and heard is delivered once (by sequence). A reader that stops reading
 * stops the reads: what it costs is one page and at most `maxQueued` messages.
 */
export class CatchUpFeed<M extends Sequenced, E extends { sequence: string }> extends Feed<M | Stored<E>> {
  private queue: M[] = [];
  private catchingUp = false;
  /** Live messages were dropped since the current page read started: read again before going live. */
  private tailLost = false;
  private page: E[] = [];
  private goLiveAfterPage = false;
  /** The highest sequence delivered (or, before any, the one just before the first not delivered). */
  private last: bigint | null = null;
  /**
   * The sequences delivered lately. Events commit in sequence order (the organization's lock), but
   * two commits' messages can be published the other way round (each after its own commit, or from
   * two instances): a live message below `last` that was never delivered is delivered late rather
   * than dropped; one that was (read from the table, or heard twice) is not delivered again.
   */
  private readonly delivered = new Set<bigint>();
  /**
   * The same sequences in the order delivered, a ring of `remembered` entries: the oldest is
   * forgotten when it is full. It grows as events are delivered (most feeds deliver a few: a
   * ring allocated whole cost every idle subscription 32 kB).
   */
  private readonly deliveredOrder: bigint[] = [];
  private readonly remembered: number;
  private oldest = 0;
  /** Nothing at or below this was ever this feed's to deliver (it resumed after it). */
  private floor: bigint | null = null;
  private readonly pageSize: number;

  constructor(private readonly opts: CatchUpOptions<E>) {
    super(opts.onEnd);
    this.pageSize = opts.pageSize ?? 100;
    this.remembered = Math.max(4_096, 2 * (opts.maxQueued + this.pageSize));
    if (opts.startAfter !== undefined) {
      this.catchingUp = true;
      this.last = this.floor = BigInt(opts.startAfter);
      this.tailLost = true;
    }
  }

  /** Whether the feed is reading the table now (for tests and metrics). */
  get catchingUpNow(): boolean {
    return this.catchingUp;
  }

  /** Whether `sequence` is new to this feed's reader; if so it counts as delivered from now on. */
  private take(sequence: bigint): boolean {
    if (this.delivered.has(sequence) || (this.floor !== null && sequence <= this.floor)) return false;
    if (this.deliveredOrder.length < this.remembered) {
      this.deliveredOrder.push(sequence);
    } else {
      this.delivered.delete(this.deliveredOrder[this.oldest]);
      this.deliveredOrder[this.oldest] = sequence;
      this.oldest = (this.oldest + 1) % this.remembered;
    }
    this.delivered.add(sequence);
    if (this.last === null || sequence > this.last) this.last = sequence;
    return true;
  }

  push(message: M): void {
    if (this.done) return;
    if (this.readerWaiting && !this.catchingUp) {
      if (this.take(BigInt(message.event.sequence))) this.handOver(message);
      return;
    }
    if (this.queue.length < this.opts.maxQueued) {
      this.queue.push(message);
      return;
    }
    if (!this.catchingUp) {
      this.catchingUp = true;
      this.page = [];
      this.goLiveAfterPage = false;
      this.last ??= BigInt(this.queue[0].event.sequence) - 1n;
    }
    // The table has them all: drop what waits, remember that the tail is incomplete.
    this.queue = [];
    this.tailLost = true;
  }

  async next(): Promise<Result<M, E>> {
    while (!this.done) {
      if (!this.catchingUp) {
        const message = this.queue.shift();
        if (message === undefined) return this.waitForNext();
        if (!this.take(BigInt(message.event.sequence))) continue; // read from the table already, or heard twice
        return { value: message, done: false };
      }
      if (this.page.length === 0) {
        if (this.goLiveAfterPage) {
          this.catchingUp = false;
          continue;
        }
        this.tailLost = false;
        let rows: E[];
        try {
          rows = await this.opts.readAfter(String(this.last ?? 0n), this.pageSize);
        } catch (err) {
          this.end();
          this.opts.onReadFailed?.(err);
          throw err;
        }
        this.page = rows;
        // A short page read while no live message was lost: everything after it is in the queue.
        this.goLiveAfterPage = rows.length < this.pageSize && !this.tailLost;
        continue;
      }
      const event = this.page.shift()!;
      if (!this.take(BigInt(event.sequence))) continue;
      return { value: { event, stored: true }, done: false };
    }
    return { value: undefined, done: true };
  }

  protected clear(): void {
    this.queue = [];
    this.page = [];
  }
}
