import { Worker } from 'node:worker_threads';
import { abortError, CrossEncoderError, DisposedError } from '../errors.js';
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
 * Runs the model in a worker thread. Requests queue there one at a time; the caller's event loop only copies
 * strings in and scores out. The thread is unreferenced while idle, so a loaded model never keeps a process alive.
 */
export class WorkerBackend implements ScoringBackend {
  readonly info: PairModelInfo;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed: Error | undefined;
  #released: Promise<void> | undefined;

  private constructor(worker: Worker, info: PairModelInfo) {
    this.#worker = worker;
    this.info = info;
    worker.on('message', (message: FromWorker) => this.#receive(message));
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) =>
      this.#fail(new CrossEncoderError('WORKER_EXIT', `The scoring worker exited (code ${code}).`)),
    );
    worker.unref();
  }

  /** `nice`: see {@link WorkerStart.nice}. */
  static open(spec: PairModelSpec, nice = 0): Promise<WorkerBackend> {
    const worker = startWorker({ spec, nice });
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(missingWorkerFile(error) ?? error);
      const onExit = (code: number) =>
        reject(new CrossEncoderError('WORKER_EXIT', `The scoring worker exited while loading (code ${code}).`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (message: FromWorker) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (message.type === 'ready') resolve(new WorkerBackend(worker, message.info));
        else {
          void worker.terminate();
          reject(message.type === 'failed' ? fromWire(message.error) : new Error(`unexpected ${message.type}`));
        }
      });
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
    });
    if (signal === undefined) return result;
    // The caller hears of the abort at once; the worker stops at its next batch boundary.
    const onAbort = () => {
      this.#worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
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
   * Rejects every queued and running request with an `AbortError` at once, then stops the thread. The worker
   * skips what is queued and stops the running request at its next batch boundary, so this resolves within one
   * batch however long the call in progress would have run.
   */
  release(): Promise<void> {
    if (this.#released !== undefined) return this.#released;
    if (this.#closed !== undefined) return Promise.resolve();
    this.#closed = new DisposedError();
    const aborted = disposedAbort();
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(aborted);
    this.#worker.ref();
    this.#released = new Promise<void>((resolve) => {
      this.#worker.once('exit', () => resolve());
    });
    this.#worker.postMessage({ type: 'release' } satisfies ToWorker);
    return this.#released;
  }

  #request<T>(id: number, message: ToWorker): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const promise = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    // Held while any request is out, so a script awaiting a score does not exit under it.
    if (this.#pending.size === 1) this.#worker.ref();
    this.#worker.postMessage(message);
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

  #fail(error: Error): void {
    this.#closed ??= error;
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(error);
  }
}
