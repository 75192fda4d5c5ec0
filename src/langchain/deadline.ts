import { abortError, AbortError } from '../errors.js';
import { followAbort } from '../engine/deadline.js';

/**
 * Everything that may stop one reranking call, as one signal: the caller's `signal`, the reranker's `dispose()` and
 * the call's `timeoutMs`. The scorer gets the signal, so a `CrossEncoder` stops at its next batch; the work is also
 * raced against it, so the call ends on time while it waits for a model to load or for a scorer that ignores
 * signals.
 */
export class RerankDeadline {
  readonly #controller = new AbortController();
  readonly #timeout: { ms: number; setting: string } | undefined;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #unfollow: () => void;
  #timedOut = false;

  constructor(signal: AbortSignal | undefined, timeoutMs: number | undefined, setting: string) {
    this.#timeout = timeoutMs === undefined ? undefined : { ms: timeoutMs, setting };
    // One listener on a caller's signal however many calls share it (see followAbort).
    if (signal?.aborted) this.abort(signal.reason);
    this.#unfollow =
      signal === undefined || signal.aborted ? () => {} : followAbort(signal, () => this.abort(signal.reason));
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        this.abort(new DOMException(`The call ran past ${setting} (${timeoutMs} ms).`, 'TimeoutError'));
      }, timeoutMs);
      // Like AbortSignal.timeout: a pending deadline alone never keeps the process alive.
      this.#timer.unref?.();
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the caller or `dispose()` stopped the call, rather than its own timeout. */
  get stoppedFromOutside(): boolean {
    return this.signal.aborted && !this.#timedOut;
  }

  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }

  /** The error the call rejects with once the signal has fired. */
  error(cause: unknown = this.signal.reason): AbortError {
    return this.#timedOut ? abortError('Reranking', this.signal.reason, this.#timeout) : abortError('Reranking', cause);
  }

  /** Settles with `work`, or rejects with this deadline's error as soon as it fires. */
  race<T>(work: Promise<T>): Promise<T> {
    const signal = this.signal;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.error());
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(signal.aborted && AbortError.isInstance(error) ? this.error(error) : error);
        },
      );
    });
  }

  /** Clears the timer and unhooks from the caller's signal; called once the call settles. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#unfollow();
  }
}
