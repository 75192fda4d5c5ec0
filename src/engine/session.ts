import type { InferenceSession } from 'onnxruntime-common';
import { CrossEncoderError, InvalidArgumentError, ModelFormatError, SessionOpenError } from '../errors.js';
import { platform } from '../platform/current.js';
import type { GraphLocation, PlatformSessionOptions } from '../platform/platform.js';
import { describe } from '../validate.js';

/** ONNX Runtime settings passed through to the session. Anything left out keeps the engine's CPU defaults. */
export interface SessionOptions {
  /**
   * Threads for one forward pass. Node: ONNX Runtime's own default is one per physical core. Browsers: the WASM
   * thread pool, which needs a cross-origin isolated page; ONNX Runtime Web's default is 1 without isolation.
   * @default undefined
   */
  threads?: number;
  /**
   * Execution providers in order of preference: on Node e.g. `['cuda', 'cpu']` (CUDA needs the GPU build of
   * onnxruntime-node, `ONNXRUNTIME_NODE_INSTALL=cuda12 npm install`); in browsers e.g. `['webgpu', 'wasm']`.
   * @default ['cpu'] on Node, ['wasm'] in browsers
   */
  executionProviders?: InferenceSession.SessionOptions['executionProviders'];
  /**
   * Browsers: the folder URL (ending in `/`) that serves ONNX Runtime Web's `.wasm` files, for pages that host them
   * themselves. Node ignores it.
   * @default next to onnxruntime-web's script, as the page's bundler placed it
   */
  wasmPaths?: string;
  /**
   * Raw ONNX Runtime options, applied last; they override the fields above. The engine turns intra-op
   * spinning off; `extra: { session: { intra_op: { allow_spinning: '1' } } }` turns it back on.
   */
  ortOptions?: InferenceSession.SessionOptions;
}

/** The inputs a text-pair model may declare; only these are ever fed. */
export type PairInputName = 'input_ids' | 'attention_mask' | 'token_type_ids';

const KNOWN_INPUTS: readonly PairInputName[] = ['input_ids', 'attention_mask', 'token_type_ids'];

/** A loaded ONNX graph with the facts the engine reads once: which inputs it wants and how wide its output is. */
export interface LoadedSession {
  session: InferenceSession;
  inputs: readonly PairInputName[];
  /** Whether integer inputs are int32 rather than the usual int64. */
  int32Inputs: boolean;
  outputName: string;
  /** The last output dimension when the graph states it (labels per pair, or hidden size); `undefined` when symbolic. */
  outputWidth: number | undefined;
}

/**
 * What the graph is expected to output: one row of logits per pair (`'logits'`, cross-encoders), or token states
 * (`'hidden-states'`, embedding models, pooled by the caller).
 */
export type GraphKind = 'logits' | 'hidden-states';

// How ONNX Runtime words a failure of the session's settings rather than of the file: a provider's library that will
// not load or a backend it lacks, a thread count or session option it refuses.
const SETTINGS_FAILURE =
  /ExecutionProvider|execution provider|backend not found|no available backend|shared library|NumThreads|is invalid:|SessionOption/i;

/** Opens an ONNX file and checks it looks like the expected kind of text model before any input reaches it. */
export async function openSession(
  location: GraphLocation,
  options: SessionOptions = {},
  kind: GraphKind = 'logits',
): Promise<LoadedSession> {
  return describeSession(await createSession(location, options), location.onnx, kind);
}

/**
 * Creates the platform's session for a graph with the engine's options. A file ONNX Runtime cannot load is named as
 * such; settings it refuses are a `SessionOpenError`, which never blames the file.
 */
export async function createSession(location: GraphLocation, options: SessionOptions = {}): Promise<InferenceSession> {
  const path = location.onnx;
  checkSessionOptions(options);
  try {
    return await platform.createSession(location, resolveSessionOptions(options));
  } catch (cause) {
    if (CrossEncoderError.isInstance(cause)) throw cause; // a binding that is not installed, named by the platform
    const reason = (cause as Error).message;
    // A provider that cannot start or an option ONNX Runtime refuses is a setting to change: it must not blame the
    // file (nor set off the cache's repair). Anything else is about the graph, as before.
    if (SETTINGS_FAILURE.test(reason)) {
      throw new SessionOpenError(
        path,
        `ONNX Runtime could not open a session on ${path} with these settings (${reason}). Check ` +
          '`executionProviders` (a GPU provider needs the matching onnxruntime-node build), `threads` and `ortOptions`; ' +
          'the model file is not at fault.',
        { cause },
      );
    }
    throw new ModelFormatError(
      `${path} could not be loaded by ONNX Runtime (${reason}). ` +
        'The file may be truncated or corrupt: delete it from the cache, or re-export the model.',
      { file: path, cause },
    );
  }
}

/**
 * Checks `threads` and `executionProviders` where they are given, so a mistake is an `InvalidArgumentError` naming
 * the option before any file is downloaded or opened.
 */
export function checkSessionOptions(options: SessionOptions): void {
  const { threads, executionProviders } = options;
  if (threads !== undefined && (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1)) {
    throw new InvalidArgumentError('options.threads', `expected a positive integer, got ${describe(threads)}.`);
  }
  if (executionProviders === undefined) return;
  if (!Array.isArray(executionProviders) || executionProviders.length === 0) {
    throw new InvalidArgumentError(
      'options.executionProviders',
      `expected a non-empty array such as ['cpu'], got ${describe(executionProviders)}.`,
    );
  }
  for (const provider of executionProviders as unknown[]) {
    const name = typeof provider === 'string' ? provider : (provider as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name === '') {
      throw new InvalidArgumentError(
        'options.executionProviders',
        `expected provider names such as 'cpu' or { name: 'cuda', ... }, got ${describe(provider)}.`,
      );
    }
  }
}

/**
 * Checks that every requested execution provider is one this platform's ONNX Runtime build has, before any model
 * file is fetched: a name it does not know is an `InvalidArgumentError` listing the ones it offers.
 */
export async function checkExecutionProviders(options: SessionOptions): Promise<void> {
  checkSessionOptions(options);
  if (options.executionProviders === undefined) return;
  const known = (await platform.executionProviders()).map((name) => name.toLowerCase());
  for (const provider of options.executionProviders as unknown[]) {
    const name = (typeof provider === 'string' ? provider : (provider as { name: string }).name).toLowerCase();
    if (!known.includes(name)) {
      throw new InvalidArgumentError(
        'options.executionProviders',
        `${describe(name)} is not an execution provider of this ONNX Runtime build (${platform.name === 'web' ? 'onnxruntime-web' : 'onnxruntime-node'}); it offers ${known.join(', ')}.`,
      );
    }
  }
}

/** The ONNX Runtime options a session is created with: the engine's CPU defaults, then the caller's. */
export function resolveSessionOptions(options: SessionOptions = {}): PlatformSessionOptions {
  return {
    executionProviders: options.executionProviders ?? (platform.name === 'web' ? ['wasm'] : ['cpu']),
    graphOptimizationLevel: 'all',
    // One graph runs at a time and its nodes are sequential: inter-op threads would only sit idle.
    interOpNumThreads: 1,
    ...(options.threads === undefined ? {} : { intraOpNumThreads: options.threads, threads: options.threads }),
    ...(options.wasmPaths === undefined ? {} : { wasmPaths: options.wasmPaths }),
    ...options.ortOptions,
    extra: withoutSpinning(options.ortOptions?.extra),
  };
}

/**
 * Turns off busy-waiting of the intra-op thread pool unless the caller's `ortOptions.extra` sets it. Spinning
 * threads keep cores busy after each batch, which starves the tokenizer that runs between batches and any other
 * process on the machine; measured in bench/levers.ts (ORT's own default is to spin).
 */
function withoutSpinning(extra: InferenceSession.SessionOptions['extra']): Record<string, unknown> {
  const given = (extra ?? {}) as Record<string, unknown>;
  const session = (given['session'] ?? {}) as Record<string, unknown>;
  const intraOp = (session['intra_op'] ?? {}) as Record<string, unknown>;
  return {
    ...given,
    session: { ...session, intra_op: { allow_spinning: '0', ...intraOp } },
  };
}

function describeSession(session: InferenceSession, path: string, kind: GraphKind): LoadedSession {
  const names = session.inputNames;
  const unknown = names.filter((name) => !(KNOWN_INPUTS as readonly string[]).includes(name));
  if (!names.includes('input_ids') || unknown.length > 0) {
    void session.release();
    throw new ModelFormatError(
      `${path} has inputs [${names.join(', ')}]; a cross-encoder needs input_ids and may take attention_mask and ` +
        `token_type_ids${unknown.length ? ` (unexpected: ${unknown.join(', ')})` : ''}. Export the model for sequence classification.`,
      { file: path },
    );
  }
  const preferred = kind === 'logits' ? 'logits' : 'last_hidden_state';
  const outputName = session.outputNames.includes(preferred) ? preferred : session.outputNames[0];
  const meta = session.outputMetadata.find((m) => m.name === outputName);
  let outputWidth: number | undefined;
  if (meta !== undefined && meta.isTensor && meta.type !== 'float32' && meta.type !== 'float16') {
    void session.release();
    throw new ModelFormatError(
      `${path}: output "${outputName}" holds ${meta.type} values; a text model outputs float32 or float16. ` +
        'Export the raw logits or hidden states, not post-processed labels.',
      { file: path },
    );
  }
  if (meta !== undefined && meta.isTensor && meta.shape.length > 0) {
    const expectedRank = kind === 'logits' ? 2 : 3;
    if (meta.shape.length !== expectedRank) {
      void session.release();
      throw new ModelFormatError(
        kind === 'logits'
          ? `${path}: output "${outputName}" has shape [${meta.shape.join(', ')}], not [batch, labels]. ` +
              'This looks like an embedding model; a cross-encoder outputs one row of logits per pair.'
          : `${path}: output "${outputName}" has shape [${meta.shape.join(', ')}], not [batch, tokens, hidden]. ` +
              'An embedding model must output token states (last_hidden_state).',
        { file: path },
      );
    }
    const width = meta.shape[expectedRank - 1];
    outputWidth = typeof width === 'number' ? width : undefined;
  }
  const inputMeta = session.inputMetadata.find((m) => m.name === 'input_ids');
  const int32Inputs = inputMeta !== undefined && inputMeta.isTensor && inputMeta.type === 'int32';
  return {
    session,
    inputs: KNOWN_INPUTS.filter((name) => names.includes(name)),
    int32Inputs,
    outputName: outputName ?? 'logits',
    outputWidth,
  };
}
