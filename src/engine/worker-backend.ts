import { abortError, CrossEncoderError, DisposedError, WorkerExitError } from '../errors.js';
import { platform } from '../platform/current.js';
import type { WorkerHandle } from '../platform/platform.js';
import { fromWire } from './wire-error.js';
import type { TextPair } from '../types.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { disposedAbort, type BackendScoreOptions, type BackendState, type ScoringBackend } from './backend.js';
import { followAbort } from './deadline.js';
import type { PairModelInfo, PairModelSpec, PairScores } from './pair-model.js';
import type { FromWorker, ToWorker, WorkerStart } from './worker-protocol.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** Where the worker script is, for setups that serve it somewhere other than beside the package's own code. */
export interface WorkerBackendOptions {
  /** See {@link WorkerStart.nice}. */
  nice: number;
  /** The worker script's URL; `undefined` takes the one shipped beside the package's code. */
  workerUrl?: string | URL | undefined;
}

/** A bundled app that left the worker script behind: say how to ship it, or to score without it. */
function missingWorkerFile(error: Error): CrossEncoderError | undefined {
  const code = (error as { code?: unknown }).code;
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  // Only the script itself: a package that worker.js imports and cannot find is a different fault.
  if (!/Cannot find module '[^']*[\\/]worker\.js'/.test(error.message)) return undefined;
  return new CrossEncoderError(
    'WORKER_MISSING',
    `The scoring worker's script is missing (${error.message.split('\n')[0]}). A bundler moved this code away ` +
      "from it: add the package's dist/worker.js as a second entry point so worker.js sits beside your bundle, or " +
      'load the model with `worker: false`.',
  );
}

// A worker that dies (out of memory, a native crash) is replaced, at most this many times in this window; a model
// that keeps killing its worker is failed for good rather than restarted in a loop.
const RESTART_LIMIT = 3;
const RESTART_WINDOW_MS = 60_000;

/** What happens to a running worker, once the backend listens to it. */
interface WorkerListener {
  message(message: FromWorker): void;
  error(error: Error): void;
  exit(code: number): void;
}

/** A worker whose model has loaded. */
interface BootedWorker {
  worker: WorkerHandle;
  info: PairModelInfo;
  /** Sends the worker's later events to `listener`. */
  listen(listener: WorkerListener): void;
}

/** Starts a worker on `start` and resolves once its model is loaded. */
function bootWorker(start: WorkerStart, workerUrl: string | URL | undefined): Promise<BootedWorker> {
  return new Promise((resolve, reject) => {
    let listener: WorkerListener | undefined;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      worker.terminate();
      reject(error);
    };
    const worker = platform.startWorker(
      start,
      {
        message: (data) => {
          const message = data as FromWorker;
          if (listener !== undefined) return listener.message(message);
          if (message.type !== 'ready') {
            return fail(message.type === 'failed' ? fromWire(message.error) : new Error(`unexpected ${message.type}`));
          }
          settled = true;
          // Idle from here on: an idle model never keeps a process alive.
          worker.hold(false);
          resolve({ worker, info: message.info, listen: (l) => (listener = l) });
        },
        error: (error) => (listener !== undefined ? listener.error(error) : fail(missingWorkerFile(error) ?? error)),
        exit: (code) =>
          listener !== undefined
            ? listener.exit(code)
            : fail(new WorkerExitError(`The scoring worker exited while loading (code ${code}).`)),
      },
      { workerUrl },
    );
  });
}

/**
 * Runs the model in a worker (a worker thread on Node, a Web Worker in browsers). Requests queue there one at a
 * time; the caller's event loop only copies strings in and scores out. On Node the thread is unreferenced while
 * idle, so a loaded model never keeps a process alive. A worker that dies fails the requests it held with a
 * `WorkerExitError` and is replaced; requests made meanwhile wait for the new one.
 */
export class WorkerBackend implements ScoringBackend {
  readonly info: PairModelInfo;
  readonly #start: WorkerStart;
  readonly #workerUrl: string | URL | undefined;
  #worker!: WorkerHandle;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set once the backend can no longer score: disposed, or its worker died past the restart budget. */
  #closed: Error | undefined;
  #restarting: Promise<void> | undefined;
  readonly #restarts: number[] = [];
  #released: Promise<void> | undefined;
  /** Set while a release waits for the worker to free its session. */
  #onReleased: (() => void) | undefined;

  private constructor(start: WorkerStart, workerUrl: string | URL | undefined, booted: BootedWorker) {
    this.#start = start;
    this.#workerUrl = workerUrl;
    this.info = booted.info;
    this.#attach(booted);
  }

  static async open(spec: PairModelSpec, options: WorkerBackendOptions): Promise<WorkerBackend> {
    const start: WorkerStart = { spec, nice: options.nice };
    return new WorkerBackend(start, options.workerUrl, await bootWorker(start, options.workerUrl));
  }

  /** Whether the backend can score now. */
  get state(): BackendState {
    if (this.#released !== undefined) return 'disposed';
    if (this.#closed !== undefined) return 'failed';
    return this.#restarting === undefined ? 'ready' : 'restarting';
  }

  async score(pairs: readonly TextPair[], options: BackendScoreOptions): Promise<PairScores> {
    const { signal } = options;
    if (signal?.aborted) throw abortError('Scoring', signal.reason);
    const id = this.#nextId++;
    const result = this.#request<PairScores>(id, {
      type: 'score',
      id,
      pairs,
      batchSize: options.batchSize,
      activation: options.activation,
      chunks: options.chunks,
      instruction: options.instruction,
    });
    if (signal === undefined) return result;
    // The caller hears of the abort at once; the worker stops at its next batch boundary.
    const onAbort = () => {
      this.#worker.post({ type: 'cancel', id } satisfies ToWorker);
      this.#settle(id)?.reject(abortError('Scoring', signal.reason));
    };
    const unfollow = followAbort(signal, onAbort);
    try {
      return await result;
    } finally {
      unfollow();
    }
  }

  encode(query: string, passage: string): Promise<AssembledPair> {
    const id = this.#nextId++;
    return this.#request<AssembledPair>(id, { type: 'encode', id, query, passage });
  }

  /**
   * Rejects every queued and running request with an `AbortError` at once, then stops the worker. The worker
   * skips what is queued and stops the running request at its next batch boundary, so this resolves within one
   * batch however long the call in progress would have run.
   */
  release(): Promise<void> {
    if (this.#released !== undefined) return this.#released;
    const failed = this.#closed !== undefined;
    this.#closed = new DisposedError();
    const aborted = disposedAbort();
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(aborted);
    this.#released = (async () => {
      if (failed) return;
      // A replacement still starting is stopped as soon as it is up (the backend is closed by then).
      if (this.#restarting !== undefined) return this.#restarting;
      const worker = this.#worker;
      worker.hold(true);
      // The worker answers `released` once its session is freed; a worker that dies first counts as stopped.
      await new Promise<void>((resolve) => {
        this.#onReleased = resolve;
        worker.post({ type: 'release' } satisfies ToWorker);
      });
      this.#onReleased = undefined;
      worker.terminate();
    })();
    return this.#released;
  }

  #attach(booted: BootedWorker): void {
    const { worker } = booted;
    this.#worker = worker;
    booted.listen({
      message: (message) => this.#receive(message),
      error: (error) => this.#crashed(worker, error),
      exit: (code) => {
        if (worker === this.#worker && this.#onReleased !== undefined) return this.#onReleased();
        this.#crashed(worker, new WorkerExitError(`The scoring worker exited (code ${code}); it is being replaced.`));
      },
    });
  }

  #request<T>(id: number, message: ToWorker): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const promise = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    // Held while any request is out, so a script awaiting a score does not exit under it.
    if (this.#pending.size === 1) this.#worker.hold(true);
    const post = () => {
      if (this.#pending.has(id)) this.#worker.post(message);
    };
    if (this.#restarting === undefined) post();
    else void this.#restarting.then(post);
    return promise;
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    if (this.#pending.size === 0 && this.#closed === undefined) this.#worker.hold(false);
    return pending;
  }

  #receive(message: FromWorker): void {
    switch (message.type) {
      case 'scores':
        this.#settle(message.id)?.resolve(message.result);
        return;
      case 'encoded':
        this.#settle(message.id)?.resolve(message.pair);
        return;
      case 'error':
        this.#settle(message.id)?.reject(fromWire(message.error));
        return;
      case 'released':
        this.#onReleased?.();
        return;
      default:
        return;
    }
  }

  /** The current worker died: fail what it held, then replace it within the restart budget. */
  #crashed(worker: WorkerHandle, error: Error): void {
    if (worker !== this.#worker || this.#closed !== undefined || this.#restarting !== undefined) return;
    worker.terminate();
    const waiting = [...this.#pending.keys()];
    const now = performance.now();
    while (this.#restarts.length > 0 && now - (this.#restarts[0] as number) > RESTART_WINDOW_MS) this.#restarts.shift();
    if (this.#restarts.length >= RESTART_LIMIT) {
      this.#closed = new WorkerExitError(
        `${error.message.replace(/; it is being replaced\.$/, '.')} It died ${RESTART_LIMIT + 1} times within ` +
          `${RESTART_WINDOW_MS / 1000} s, so it is not restarted again: load the model again once the cause ` +
          '(often memory: lower maxBatchTokens or the request size) is fixed.',
        { cause: error },
      );
      for (const id of waiting) this.#settle(id)?.reject(this.#closed);
      return;
    }
    this.#restarts.push(now);
    // Requests already sent died with the worker; ones not yet sent wait for its replacement.
    for (const id of waiting) this.#settle(id)?.reject(error);
    this.#restarting = bootWorker(this.#start, this.#workerUrl).then(
      (booted) => {
        this.#restarting = undefined;
        if (this.#closed !== undefined) {
          booted.worker.terminate();
          return;
        }
        this.#attach(booted);
        if (this.#pending.size > 0) booted.worker.hold(true);
      },
      (failure: unknown) => {
        this.#restarting = undefined;
        this.#closed ??= new WorkerExitError(
          `The scoring worker died and could not be restarted (${(failure as Error).message}); load the model again.`,
          { cause: failure },
        );
        for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(this.#closed);
      },
    );
  }
}
