import { abortError, type AbortError } from '../errors.js';

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
      error: (what, cause) => abortError(what, cause ?? signal?.reason),
      dispose: () => {},
    };
  }
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(signal?.reason);
  let unfollow = () => {};
  if (signal?.aborted) controller.abort(signal.reason);
  else if (signal !== undefined) unfollow = followAbort(signal, onAbort);
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
        ? abortError(what, controller.signal.reason, { ms: timeoutMs, setting })
        : abortError(what, cause ?? controller.signal.reason);
    },
    dispose() {
      clearTimeout(timer);
      unfollow();
    },
  };
}

interface Followers {
  readonly callbacks: Set<() => void>;
  readonly fire: () => void;
}

/** The calls following each caller's signal, behind the one listener they share on it. */
const followers = new WeakMap<AbortSignal, Followers>();

/**
 * Runs `onAbort` once when `signal` aborts (check `signal.aborted` first); returns the function that stops
 * following it. Calls sharing one signal share one listener on it, removed when the last stops following, so any
 * number of concurrent calls may share a signal without Node reporting a leak (MaxListenersExceededWarning past
 * 10 listeners) where there is none.
 */
export function followAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let entry = followers.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<() => void>();
    const fire = () => {
      followers.delete(signal);
      for (const callback of [...callbacks]) callback();
    };
    entry = { callbacks, fire };
    followers.set(signal, entry);
    signal.addEventListener('abort', fire, { once: true });
  }
  const current = entry;
  const callback = () => onAbort(); // its own identity, even when one function follows twice
  current.callbacks.add(callback);
  return () => {
    if (!current.callbacks.delete(callback) || current.callbacks.size > 0) return;
    if (followers.get(signal) === current) followers.delete(signal);
    signal.removeEventListener('abort', current.fire);
  };
}
