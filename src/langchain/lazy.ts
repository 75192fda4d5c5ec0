/**
 * A value loaded on first use, with every caller sharing that one load. A failed load is forgotten so the next
 * call tries again (e.g. after the network comes back).
 */
export class Lazy<T> {
  readonly #load: () => Promise<T>;
  #loading: Promise<T> | undefined;

  constructor(load: () => Promise<T>) {
    this.#load = load;
  }

  get(): Promise<T> {
    if (this.#loading === undefined) {
      const loading = this.#load();
      this.#loading = loading;
      loading.catch(() => {
        if (this.#loading === loading) this.#loading = undefined;
      });
    }
    return this.#loading;
  }

  /** Forgets the value, so the next `get` loads again, and hands a loaded one to `free`. */
  async reset(free: (value: T) => Promise<void>): Promise<void> {
    const loading = this.#loading;
    this.#loading = undefined;
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
