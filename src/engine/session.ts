import type { InferenceSession } from 'onnxruntime-common';
import { ModelFormatError } from '../errors.js';
import { platform } from '../platform/current.js';
import type { GraphLocation, PlatformSessionOptions } from '../platform/platform.js';

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

/** Opens an ONNX file and checks it looks like the expected kind of text model before any input reaches it. */
export async function openSession(
  location: GraphLocation,
  options: SessionOptions = {},
  kind: GraphKind = 'logits',
): Promise<LoadedSession> {
  return describeSession(await createSession(location, options), location.onnx, kind);
}

/** Creates the platform's session for a graph with the engine's options; a file ONNX Runtime cannot load is named. */
export async function createSession(location: GraphLocation, options: SessionOptions = {}): Promise<InferenceSession> {
  const path = location.onnx;
  try {
    return await platform.createSession(location, resolveSessionOptions(options));
  } catch (cause) {
    throw new ModelFormatError(
      `${path} could not be loaded by ONNX Runtime (${(cause as Error).message}). ` +
        'The file may be truncated or corrupt: delete it from the cache, or re-export the model.',
      { file: path, cause },
    );
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
