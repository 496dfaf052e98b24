/**
 * Group commit for statements: calls made while `concurrency` batches are in flight wait, and go
 * together in the next batch. No timer and no added latency when idle — a lone call runs at once —
 * and under load one statement serves many callers. `run` answers one result per item, in order.
 * The statements behind it report conflicts per item (ON CONFLICT), but one item's bad value can
 * still fail the whole statement: when `retryAlone(error)` says so, each item of a failed batch is
 * run again on its own, so a caller fails only for its own item.
 */
export class BatchedCalls<Item, Result> {
  readonly #run: (items: Item[]) => Promise<Result[]>;
  readonly #maxBatch: number;
  readonly #concurrency: number;
  readonly #retryAlone: (error: unknown) => boolean;
  #queue: Array<{ item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }> = [];
  #inFlight = 0;

  constructor(
    run: (items: Item[]) => Promise<Result[]>,
    { maxBatch = 256, concurrency = 1, retryAlone = () => false }: { maxBatch?: number; concurrency?: number; retryAlone?: (error: unknown) => boolean } = {},
  ) {
    this.#run = run;
    this.#maxBatch = maxBatch;
    this.#concurrency = concurrency;
    this.#retryAlone = retryAlone;
  }

  call(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    if (this.#inFlight >= this.#concurrency || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.#maxBatch);
    this.#inFlight++;
    this.#run(batch.map((entry) => entry.item))
      .then(
        (results) => batch.forEach((entry, index) => entry.resolve(results[index]!)),
        async (error: unknown) => {
          if (batch.length === 1 || !this.#retryAlone(error)) return batch.forEach((entry) => entry.reject(error));
          for (const entry of batch) await this.#run([entry.item]).then((results) => entry.resolve(results[0]!), entry.reject);
        },
      )
      .finally(() => {
        this.#inFlight--;
        this.#next();
      });
  }
}
