// The Node platform, which Deno and Bun run too: onnxruntime-node, the Rust tokenizer's napi binding, files on disk
// with the folder cache of hub/resolve.ts, and worker_threads. Both native bindings are imported on first use, so
// an app that only talks to a rerank server never loads them.
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { getPriority, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-common';
import { inspectFailedCacheFile, resolveModelFiles } from '../hub/resolve.js';
import type { TokenizerBinding } from '../tokenize/binding.js';
import { importBinding } from './import-binding.js';
import { openGguf } from './llama-cpp.js';
import type {
  GraphLocation,
  OnnxRuntime,
  Platform,
  PlatformSessionOptions,
  WorkerEvents,
  WorkerHandle,
  WorkerHost,
} from './platform.js';

let onnx: Promise<OnnxRuntime> | undefined;

function loadOnnx(): Promise<OnnxRuntime> {
  onnx ??= importBinding('onnxruntime-node', () => import('onnxruntime-node')).then((ort) => ({
    InferenceSession: ort.InferenceSession,
    Tensor: ort.Tensor,
  }));
  // A failed import is not kept: installing the package fixes the next load.
  onnx.catch(() => (onnx = undefined));
  return onnx;
}

async function loadTokenizer(json: string): Promise<TokenizerBinding> {
  const { Tokenizer } = await importBinding('tokenizers', () => import('tokenizers'));
  const tokenizer = Tokenizer.fromString(json);
  // Truncation and padding saved in the file are for whole inputs; the pair tokenizer cuts each side itself.
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  return {
    encodeTexts: (texts) =>
      Promise.all(
        texts.map(async (text) => (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds()),
      ),
    tokenToId: (token) => tokenizer.tokenToId(token) ?? undefined,
  };
}

async function createSession(
  location: GraphLocation,
  { wasmPaths: _wasm, threads: _threads, ...options }: PlatformSessionOptions,
): Promise<InferenceSession> {
  const ort = await loadOnnx();
  checkProviderLibraries(options.executionProviders);
  const rewritten = location.rewrite === undefined ? undefined : await rewriteGraph(location.onnx, location.rewrite);
  if (rewritten === undefined) {
    // ONNX Runtime finds external weights beside the file by itself.
    return ort.InferenceSession.create(location.onnx, options);
  }
  // Made from bytes, the session is told where the file's external weights are.
  const folder = { model_external_initializers_file_folder_path: dirname(location.onnx) };
  const extra = (options.extra ?? {}) as Record<string, Record<string, unknown> | undefined>;
  return ort.InferenceSession.create(rewritten, {
    ...options,
    extra: { ...extra, session: { ...extra['session'], ...folder } },
  });
}

/** A graph's bytes rewritten, reading its external weights by range from the files beside it. */
async function rewriteGraph(path: string, rewrite: NonNullable<GraphLocation['rewrite']>) {
  const handles = new Map<string, ReturnType<typeof open>>();
  try {
    return await rewrite(new Uint8Array(await readFile(path)), async (location, offset, length) => {
      const file = join(dirname(path), location);
      let handle = handles.get(file);
      if (handle === undefined) handles.set(file, (handle = open(file, 'r')));
      const bytes = new Uint8Array(length);
      const { bytesRead } = await (await handle).read(bytes, 0, length, offset);
      if (bytesRead !== length) throw new Error(`${file} ends before byte ${offset + length}`);
      return bytes;
    });
  } finally {
    await Promise.all([...handles.values()].map(async (handle) => (await handle).close()));
  }
}

// Providers that onnxruntime-node knows by name but loads from a library of their own beside its binding, which only
// its install script downloads (the CPU build has none).
const PROVIDER_LIBRARIES = ['cuda', 'tensorrt'];

/**
 * Refuses a GPU provider whose library is not installed before ONNX Runtime tries to load it: ONNX Runtime would
 * print its own load failure to stderr (an `[E:onnxruntime:…] Failed to load library` line) and then throw, and the
 * thrown error already says it all. Where the binding's folder cannot be found, ONNX Runtime decides as before.
 */
function checkProviderLibraries(providers: PlatformSessionOptions['executionProviders']): void {
  for (const provider of providers ?? []) {
    const name = (typeof provider === 'string' ? provider : provider.name).toLowerCase();
    if (!PROVIDER_LIBRARIES.includes(name)) continue;
    const folder = bindingFolder();
    if (folder === undefined || !existsSync(folder)) return;
    const file =
      process.platform === 'win32' ? `onnxruntime_providers_${name}.dll` : `libonnxruntime_providers_${name}.so`;
    if (!existsSync(join(folder, file))) {
      throw new Error(
        `the ${name} execution provider's shared library ${file} is not in ${folder}: install onnxruntime-node ` +
          'with its install script allowed (it downloads the GPU libraries), or leave the provider out',
      );
    }
  }
}

/** onnxruntime-node's folder of native files for this platform, where its binding and libraries sit. */
function bindingFolder(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

// Built code sits in dist/ beside dist/worker.js. Source runs (tests, tsx) start the TypeScript file through tsx's
// loader, registered inside the new thread, since workers do not inherit the parent's loaders.
const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

function startThread(start: unknown, workerUrl: string | URL | undefined): Worker {
  // Workers inherit the parent's Node flags; `--input-type` (set by `node -e` scripts) is refused for a file.
  let execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type'));
  for (;;) {
    try {
      return newThread(start, execArgv, workerUrl);
    } catch (error) {
      // Per-process flags such as --expose-gc are refused for a thread: drop the ones Node names and retry.
      const refused = refusedFlags(error);
      const kept = execArgv.filter((flag) => !refused.some((r) => flag === r || flag.startsWith(`${r}=`)));
      if (refused.length === 0 || kept.length === execArgv.length) throw error;
      execArgv = kept;
    }
  }
}

function newThread(start: unknown, execArgv: string[], workerUrl: string | URL | undefined): Worker {
  if (workerUrl !== undefined) return new Worker(workerUrl, { workerData: start, execArgv });
  if (!RUNNING_FROM_SOURCE) return new Worker(new URL('./worker.js', import.meta.url), { workerData: start, execArgv });
  const entry = JSON.stringify(new URL('../engine/worker.ts', import.meta.url).href);
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

function startWorker(
  start: unknown,
  events: WorkerEvents,
  options: { workerUrl?: string | URL | undefined },
): WorkerHandle {
  const worker = startThread(start, options.workerUrl);
  worker.on('message', (message: unknown) => events.message(message));
  worker.on('error', (error) => events.error(error));
  worker.on('exit', (code) => events.exit(code));
  // Held while the model loads; the caller lets go once it is ready and idle.
  return {
    post: (message) => worker.postMessage(message),
    hold: (held) => (held ? worker.ref() : worker.unref()),
    terminate: () => void worker.terminate(),
  };
}

function workerHost(): WorkerHost {
  if (parentPort === null) throw new Error('The scoring worker runs only as a worker thread.');
  const port: MessagePort = parentPort;
  return {
    start: () => Promise.resolve(workerData),
    onMessage: (listener) => port.on('message', listener),
    post: (message, transfer = []) => port.postMessage(message, transfer),
    // Deno's worker port has no close(); the thread that started the worker terminates it after the last message.
    close: () => (port as Partial<MessagePort>).close?.(),
  };
}

// One 'exit' listener serves every loaded model, so loading many adds no listener past Node's leak warning.
const exitHooks = new Set<() => void>();
let exitListened = false;

function onExit(hook: () => void): () => void {
  if (!exitListened) {
    exitListened = true;
    process.on('exit', () => {
      for (const run of exitHooks) run();
    });
  }
  exitHooks.add(hook);
  return () => void exitHooks.delete(hook);
}

// Linux keeps a nice value per thread and new threads inherit it, so lowering the worker's priority before its
// session exists also lowers ONNX Runtime's pool threads, and the caller's event loop wins the CPU whenever it
// needs it. Elsewhere the call would change the whole process, so it is not made. A caller already running nicer
// than asked keeps its own value.
function lowerPriority(nice: number): void {
  if (nice <= 0 || process.platform !== 'linux') return;
  try {
    if (getPriority() < nice) setPriority(nice);
  } catch {
    // A sandbox may refuse it; scoring works the same, only without the lower priority.
  }
}

export const nodePlatform: Platform = {
  name: 'node',
  onnx: loadOnnx,
  executionProviders: async () =>
    (await importBinding('onnxruntime-node', () => import('onnxruntime-node')))
      .listSupportedBackends()
      .map((backend) => backend.name),
  createSession,
  loadTokenizer,
  readText: (location) => readFile(location, 'utf8'),
  models: { resolve: resolveModelFiles, inspectFailed: inspectFailedCacheFile },
  startWorker,
  workerHost,
  lowerPriority,
  openGguf,
  onExit,
};
