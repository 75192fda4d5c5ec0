import type { InferenceSession, InferenceSessionFactory, TensorConstructor } from 'onnxruntime-common';
import type { ModelStore } from '../hub/index.js';
import type { TokenizerLoader } from '../tokenize/binding.js';

/** The ONNX Runtime binding of a platform: both implement onnxruntime-common's API. */
export interface OnnxRuntime {
  InferenceSession: InferenceSessionFactory;
  Tensor: TensorConstructor;
}

/** Where a graph's files are, as the platform's model store handed them out. */
export interface GraphLocation {
  /** The ONNX file. */
  onnx: string;
  /** Its external weights (`<file>.onnx_data`), when the graph has them. */
  externalData?: string | undefined;
  /**
   * A rewrite of the graph's bytes before the session is made (see engine/decoder-cut.ts), given a reader of its
   * external weights by the name the graph gives them; `undefined` back keeps the file as it is.
   */
  rewrite?: GraphRewrite | undefined;
}

/** Rewrites a graph's bytes; `readExternal` reads a range of one of its external weights files. */
export type GraphRewrite = (
  model: Uint8Array,
  readExternal: (location: string, offset: number, length: number) => Promise<Uint8Array>,
) => Promise<Uint8Array | undefined>;

/** Options a session is created with, plus the few that only some platforms read. */
export interface PlatformSessionOptions extends InferenceSession.SessionOptions {
  /** Browsers: where ONNX Runtime Web's `.wasm` files are served from (a folder URL ending in `/`). */
  wasmPaths?: string | undefined;
  /** Threads per forward pass, when the caller set it. Node reads `intraOpNumThreads`; browsers set the WASM pool. */
  threads?: number | undefined;
}

/** What the scoring worker reports to the thread that started it. */
export interface WorkerEvents {
  message(message: unknown): void;
  error(error: Error): void;
  /** The worker stopped (Node reports exits; a browser worker only stops when terminated). */
  exit(code: number): void;
}

/** The calling side's handle on a scoring worker. */
export interface WorkerHandle {
  post(message: unknown): void;
  /** Node: whether the worker keeps the process alive. Browsers have no such notion. */
  hold(held: boolean): void;
  terminate(): void;
}

/** The worker side: the start data, messages in and out. */
export interface WorkerHost {
  /** What the worker was started with. */
  start(): Promise<unknown>;
  onMessage(listener: (message: unknown) => void): void;
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  /** Ends the worker once its last message is sent. */
  close(): void;
}

/** A reranker's GGUF weights opened with llama.cpp; contexts for prompts of a given length are made from it. */
export interface GgufModel {
  /** A context that holds prompts of up to `contextTokens` tokens. */
  openRanker(contextTokens: number): Promise<GgufRanker>;
  release(): Promise<void>;
}

/** One llama.cpp ranking context: scores one prompt, given as token ids, at a time. */
export interface GgufRanker {
  /** The longest prompt it holds. */
  readonly contextTokens: number;
  /**
   * The model's ranking output for one prompt: the probabilities of "yes" and "no" (summing to 1), `no` being read
   * as `1 - yes` where the binding reports only the first. Given `shared`, the leading ids (up to that many) this
   * prompt has in common with the one before it are kept in the context's cache rather than evaluated again.
   */
  rank(ids: readonly number[], shared?: number): Promise<{ yes: number; no: number }>;
  /** How many tokens llama.cpp evaluates for `ids`: more than `ids.length` when it adds tokens of its own. */
  evaluatedLength(ids: readonly number[]): number;
  release(): Promise<void>;
}

/**
 * Everything that differs between Node (with Deno and Bun, which run the Node build) and browsers. The engine is
 * written once against this; each build of the package carries one implementation (see `current.ts`).
 */
export interface Platform {
  readonly name: 'node' | 'web';
  /** ONNX Runtime, loaded on first use so that importing the package loads no binding. */
  onnx(): Promise<OnnxRuntime>;
  /** The execution providers this platform's ONNX Runtime build has (e.g. `cpu`; `wasm`, `webgpu`). */
  executionProviders(): Promise<readonly string[]>;
  /** Opens a graph that the model store resolved. */
  createSession(location: GraphLocation, options: PlatformSessionOptions): Promise<InferenceSession>;
  /** Builds the model's tokenizer from the text of its `tokenizer.json`. */
  loadTokenizer: TokenizerLoader;
  /** Reads a text file that the model store resolved. */
  readText(location: string): Promise<string>;
  /** Finds models' files and caches downloads. */
  readonly models: ModelStore;
  /** Starts the scoring worker with `start` as its start data. */
  startWorker(start: unknown, events: WorkerEvents, options: { workerUrl?: string | URL | undefined }): WorkerHandle;
  /** Inside the scoring worker: its link to the thread that started it. */
  workerHost(): WorkerHost;
  /** Opens GGUF weights with llama.cpp (`node-llama-cpp`, Node only), on the CPU with `threads` threads. */
  openGguf(path: string, options: { threads: number | undefined }): Promise<GgufModel>;
  /** Inside the scoring worker: lowers its priority (and that of the threads it starts) where the platform can. */
  lowerPriority(nice: number): void;
  /**
   * Runs `hook` when the process is about to exit, before worker threads are torn down (Node's `exit` event);
   * returns a function that removes it. Browsers have no such moment: there it is never called.
   */
  onExit(hook: () => void): () => void;
}
