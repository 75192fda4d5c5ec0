/** How long a failed load is remembered before the next call may try again. */
export interface LazyBackoff {
  /** Wait after the first failure; it doubles with each failure in a row. */
  firstMs: number;
  /** Longest wait. */
  maxMs: number;
}

/**
 * The wait after a model failed to load: a call within it gets the same error at once rather than another load of
 * a model that just failed (which can cost a download or seconds of parsing per call).
 */
export const LOAD_BACKOFF: LazyBackoff = Object.freeze({ firstMs: 1_000, maxMs: 60_000 });

/**
 * A value loaded on first use, with every caller sharing that one load. A failed load is forgotten so a later call
 * tries again (e.g. after the network comes back); with a backoff, calls within the wait after a failure get that
 * failure at once instead of starting another load, so a model that cannot load is not reloaded on every call.
 */
export class Lazy<T> {
  readonly #load: () => Promise<T>;
  readonly #backoff: LazyBackoff | undefined;
  #loading: Promise<T> | undefined;
  #failure: { error: unknown; until: number; waitMs: number } | undefined;

  constructor(load: () => Promise<T>, backoff?: LazyBackoff) {
    this.#load = load;
    this.#backoff = backoff;
  }

  get(): Promise<T> {
    if (this.#loading !== undefined) return this.#loading;
    const failure = this.#failure;
    if (failure !== undefined && performance.now() < failure.until) return Promise.reject(failure.error);
    const loading = this.#load();
    this.#loading = loading;
    loading.then(
      () => {
        if (this.#loading === loading) this.#failure = undefined;
      },
      (error: unknown) => {
        if (this.#loading !== loading) return;
        this.#loading = undefined;
        if (this.#backoff === undefined) return;
        const waitMs =
          failure === undefined ? this.#backoff.firstMs : Math.min(this.#backoff.maxMs, failure.waitMs * 2);
        this.#failure = { error, until: performance.now() + waitMs, waitMs };
      },
    );
    return loading;
  }

  /** Forgets the value (and any remembered failure), so the next `get` loads again, and hands a loaded one to `free`. */
  async reset(free: (value: T) => Promise<void>): Promise<void> {
    const loading = this.#loading;
    this.#loading = undefined;
    this.#failure = undefined;
    if (loading === undefined) return;
    let value: T;
    try {
      value = await loading;
    } catch {
      return; // A load that failed has nothing to free.
    }
    await free(value);
  }
}
