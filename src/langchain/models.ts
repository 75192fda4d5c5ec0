import { CrossEncoder, type CrossEncoderOptions, type Scorer } from '../cross-encoder.js';
import { DisposedError } from '../errors.js';
import { Lazy } from './lazy.js';

/**
 * Most models named per call by `rerank({ model })` that a reranker keeps loaded. Naming one more disposes the
 * least recently used, once no call is using it; naming it again later loads it again.
 */
export const PER_CALL_MODELS = 4;

/** The model one call ranks with; `release` once the call is over. */
export interface ModelLease {
  readonly loaded: Lazy<Scorer>;
  /** Whether the scorer was passed in rather than loaded with the reranker's options (its activation is per call). */
  readonly shared: boolean;
  release(): void;
}

interface PerCall {
  readonly loaded: Lazy<Scorer>;
  users: number;
  evicted: boolean;
}

/**
 * The models of one reranker: its own (loaded on first use, or the scorer passed in) and those named per call, at
 * most {@link PER_CALL_MODELS} of them, least recently used first out. Once disposed, every lease is refused.
 */
export class RerankerModels {
  readonly #own: Lazy<Scorer>;
  readonly #ownName: string;
  readonly #shared: boolean;
  readonly #loadOptions: CrossEncoderOptions;
  /** In order of last use, oldest first. */
  readonly #perCall = new Map<string, PerCall>();
  #disposed = false;

  constructor(own: Lazy<Scorer>, ownName: string, shared: boolean, loadOptions: CrossEncoderOptions) {
    this.#own = own;
    this.#ownName = ownName;
    this.#shared = shared;
    this.#loadOptions = loadOptions;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Throws `DisposedError` once `dispose()` has been called. */
  ensureLive(): void {
    if (this.#disposed) {
      throw new DisposedError('This reranker has been disposed; create a new one to keep reranking.');
    }
  }

  /** The reranker's own model, or the one a call names (checked where the call's options enter). */
  lease(model?: string): ModelLease {
    this.ensureLive();
    if (model === undefined || model === this.#ownName) {
      return { loaded: this.#own, shared: this.#shared, release: () => {} };
    }
    let entry = this.#perCall.get(model);
    if (entry === undefined) {
      const options = this.#loadOptions;
      entry = { loaded: new Lazy<Scorer>(() => CrossEncoder.load(model, options)), users: 0, evicted: false };
    }
    this.#perCall.delete(model); // re-inserted as the most recently used
    this.#perCall.set(model, entry);
    entry.users++;
    this.#evict();
    const used = entry;
    let released = false;
    return {
      loaded: used.loaded,
      shared: false,
      release: () => {
        if (released) return;
        released = true;
        used.users--;
        if (used.evicted && used.users === 0) free(used);
      },
    };
  }

  /** Drops the least recently used models past the cap; one still in use is freed when its last call ends. */
  #evict(): void {
    for (const [name, entry] of this.#perCall) {
      if (this.#perCall.size <= PER_CALL_MODELS) return;
      this.#perCall.delete(name);
      entry.evicted = true;
      if (entry.users === 0) free(entry);
    }
  }

  /** Refuses later leases and frees every model the reranker loaded; a scorer passed in is its owner's to free. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    const perCall = [...this.#perCall.values()];
    this.#perCall.clear();
    await Promise.all(perCall.map((entry) => entry.loaded.reset(disposeScorer)));
    if (!this.#shared) await this.#own.reset(disposeScorer);
  }
}

function free(entry: PerCall): void {
  // Nobody awaits an eviction: a model that fails to free itself must not become an unhandled rejection.
  entry.loaded.reset(disposeScorer).catch(() => {});
}

async function disposeScorer(scorer: Scorer): Promise<void> {
  await (scorer as Partial<{ dispose(): Promise<void> }>).dispose?.();
}
