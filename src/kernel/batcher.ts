/**
 * Calls written together, as a database's group commit does: while a batch is in flight, the calls
 * that arrive wait and go together in the next one (at most `maxBatch`); with nothing in flight a
 * call goes at once, so a lone call waits for nothing. Each call gets its own answer (the run's
 * answers are in the order of its keys) or, if the run fails, the run's error.
 */
export class Batcher<K, V> {
  private queue: Array<{ key: K; resolve: (v: V) => void; reject: (err: unknown) => void }> = [];
  private inFlight = 0;

  constructor(
    private readonly run: (keys: K[]) => Promise<V[]>,
    private readonly opts: { maxInFlight: number; maxBatch: number } = { maxInFlight: 1, maxBatch: 500 },
  ) {}

  load(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      let answers: Promise<V[]>;
      try {
        answers = this.run(batch.map((b) => b.key));
      } catch (err) {
        answers = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      answers
        .then(
          (values) => batch.forEach((b, i) => b.resolve(values[i])),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
