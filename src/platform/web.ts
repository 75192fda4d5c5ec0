// The browser platform (pages and web workers): onnxruntime-web (WASM, WebGPU when asked), a WebAssembly build of
// the Rust tokenizer, model files fetched over HTTP and kept with the Cache API, and Web Workers. No `node:` import
// may reach this file; the layer test checks the whole browser build for one.
import type { InferenceSession } from 'onnxruntime-common';
import { readModelBytes, readModelText, webModelStore } from '../hub/web-store.js';
import type {
  GraphLocation,
  OnnxRuntime,
  Platform,
  PlatformSessionOptions,
  WorkerEvents,
  WorkerHandle,
  WorkerHost,
} from './platform.js';
import { importBinding } from './import-binding.js';
import { InvalidArgumentError } from '../errors.js';
import { loadWebTokenizer } from './web-tokenizer.js';

type OnnxWeb = typeof import('onnxruntime-web');

let onnx: Promise<OnnxWeb> | undefined;

function loadOnnxWeb(): Promise<OnnxWeb> {
  onnx ??= importBinding('onnxruntime-web', () => import('onnxruntime-web'));
  onnx.catch(() => (onnx = undefined));
  return onnx;
}

async function loadOnnx(): Promise<OnnxRuntime> {
  const ort = await loadOnnxWeb();
  return { InferenceSession: ort.InferenceSession, Tensor: ort.Tensor };
}

/**
 * The last file part of a URL: the name an ONNX graph refers to its external weights by. A `blob:` URL of a file
 * kept in memory carries that name in its fragment.
 */
function fileName(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'blob:') return decodeURIComponent(parsed.hash.slice(1));
  return decodeURIComponent(parsed.pathname.split('/').pop() ?? '');
}

async function createSession(
  location: GraphLocation,
  { wasmPaths, threads, ...options }: PlatformSessionOptions,
): Promise<InferenceSession> {
  const ort = await loadOnnxWeb();
  // The WASM runtime is set up once per thread, by its first session; later values are ignored by ONNX Runtime.
  if (wasmPaths !== undefined) ort.env.wasm.wasmPaths = wasmPaths;
  if (threads !== undefined) ort.env.wasm.numThreads = threads;
  // Already inside a worker (by default): ONNX Runtime's own proxy worker would only add a hop.
  ort.env.wasm.proxy = false;
  const [model, weights] = await Promise.all([
    readModelBytes(location.onnx),
    location.externalData === undefined ? undefined : readModelBytes(location.externalData),
  ]);
  const { intraOpNumThreads: _intra, interOpNumThreads: _inter, ...webOptions } = options;
  const graph =
    (await location.rewrite?.(new Uint8Array(model), async (_name, offset, length) => {
      if (weights === undefined) throw new Error(`${location.onnx} names external weights that were not given`);
      return new Uint8Array(weights, offset, length);
    })) ?? new Uint8Array(model);
  return ort.InferenceSession.create(graph, {
    ...webOptions,
    ...(weights === undefined
      ? {}
      : { externalData: [{ path: fileName(location.externalData as string), data: new Uint8Array(weights) }] }),
  });
}

/** The start message a browser worker waits for before anything else: Web Workers have no start data. */
interface StartMessage {
  type: '@lce/start';
  start: unknown;
}

function startWorker(
  start: unknown,
  events: WorkerEvents,
  options: { workerUrl?: string | URL | undefined },
): WorkerHandle {
  // The literal `new Worker(new URL(..., import.meta.url))` is what bundlers (Vite, webpack, esbuild plugins) look for
  // to ship the worker file along with the app; `workerUrl` serves setups that place it elsewhere.
  const worker =
    options.workerUrl === undefined
      ? new Worker(new URL('./web-worker.js', import.meta.url), { type: 'module' })
      : new Worker(options.workerUrl, { type: 'module' });
  worker.onmessage = (event) => events.message(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    events.error(
      new Error(`The scoring worker failed: ${event.message || 'it could not be started (check workerUrl)'}`),
    );
  };
  worker.onmessageerror = () => events.error(new Error('The scoring worker sent a message that could not be read.'));
  worker.postMessage({ type: '@lce/start', start } satisfies StartMessage);
  return {
    post: (message) => worker.postMessage(message),
    hold: () => {},
    terminate: () => worker.terminate(),
  };
}

interface WorkerScope {
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  close(): void;
}

function workerHost(): WorkerHost {
  const scope = globalThis as unknown as WorkerScope;
  const listeners: ((message: unknown) => void)[] = [];
  const early: unknown[] = [];
  let resolveStart: (start: unknown) => void = () => {};
  const started = new Promise<unknown>((resolve) => (resolveStart = resolve));
  scope.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as Partial<StartMessage> | undefined;
    if (data?.type === '@lce/start') return resolveStart(data.start);
    // Requests that arrive while the model loads wait for the listener the worker adds once it is ready.
    if (listeners.length === 0) early.push(event.data);
    else for (const listener of listeners) listener(event.data);
  });
  return {
    start: () => started,
    onMessage: (listener) => {
      listeners.push(listener);
      for (const message of early.splice(0)) listener(message);
    },
    post: (message, transfer = []) => scope.postMessage(message, transfer),
    close: () => scope.close(),
  };
}

export const webPlatform: Platform = {
  name: 'web',
  onnx: loadOnnx,
  // The providers onnxruntime-web's default build registers; which of them a browser can start shows only when a
  // session opens (WebGPU needs a GPU adapter), and that failure is a SessionOpenError.
  executionProviders: async () => ['wasm', 'cpu', 'webgpu', 'webnn', 'webgl'],
  createSession,
  loadTokenizer: loadWebTokenizer,
  readText: readModelText,
  models: webModelStore,
  startWorker,
  workerHost,
  // Browsers give pages no say over thread priorities.
  lowerPriority: () => {},
  // A page that closes stops its workers itself; nothing runs at that moment.
  onExit: () => () => {},
  openGguf: async () => {
    throw new InvalidArgumentError(
      'options.ggufFile',
      'GGUF weights run with llama.cpp through node-llama-cpp, a Node addon that browsers cannot load. Leave ' +
        'ggufFile out to run the ONNX files with ONNX Runtime Web.',
    );
  },
};
