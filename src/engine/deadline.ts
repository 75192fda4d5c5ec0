import { AbortError } from '../errors.js';

/** A call's own signal, combining the caller's `signal` with its `timeoutMs`. */
export interface CallDeadline {
  /** Fires when the caller's signal does or the time runs out; `undefined` when neither was given. */
  readonly signal: AbortSignal | undefined;
  /** Whether the timeout (not the caller's signal) stopped the call. */
  readonly timedOut: boolean;
  /** The error the call rejects with once `signal` has fired. */
  error(what: string, cause?: unknown): AbortError;
  /** Clears the timer and unhooks from the caller's signal; call it when the call settles. */
  dispose(): void;
}

/**
 * Builds the signal of one call. A plain timer and listener rather than `AbortSignal.any`/`AbortSignal.timeout`:
 * both are released the moment the call settles, so thousands of calls sharing one long-lived signal (a server's
 * shutdown signal, say) leave nothing behind, and no timer outlives its call.
 */
export function callDeadline(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  setting = 'options.timeoutMs',
): CallDeadline {
  if (timeoutMs === undefined) {
    return {
      signal,
      timedOut: false,
      error: (what, cause) => new AbortError(`${what} was aborted.`, { cause: cause ?? signal?.reason }),
      dispose: () => {},
    };
  }
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`The call ran past ${setting} (${timeoutMs} ms).`, 'TimeoutError'));
  }, timeoutMs);
  // Like AbortSignal.timeout: a pending deadline alone never keeps the process alive.
  timer.unref?.();
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    error(what, cause) {
      return timedOut
        ? new AbortError(`${what} timed out after ${timeoutMs} ms (${setting}).`, { cause: controller.signal.reason })
        : new AbortError(`${what} was aborted.`, { cause: cause ?? controller.signal.reason });
    },
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}
