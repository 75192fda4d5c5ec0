import { abortError, CrossEncoderError, DisposedError } from '../errors.js';
import { platform } from '../platform/current.js';
import type { WorkerHandle } from '../platform/platform.js';
import { fromWire } from './wire-error.js';
import type { TextPair } from '../types.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { disposedAbort, type BackendScoreOptions, type ScoringBackend } from './backend.js';
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

/**
 * Runs the model in a worker (a worker thread on Node, a Web Worker in browsers). Requests queue there one at a
 * time; the caller's event loop only copies strings in and scores out. On Node the thread is unreferenced while
 * idle, so a loaded model never keeps a process alive.
 */
export class WorkerBackend implements ScoringBackend {
  readonly info: PairModelInfo;
  readonly #worker: WorkerHandle;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed: Error | undefined;
  #released: Promise<void> | undefined;
  #onStopped: (() => void) | undefined;

  private constructor(worker: WorkerHandle, info: PairModelInfo) {
    this.#worker = worker;
    this.info = info;
  }

  static open(spec: PairModelSpec, options: WorkerBackendOptions): Promise<WorkerBackend> {
    return new Promise((resolve, reject) => {
      let backend: WorkerBackend | undefined;
      const worker = platform.startWorker(
        { spec, nice: options.nice } satisfies WorkerStart,
        {
          message: (data) => {
            const message = data as FromWorker;
            if (backend !== undefined) return backend.#receive(message);
            if (message.type === 'ready') {
              // Idle from here on: an idle model never keeps a process alive.
              worker.hold(false);
              backend = new WorkerBackend(worker, message.info);
              resolve(backend);
            } else {
              worker.terminate();
              reject(message.type === 'failed' ? fromWire(message.error) : new Error(`unexpected ${message.type}`));
            }
          },
          error: (error) => (backend === undefined ? reject(missingWorkerFile(error) ?? error) : backend.#fail(error)),
          exit: (code) => {
            if (backend === undefined) {
              reject(new CrossEncoderError('WORKER_EXIT', `The scoring worker exited while loading (code ${code}).`));
            } else {
              backend.#onStopped?.();
              backend.#fail(new CrossEncoderError('WORKER_EXIT', `The scoring worker exited (code ${code}).`));
            }
          },
        },
        { workerUrl: options.workerUrl },
      );
    });
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
    if (this.#closed !== undefined) return Promise.resolve();
    this.#closed = new DisposedError();
    const aborted = disposedAbort();
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(aborted);
    this.#worker.hold(true);
    this.#released = new Promise<void>((resolve) => {
      // The worker answers `released` once its session is freed; a worker that dies first counts as stopped.
      this.#onStopped = () => {
        this.#onStopped = undefined;
        this.#worker.terminate();
        resolve();
      };
    });
    this.#worker.post({ type: 'release' } satisfies ToWorker);
    return this.#released;
  }

  #request<T>(id: number, message: ToWorker): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const promise = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    // Held while any request is out, so a script awaiting a score does not exit under it.
    if (this.#pending.size === 1) this.#worker.hold(true);
    this.#worker.post(message);
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
        this.#onStopped?.();
        return;
      default:
        return;
    }
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(error);
  }
}
