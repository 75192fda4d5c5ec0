/**
 * `langchain-cross-encoder serve`: loads a model and serves it over HTTP until SIGTERM or SIGINT, then drains
 * in-flight requests and exits. The bin wrapper passes the loader, so this module stays free of the engine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Scorer } from '../cross-encoder.js';
import { RerankServer, type RerankServerOptions } from './server.js';
import { MAX_TIMEOUT_MS } from '../validate.js';

/** Weights the served model runs with. */
export type ServeVariant = 'fp32' | 'int8' | 'fp16';

/** What {@link runServe} needs from its host. */
export interface ServeIo {
  /**
   * Loads the model, e.g. `CrossEncoder.load(model, { variant, threads })`, or with `ggufFile` in place of `variant`
   * when the weights are GGUF.
   */
  loadScorer(
    model: string,
    options: {
      variant: ServeVariant;
      threads: number | undefined;
      ggufFile: string | undefined;
      maxLength?: number | undefined;
    },
  ): Promise<Scorer & { dispose?(): Promise<void> }>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Where SIGTERM and SIGINT are heard; the default is `process`. Tests pass an emitter of their own. */
  signals?: { once(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown };
  /** Called once the port is bound. */
  onListening?(server: RerankServer): void;
  /** Environment read for `LCE_API_KEY`; the default is `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The parent process id, read every second; when it changes (the parent exited, e.g. `npx` after a SIGTERM) the
   * server drains and exits as on SIGTERM. The default reads `process.ppid`.
   */
  parentPid?: () => number;
}

// How often the parent is checked: a server orphaned by its launcher stops within about this long.
const PARENT_CHECK_MS = 1_000;

export const SERVE_HELP = `Usage: langchain-cross-encoder serve --model <dir|hub id> [options]

Serves a cross-encoder over HTTP: TEI's POST /rerank, Cohere-style POST /v1/rerank and
/v2/rerank, GET /health (liveness), /ready (readiness: the model is up and the queue has
room), /info and /metrics (Prometheus). SIGTERM drains, then exits.

Options:
  --model <dir|hub id>        the model to serve (required)
  --port <n>                  port to listen on (default 8080; 0 picks a free one)
  --host <addr>               address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
  --variant fp32|int8|fp16    weights: onnx/model.onnx, model_quantized.onnx, model_fp16.onnx (default fp32)
  --gguf-file <path>          a reranker on a language model: GGUF weights inside the model run by
                              llama.cpp (needs node-llama-cpp); replaces --variant
  --threads <n>               ONNX Runtime (or llama.cpp) threads (default: the runtime's choice)
  --max-length <n>            tokens per pair, longer ones cut (default: the model's; 8192 at most
                              for a reranker on a language model)
  --model-name <name>         name in /info and Cohere answers (default: the hub id, or the folder's name)
  --api-key-file <path>       require Authorization: Bearer <key>, the key read from this file
                              (or set LCE_API_KEY; --api-key <key> works too but shows in ps)
  --no-micro-batch            score each request on its own instead of merging concurrent ones
  --max-batch-tokens <n>      estimated tokens per merged engine call (default 16384)
  --max-queue <n>             waiting requests before 429 + Retry-After (default 256)
  --max-queue-bytes <n>       text held by queued requests before 429 (default 67108864)
  --no-admission              do not refuse requests the measured speed cannot finish in time
  --max-connections <n>       open connections; more are closed at once (default 1024)
  --max-texts <n>             texts per request before 422 (default 1000)
  --max-text-chars <n>        characters per text before 422 (default 100000)
  --max-body-bytes <n>        request body bytes before 413 (default 4194304)
  --request-timeout-ms <n>    longest a request may take, upload included, before 503 (default 30000)
  --drain-timeout-ms <n>      longest SIGTERM waits for requests in flight (default 10000)
  --quiet                     no log line per request (errors are still logged)
  -h, --help                  this text

Logs are JSON lines: one per request on stdout ({"event":"request","route","status","texts","ms"}),
one per server-side failure on stderr ({"event":"error",...}); never any query or document text.
The process also drains and exits when its parent exits (e.g. npx after a SIGTERM).
`;

const OPTIONS = {
  model: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  variant: { type: 'string' },
  'gguf-file': { type: 'string' },
  'max-length': { type: 'string' },
  threads: { type: 'string' },
  'api-key': { type: 'string' },
  'api-key-file': { type: 'string' },
  'model-name': { type: 'string' },
  'no-micro-batch': { type: 'boolean' },
  'no-admission': { type: 'boolean' },
  'max-batch-tokens': { type: 'string' },
  'max-queue': { type: 'string' },
  'max-queue-bytes': { type: 'string' },
  'max-connections': { type: 'string' },
  'drain-timeout-ms': { type: 'string' },
  quiet: { type: 'boolean' },
  'max-texts': { type: 'string' },
  'max-text-chars': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'request-timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

/** Runs the server; resolves with the exit code once a signal has drained it (or at once on bad usage). */
export async function runServe(argv: readonly string[], io: ServeIo): Promise<number> {
  let settings: ReturnType<typeof readSettings>;
  try {
    settings = readSettings(argv, io.env ?? process.env);
  } catch (error) {
    io.stderr.write(`serve: ${(error as Error).message}\n\n${SERVE_HELP}`);
    return 2;
  }
  if (settings === 'help') {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const { model, variant, threads, ggufFile, maxLength, server: serverOptions, quiet, keyOnCommandLine } = settings;
  if (keyOnCommandLine) {
    io.stderr.write('serve: --api-key shows in the process list; prefer --api-key-file or LCE_API_KEY\n');
  }
  const line = (out: { write(text: string): unknown }, entry: Record<string, unknown>) =>
    out.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  let scorer: Awaited<ReturnType<ServeIo['loadScorer']>>;
  try {
    scorer = await io.loadScorer(model, { variant, threads, ggufFile, maxLength });
  } catch (error) {
    io.stderr.write(`serve: could not load ${model}: ${(error as Error).message}\n`);
    return 1;
  }
  let server: RerankServer;
  try {
    server = await RerankServer.start({
      ...serverOptions,
      scorer,
      ...(quiet ? {} : { onRequest: (entry) => line(io.stdout, { level: 'info', event: 'request', ...entry }) }),
      onError: (entry) => line(io.stderr, { level: 'error', event: 'error', ...entry }),
    });
  } catch (error) {
    await scorer.dispose?.();
    io.stderr.write(
      `serve: could not listen on ${serverOptions.host}:${serverOptions.port}: ${(error as Error).message}\n`,
    );
    return 1;
  }
  io.stdout.write(
    `serve: ${model} on ${server.url} (POST /rerank, /v1/rerank, /v2/rerank; GET /health, /ready, /info, /metrics)\n`,
  );
  io.onListening?.(server);
  const signals = io.signals ?? process;
  const parentPid = io.parentPid ?? (() => process.ppid);
  const parent = parentPid();
  let watch: NodeJS.Timeout | undefined;
  const signal = await new Promise<string>((resolve) => {
    signals.once('SIGTERM', () => resolve('SIGTERM'));
    signals.once('SIGINT', () => resolve('SIGINT'));
    // Launchers such as npx may exit on SIGTERM without passing it on; an orphaned server must not keep serving.
    watch = setInterval(() => {
      if (parentPid() !== parent) resolve('parent process exited');
    }, PARENT_CHECK_MS);
    watch.unref();
  });
  clearInterval(watch);
  io.stdout.write(`serve: ${signal}, finishing requests in flight\n`);
  await server.close();
  await scorer.dispose?.();
  io.stdout.write('serve: stopped\n');
  return 0;
}

function readSettings(argv: readonly string[], env: Readonly<Record<string, string | undefined>>) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return 'help' as const;
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.model === undefined || values.model.trim() === '') throw new UsageError('--model is required');
  const variant = (values.variant ?? 'fp32') as ServeVariant;
  if (!['fp32', 'int8', 'fp16'].includes(variant))
    throw new UsageError(`--variant must be fp32, int8 or fp16, got ${variant}`);
  const ggufFile = values['gguf-file'];
  if (ggufFile !== undefined && values.variant !== undefined) {
    throw new UsageError('give --variant or --gguf-file, not both: GGUF weights have no ONNX variant');
  }
  const apiKey = readApiKey(values['api-key'], values['api-key-file'], env.LCE_API_KEY);
  const server: Omit<RerankServerOptions, 'scorer'> & { port: number; host: string } = {
    port: int(values.port, '--port', 8080, 0),
    host: values.host ?? '127.0.0.1',
    modelName: values['model-name'] ?? publicModelName(values.model),
    microBatch: values['no-micro-batch'] !== true,
    admission: values['no-admission'] !== true,
    maxBatchTokens: int(values['max-batch-tokens'], '--max-batch-tokens', 16_384, 1),
    maxQueuedRequests: int(values['max-queue'], '--max-queue', 256, 1),
    maxQueuedBytes: int(values['max-queue-bytes'], '--max-queue-bytes', 64 * 1024 * 1024, 1),
    maxConnections: int(values['max-connections'], '--max-connections', 1024, 1),
    drainTimeoutMs: int(values['drain-timeout-ms'], '--drain-timeout-ms', 10_000, 0),
    maxTexts: int(values['max-texts'], '--max-texts', 1000, 1),
    maxTextChars: int(values['max-text-chars'], '--max-text-chars', 100_000, 1),
    maxBodyBytes: int(values['max-body-bytes'], '--max-body-bytes', 4 * 1024 * 1024, 1),
    requestTimeoutMs: int(values['request-timeout-ms'], '--request-timeout-ms', 30_000, 1),
    ...(apiKey === undefined ? {} : { apiKey }),
  };
  if (server.port > 65535) throw new UsageError(`--port must be at most 65535, got ${server.port}`);
  for (const [flag, ms] of [
    ['--drain-timeout-ms', server.drainTimeoutMs],
    ['--request-timeout-ms', server.requestTimeoutMs],
  ] as const) {
    if ((ms ?? 0) > MAX_TIMEOUT_MS)
      throw new UsageError(`${flag} must be at most ${MAX_TIMEOUT_MS} (about 24.8 days), got ${ms}`);
  }
  const threads = values.threads === undefined ? undefined : int(values.threads, '--threads', 0, 1);
  const maxLength = values['max-length'] === undefined ? undefined : int(values['max-length'], '--max-length', 0, 2);
  return {
    model: values.model,
    variant,
    threads,
    ggufFile,
    maxLength,
    server,
    quiet: values.quiet === true,
    keyOnCommandLine: values['api-key'] !== undefined,
  };
}

/** The key from the command line, a file or the environment, in that order; an empty one is refused. */
function readApiKey(flag: string | undefined, file: string | undefined, fromEnv: string | undefined) {
  if (flag !== undefined && file !== undefined) throw new UsageError('give --api-key or --api-key-file, not both');
  let key: string | undefined;
  let source: string;
  if (file !== undefined) {
    source = `--api-key-file ${file}`;
    try {
      key = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--api-key-file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else if (flag !== undefined) {
    source = '--api-key';
    key = flag;
  } else {
    source = 'LCE_API_KEY';
    key = fromEnv;
  }
  if (key === undefined) return undefined;
  // A file usually ends with a newline; the key is what comes before it.
  key = key.trim();
  if (key === '') throw new UsageError(`${source} is empty; give a key, or leave it out to serve without one`);
  return key;
}

/** What clients see as the model's name: a hub id as given, a local folder by its name only (never its path). */
function publicModelName(model: string): string {
  return existsSync(model) ? basename(resolve(model)) : model;
}

function int(text: string | undefined, flag: string, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min) {
    throw new UsageError(`${flag} must be an integer of at least ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}
