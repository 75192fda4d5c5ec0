import { Worker } from 'node:worker_threads';
import { abortError, DisposedError, WorkerExitError } from '../errors.js';
import { fromWire } from './wire-error.js';
import type { TextPair } from '../types.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { disposedAbort, type BackendScoreOptions, type BackendState, type ScoringBackend } from './backend.js';
import type { PairModelInfo, PairModelSpec, PairScores } from './pair-model.js';
import type { FromWorker, ToWorker, WorkerStart } from './worker-protocol.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

// Built code sits in dist/ beside dist/worker.js. Source runs (tests, tsx) start the TypeScript file through tsx's
// loader, registered inside the new thread, since workers do not inherit the parent's loaders.
const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

function startWorker(start: WorkerStart): Worker {
  // Workers inherit the parent's Node flags; `--input-type` (set by `node -e` scripts) is refused for a file.
  let execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type'));
  for (;;) {
    try {
      return newWorker(start, execArgv);
    } catch (error) {
      // Per-process flags such as --expose-gc are refused for a thread: drop the ones Node names and retry.
      const refused = refusedFlags(error);
      const kept = execArgv.filter((flag) => !refused.some((r) => flag === r || flag.startsWith(`${r}=`)));
      if (refused.length === 0 || kept.length === execArgv.length) throw error;
      execArgv = kept;
    }
  }
}

function newWorker(start: WorkerStart, execArgv: string[]): Worker {
  if (!RUNNING_FROM_SOURCE) return new Worker(new URL('./worker.js', import.meta.url), { workerData: start, execArgv });
  const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); });`;
  return new Worker(bootstrap, { eval: true, workerData: start, execArgv });
}

/** The flags an ERR_WORKER_INVALID_EXEC_ARGV error lists ("...invalid execArgv flags: --a, --b"). */
function refusedFlags(error: unknown): string[] {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return [];
  const list = /flags: (.*)$/.exec((error as Error).message)?.[1] ?? '';
  return list
    .split(',')
    .map((flag) => flag.trim())
    .filter((flag) => flag.startsWith('-'));
}

// A worker that dies (out of memory, a native crash) is replaced, at most this many times in this window; a model
// that keeps killing its worker is failed for good rather than restarted in a loop.
const RESTART_LIMIT = 3;
const RESTART_WINDOW_MS = 60_000;

/** Starts a worker on `spec` and resolves once its model is loaded. */
function bootWorker(start: WorkerStart): Promise<{ worker: Worker; info: PairModelInfo }> {
  const worker = startWorker(start);
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    const onExit = (code: number) =>
      reject(new WorkerExitError(`The scoring worker exited while loading (code ${code}).`));
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.once('message', (message: FromWorker) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (message.type === 'ready') resolve({ worker, info: message.info });
      else {
        void worker.terminate();
        reject(message.type === 'failed' ? fromWire(message.error) : new Error(`unexpected ${message.type}`));
      }
    });
  });
}

/**
 * Runs the model in a worker thread. Requests queue there one at a time; the caller's event loop only copies
 * strings in and scores out. The thread is unreferenced while idle, so a loaded model never keeps a process alive.
 * A worker that dies fails the requests it held with a `WorkerExitError` and is replaced; requests made meanwhile
 * wait for the new one.
 */
export class WorkerBackend implements ScoringBackend {
  readonly info: PairModelInfo;
  readonly #start: WorkerStart;
  #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set once the backend can no longer score: disposed, or its worker died past the restart budget. */
  #closed: Error | undefined;
  #restarting: Promise<void> | undefined;
  readonly #restarts: number[] = [];
  #released: Promise<void> | undefined;

  private constructor(start: WorkerStart, worker: Worker, info: PairModelInfo) {
    this.#start = start;
    this.info = info;
    this.#worker = worker;
    this.#attach(worker);
  }

  /** `nice`: see {@link WorkerStart.nice}. */
  static async open(spec: PairModelSpec, nice = 0): Promise<WorkerBackend> {
    const start = { spec, nice };
    const { worker, info } = await bootWorker(start);
    return new WorkerBackend(start, worker, info);
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
    });
    if (signal === undefined) return result;
    // The caller hears of the abort at once; the worker stops at its next batch boundary.
    const onAbort = () => {
      this.#worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      this.#settle(id)?.reject(abortError('Scoring', signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await result;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  encode(query: string, passage: string): Promise<AssembledPair> {
    const id = this.#nextId++;
    return this.#request<AssembledPair>(id, { type: 'encode', id, query, passage });
  }

  /**
   * Rejects every queued and running request with an `AbortError` at once, then stops the thread. The worker
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
      worker.ref();
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'release' } satisfies ToWorker);
      await exited;
    })();
    return this.#released;
  }

  #attach(worker: Worker): void {
    worker.on('message', (message: FromWorker) => this.#receive(message));
    worker.on('error', (error) => this.#crashed(worker, error));
    worker.on('exit', (code) =>
      this.#crashed(worker, new WorkerExitError(`The scoring worker exited (code ${code}); it is being replaced.`)),
    );
    worker.unref();
  }

  #request<T>(id: number, message: ToWorker): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const promise = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    // Held while any request is out, so a script awaiting a score does not exit under it.
    if (this.#pending.size === 1) this.#worker.ref();
    const post = () => {
      if (this.#pending.has(id)) this.#worker.postMessage(message);
    };
    if (this.#restarting === undefined) post();
    else void this.#restarting.then(post);
    return promise;
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    if (this.#pending.size === 0 && this.#closed === undefined) this.#worker.unref();
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
      default:
        return;
    }
  }

  /** The current worker died: fail what it held, then replace it within the restart budget. */
  #crashed(worker: Worker, error: Error): void {
    if (worker !== this.#worker || this.#closed !== undefined || this.#restarting !== undefined) return;
    void worker.terminate();
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
    this.#restarting = bootWorker(this.#start).then(
      ({ worker: replacement }) => {
        this.#restarting = undefined;
        if (this.#closed !== undefined) {
          void replacement.terminate();
          return;
        }
        this.#worker = replacement;
        this.#attach(replacement);
        if (this.#pending.size > 0) replacement.ref();
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
