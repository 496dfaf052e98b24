/**
 * One call per key at a time: callers asking for a key whose call is still running share its promise
 * (Go's singleflight). Nothing is kept once it settles; caching is the caller's business.
 */
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>();

  run(key: string, call: () => Promise<T>): Promise<T> {
    let pending = this.#running.get(key);
    if (!pending) {
      pending = call().finally(() => this.#running.delete(key));
      this.#running.set(key, pending);
    }
    return pending;
  }
}
