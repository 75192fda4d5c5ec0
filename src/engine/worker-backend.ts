import { abortError, CrossEncoderError, DisposedError, WorkerExitError } from '../errors.js';
import { platform } from '../platform/current.js';
import type { WorkerHandle } from '../platform/platform.js';
import { fromWire } from './wire-error.js';
import type { TextPair } from '../types.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { disposedAbort, type BackendScoreOptions, type BackendState, type ScoringBackend } from './backend.js';
import { followAbort } from './deadline.js';
import { closeGate, createExitGate } from './exit-gate.js';
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

// A worker that dies is replaced, at most this many times in this window; a model that keeps killing its worker is
// failed for good rather than restarted in a loop.
const RESTART_LIMIT = 3;
const RESTART_WINDOW_MS = 60_000;

/**
 * Runs the model in a worker (a worker thread on Node, a Web Worker in browsers). Requests queue there one at a
 * time; the caller's event loop only copies strings in and scores out. On Node the thread is unreferenced while
 * idle, so a loaded model never keeps a process alive.
 *
 * What a restart recovers: a worker that ends while the process lives on. That is a fault in the worker's
 * JavaScript (an uncaught error, its JavaScript heap running out on a very large request), or the thread terminated from
 * outside while it runs JavaScript. Its requests fail with a `WorkerExitError`, a new worker loads the model, and
 * requests made meanwhile wait for it. What no restart recovers: a crash inside ONNX Runtime or llama.cpp (a
 * segmentation fault, an abort, a thread terminated while in native code) ends the whole process, worker and caller
 * alike. An exit of the process while the worker computes is made safe instead (see exit-gate.ts).
 */
export class WorkerBackend implements ScoringBackend {
  readonly #start: WorkerStart;
  readonly #workerUrl: string | URL | undefined;
  #info!: PairModelInfo;
  /** The worker in use, or being started to replace one that died. */
  #worker!: WorkerHandle;
  /** Set while the worker in use loads its model; requests made meanwhile are sent once it is up. */
  #starting: Promise<void> | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set once the backend can no longer score: disposed, or its worker died past the restart budget. */
  #closed: Error | undefined;
  /** When the workers that died within the restart window died. */
  #deaths: number[] = [];
  #released: Promise<void> | undefined;
  /** Set while a release waits for the worker to free its session. */
  #onReleased: (() => void) | undefined;

  private constructor(start: WorkerStart, workerUrl: string | URL | undefined) {
    this.#start = start;
    this.#workerUrl = workerUrl;
  }

  static async open(spec: PairModelSpec, options: WorkerBackendOptions): Promise<WorkerBackend> {
    const backend = new WorkerBackend({ spec, nice: options.nice }, options.workerUrl);
    await backend.#spawn();
    return backend;
  }

  get info(): PairModelInfo {
    return this.#info;
  }

  /** Whether the backend can score now. */
  get state(): BackendState {
    if (this.#released !== undefined) return 'disposed';
    if (this.#closed !== undefined) return 'failed';
    return this.#starting === undefined ? 'ready' : 'restarting';
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
      // A replacement still loading is released once it is up; one that failed to load has stopped already.
      if (failed) return;
      const up = await (this.#starting ?? Promise.resolve()).then(
        () => true,
        () => false,
      );
      if (!up) return;
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

  /** Starts a worker that becomes the one in use, and resolves once its model is loaded. */
  async #spawn(): Promise<void> {
    const gate = createExitGate();
    let loaded = false;
    let unhook = () => {};
    let boot!: { resolve(): void; reject(error: Error): void };
    const starting = new Promise<void>((resolve, reject) => (boot = { resolve, reject }));
    const failBoot = (error: Error) => {
      worker.terminate();
      boot.reject(error);
    };
    const worker = platform.startWorker(
      { ...this.#start, gate },
      {
        message: (data) => {
          const message = data as FromWorker;
          if (loaded) return this.#receive(message);
          if (message.type !== 'ready') {
            return failBoot(
              message.type === 'failed' ? fromWire(message.error) : new Error(`unexpected ${message.type}`),
            );
          }
          loaded = true;
          this.#info = message.info;
          this.#starting = undefined;
          // Idle unless requests wait for it: an idle model never keeps a process alive.
          worker.hold(this.#pending.size > 0);
          boot.resolve();
        },
        error: (error) => (loaded ? this.#died(worker, error) : failBoot(missingWorkerFile(error) ?? error)),
        exit: (code) => {
          unhook();
          if (!loaded) return failBoot(new WorkerExitError(`The scoring worker exited while loading (code ${code}).`));
          if (worker === this.#worker && this.#onReleased !== undefined) return this.#onReleased();
          this.#died(worker, new WorkerExitError(`The scoring worker exited (code ${code}); it is being replaced.`));
        },
      },
      { workerUrl: this.#workerUrl },
    );
    // An exit of the process waits for this worker to leave the model, until the worker itself has ended.
    unhook = platform.onExit(() => closeGate(gate));
    this.#worker = worker;
    this.#starting = starting;
    await starting;
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
    if (this.#starting === undefined) post();
    else void this.#starting.then(post, () => {});
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

  /** The worker in use died (in JavaScript, see above): fail what it held, and replace it within the budget. */
  #died(worker: WorkerHandle, error: Error): void {
    if (worker !== this.#worker || this.#closed !== undefined) return;
    worker.terminate();
    const now = performance.now();
    this.#deaths = [...this.#deaths.filter((at) => now - at <= RESTART_WINDOW_MS), now];
    if (this.#deaths.length > RESTART_LIMIT) {
      return this.#fail(
        new WorkerExitError(
          `${error.message.replace(/; it is being replaced\.$/, '.')} It died ${RESTART_LIMIT + 1} times within ` +
            `${RESTART_WINDOW_MS / 1000} s, so it is not restarted again: load the model again once the cause ` +
            '(often memory: lower maxBatchTokens or the request size) is fixed.',
          { cause: error },
        ),
      );
    }
    // Requests already sent died with the worker; ones made from now on wait for its replacement.
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(error);
    this.#spawn().catch((failure: Error) =>
      this.#fail(
        new WorkerExitError(
          `The scoring worker died and could not be restarted (${failure.message}); load the model again.`,
          { cause: failure },
        ),
      ),
    );
  }

  /** The backend can no longer score: every request, waiting or later, fails with `error`. */
  #fail(error: Error): void {
    this.#closed ??= error;
    this.#starting = undefined;
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(this.#closed);
  }
}
