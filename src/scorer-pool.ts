import { CrossEncoder, type CrossEncoderOptions, type Scorer } from './cross-encoder.js';
import { abortError, InvalidArgumentError } from './errors.js';
import { describe } from './validate.js';

/** What a framework adapter ranks with: a hub id or local model folder loaded on first use, or a ready scorer. */
export type ModelOption = string | Scorer;

/**
 * The scorers of one framework adapter: each model id loaded once, on first use, and shared by every call that names
 * it; a scorer passed in is used as it is and left to its owner. A failed load is forgotten, so a later call tries
 * again. `dispose()` frees what the pool loaded.
 */
export class ScorerPool {
  readonly #loadOptions: CrossEncoderOptions;
  readonly #loading = new Map<string, Promise<Scorer>>();

  constructor(loadOptions: CrossEncoderOptions = {}) {
    this.#loadOptions = { ...loadOptions };
  }

  /** The scorer for `model`; waiting for a load stops with an `AbortError` when `signal` fires (the load goes on). */
  get(model: ModelOption, signal?: AbortSignal): Promise<Scorer> {
    if (isScorer(model)) return Promise.resolve(model);
    let loading = this.#loading.get(model);
    if (loading === undefined) {
      loading = CrossEncoder.load(model, this.#loadOptions);
      this.#loading.set(model, loading);
      const started = loading;
      started.catch(() => {
        if (this.#loading.get(model) === started) this.#loading.delete(model);
      });
    }
    return untilAborted(loading, signal);
  }

  /** Frees every model the pool loaded; a later call loads it again. Scorers passed in are left alone. */
  async dispose(): Promise<void> {
    const loads = [...this.#loading.values()];
    this.#loading.clear();
    await Promise.all(
      loads.map((load) =>
        load.then(
          (scorer) => (scorer as Partial<{ dispose(): Promise<void> }>).dispose?.(),
          () => undefined, // a load that failed has nothing to free
        ),
      ),
    );
  }
}

/** Checks a `model` option: a non-empty id or folder, or an object with `score` and `rank`. */
export function validateModel(value: unknown, parameter: string): ModelOption {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (isScorer(value)) return value;
  throw new InvalidArgumentError(
    parameter,
    `expected a hub id, a local model folder or a Scorer (an object with score and rank), got ${describe(value)}.`,
  );
}

export function isScorer(value: unknown): value is Scorer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Scorer).score === 'function' &&
    typeof (value as Scorer).rank === 'function'
  );
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(abortError('Reranking', signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError('Reranking', signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
