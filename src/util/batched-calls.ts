/**
 * Group commit for statements: calls made while `concurrency` batches are in flight wait, and go
 * together in the next batch. No timer and no added latency when idle — a lone call runs at once —
 * and under load one statement serves many callers. `run` answers one result per item, in order;
 * its failure fails every caller of that batch, so it must not fail for one item's sake (the
 * statements behind it use ON CONFLICT and report per item instead).
 */
export class BatchedCalls<Item, Result> {
  readonly #run: (items: Item[]) => Promise<Result[]>;
  readonly #maxBatch: number;
  readonly #concurrency: number;
  #queue: Array<{ item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }> = [];
  #inFlight = 0;

  constructor(run: (items: Item[]) => Promise<Result[]>, { maxBatch = 256, concurrency = 1 }: { maxBatch?: number; concurrency?: number } = {}) {
    this.#run = run;
    this.#maxBatch = maxBatch;
    this.#concurrency = concurrency;
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
        (error: unknown) => batch.forEach((entry) => entry.reject(error)),
      )
      .finally(() => {
        this.#inFlight--;
        this.#next();
      });
  }
}
