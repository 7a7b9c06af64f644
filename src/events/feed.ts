/**
 * What every feed of live messages shares: one reader waiting at a time, an end that happens
 * once (and stops listening), and the async-iterator protocol. Each kind of feed decides what it
 * keeps for a reader that is behind (`next`, `clear`).
 */
export abstract class Feed<T> implements AsyncIterableIterator<T> {
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  protected done = false;

  constructor(private readonly onEnd?: () => void) {}

  abstract next(): Promise<IteratorResult<T>>;

  /** Drops whatever the feed holds for its reader (it ended). */
  protected abstract clear(): void;

  /** Whether the reader is waiting for a value now (nothing queued). */
  protected get readerWaiting(): boolean {
    return this.waiting !== null;
  }

  /** Gives `value` to the waiting reader. */
  protected handOver(value: T): void {
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.({ value, done: false });
  }

  /** The reader waits for the next `handOver` (or the end). */
  protected waitForNext(): Promise<IteratorResult<T>> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  protected end(): void {
    if (this.done) return;
    this.done = true;
    this.clear();
    this.onEnd?.();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
  }
}

/**
 * The values of `source` that `keep` accepts. A class with its methods on the prototype: ten
 * thousand sockets' subscriptions each hold one of these, and a generator-based filter (a
 * Repeater, with its bound functions and promises) cost about 2 kB apiece while idle.
 */
export class Filtered<T> implements AsyncIterableIterator<T> {
  constructor(
    private readonly source: AsyncIterator<T>,
    private readonly keep: (value: T) => boolean,
  ) {}

  /** Not an async function: a waiting reader then holds a promise reaction, not a suspended frame. */
  next(): Promise<IteratorResult<T>> {
    return this.source.next().then((result) => (result.done || this.keep(result.value) ? result : this.next()));
  }

  async return(): Promise<IteratorResult<T>> {
    await this.source.return?.();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
