import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { MissingDependencyError, ModelFormatError, SessionOpenError } from '../errors.js';
import { platform } from '../platform/current.js';
import type { GraphLocation } from '../platform/platform.js';
import { ANSWER_OUTPUT, cutAnswerHead } from './decoder-cut.js';
import { createSession, type SessionOptions } from './session.js';

/** A key or value cache input of one layer: empty for a whole prompt, a shared prefix's cache after it. */
interface PastInput {
  name: string;
  /** The output that returns this input's cache extended by the pass (`present.N.key`), when the graph has it. */
  present: string | undefined;
  /** Heads and head width, the two fixed dimensions of [batch, heads, past, head width]. */
  heads: number;
  headDim: number;
  half: boolean;
}

/** A language-model graph opened for scoring, with what the engine feeds it and reads back. */
export interface DecoderGraph {
  session: InferenceSession;
  /** The binding's tensor class, to build feeds with. */
  Tensor: TensorConstructor;
  /** Inputs fed, in the graph's order. */
  inputs: readonly string[];
  positions: boolean;
  past: readonly PastInput[];
  int32: boolean;
  outputName: string;
  /**
   * What the output holds: `vocabulary`, next-token logits at every position ([batch, tokens, vocabulary], a causal
   * LM as exported); `answers`, the yes and no logits at the last position ([batch, 2], a cut graph); `score`, one
   * logit per row ([batch, 1], a sequence-classification conversion).
   */
  output: 'vocabulary' | 'answers' | 'score';
}

/** A computed cache for one sequence (batch 1): per past input, its [1, heads, length, head width] values. */
export interface PastState {
  length: number;
  values: ReadonlyMap<string, Float32Array | Uint16Array>;
}

/** Cache shape from config.json, for graphs whose cache inputs leave heads or head width symbolic. */
export interface CacheShape {
  heads: number | undefined;
  headDim: number | undefined;
}

const PAST_INPUT = /^past_key_values\.\d+\.(key|value)$/;

/**
 * Opens a causal LM (or its single-logit conversion) and checks its inputs and output before any pair reaches it.
 * Given the answer tokens, a graph with full-vocabulary logits is cut to the answer logits as it loads (see
 * decoder-cut.ts); a graph the cut does not know, or one ONNX Runtime refuses once cut, is opened as it is.
 */
export async function openDecoderSession(
  location: GraphLocation,
  options: SessionOptions,
  cache: CacheShape,
  answer?: { yes: number; no: number | undefined },
): Promise<DecoderGraph> {
  const { Tensor } = await platform.onnx();
  let session: InferenceSession | undefined;
  if (answer !== undefined) {
    try {
      session = await createSession(
        { ...location, rewrite: (model, read) => cutAnswerHead(model, answer, read) },
        options,
      );
    } catch (error) {
      // Settings ONNX Runtime refuses fail the same way uncut; anything else is retried on the file as it is, which
      // fails with its own words if the file is at fault.
      if (SessionOpenError.isInstance(error) || MissingDependencyError.isInstance(error)) throw error;
    }
  }
  session ??= await createSession(location, options);
  try {
    return { ...describe(session, location.onnx, cache), Tensor };
  } catch (error) {
    await session.release();
    throw error;
  }
}

function describe(session: InferenceSession, path: string, cache: CacheShape): Omit<DecoderGraph, 'Tensor'> {
  const names = session.inputNames;
  const unknown = names.filter(
    (name) => !['input_ids', 'attention_mask', 'position_ids'].includes(name) && !PAST_INPUT.test(name),
  );
  if (!names.includes('input_ids') || !names.includes('attention_mask') || unknown.length > 0) {
    throw new ModelFormatError(
      `${path} has inputs [${names.join(', ')}]; a reranker on a language model takes input_ids and ` +
        'attention_mask, and may take position_ids and past_key_values.N.key/value' +
        `${unknown.length ? ` (unexpected: ${unknown.join(', ')})` : ''}. Export the model with those inputs.`,
      { file: path },
    );
  }
  const past = names.filter((name) => PAST_INPUT.test(name)).map((name) => pastInput(session, name, path, cache));
  const outputName = [ANSWER_OUTPUT, 'logits'].find((n) => session.outputNames.includes(n)) ?? session.outputNames[0];
  const meta = session.outputMetadata.find((m) => m.name === outputName);
  const rank = meta !== undefined && meta.isTensor ? meta.shape.length : 3;
  if (outputName === undefined || (rank !== 2 && rank !== 3)) {
    throw new ModelFormatError(
      `${path}: output "${outputName}" has ${rank} dimensions; a language model outputs [batch, tokens, vocabulary] ` +
        'logits and its sequence-classification conversion [batch, 1].',
      { file: path },
    );
  }
  const ids = session.inputMetadata.find((m) => m.name === 'input_ids');
  return {
    session,
    inputs: names,
    positions: names.includes('position_ids'),
    past,
    int32: ids !== undefined && ids.isTensor && ids.type === 'int32',
    outputName,
    output: rank === 3 ? 'vocabulary' : outputName === ANSWER_OUTPUT ? 'answers' : 'score',
  };
}

function pastInput(session: InferenceSession, name: string, path: string, cache: CacheShape): PastInput {
  const meta = session.inputMetadata.find((m) => m.name === name);
  const shape = meta !== undefined && meta.isTensor ? meta.shape : [];
  const fixed = (dim: unknown, fallback: number | undefined) => (typeof dim === 'number' ? dim : fallback);
  const heads = fixed(shape[1], cache.heads);
  const headDim = fixed(shape[3], cache.headDim);
  if (heads === undefined || headDim === undefined) {
    throw new ModelFormatError(
      `${path}: input ${name} does not state its heads and head width, and config.json has no ` +
        'num_key_value_heads / head_dim to read them from. Use the config.json the model was exported with.',
      { file: path },
    );
  }
  const half = meta !== undefined && meta.isTensor && meta.type === 'float16';
  const present = name.replace(/^past_key_values\./, 'present.');
  return { name, present: session.outputNames.includes(present) ? present : undefined, heads, headDim, half };
}

/**
 * One batch as the graph's tensors: rows left-padded to the longest (the last position is then every row's last
 * token), positions counted over real tokens (padding gets 1, as Transformers.js feeds it). With a `past`, each row
 * is the continuation of that one cached sequence: the cache is repeated per row, the mask covers it, and positions
 * go on from its length; otherwise the past is fed empty.
 */
export function buildDecoderFeeds(
  rows: readonly (readonly number[])[],
  graph: DecoderGraph,
  padId: number,
  past?: PastState,
): Record<string, Tensor> {
  let width = 0;
  for (const tokens of rows) width = Math.max(width, tokens.length);
  const pastLength = past?.length ?? 0;
  const total = pastLength + width;
  const ids = new Array<number>(rows.length * width).fill(padId);
  const mask = new Array<number>(rows.length * total).fill(0);
  const positions = new Array<number>(rows.length * width).fill(1);
  rows.forEach((tokens, row) => {
    const offset = row * width + width - tokens.length;
    for (let p = 0; p < pastLength; p++) mask[row * total + p] = 1;
    for (let t = 0; t < tokens.length; t++) {
      ids[offset + t] = tokens[t] as number;
      mask[row * total + pastLength + width - tokens.length + t] = 1;
      positions[offset + t] = pastLength + t;
    }
  });
  const tensor = (values: number[], dims: number[]) =>
    graph.int32
      ? new graph.Tensor('int32', Int32Array.from(values), dims)
      : new graph.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
  const feeds: Record<string, Tensor> = {
    input_ids: tensor(ids, [rows.length, width]),
    attention_mask: tensor(mask, [rows.length, total]),
  };
  if (graph.positions) feeds['position_ids'] = tensor(positions, [rows.length, width]);
  for (const input of graph.past) {
    const dims = [rows.length, input.heads, pastLength, input.headDim];
    const one = past?.values.get(input.name);
    const size = rows.length * input.heads * pastLength * input.headDim;
    // One row continues the cache as it is; several get a copy each.
    const values =
      one !== undefined && rows.length === 1 ? one : input.half ? new Uint16Array(size) : new Float32Array(size);
    if (one !== undefined && values !== one) {
      for (let row = 0; row < rows.length; row++) values.set(one, row * one.length);
    }
    feeds[input.name] = input.half
      ? new graph.Tensor('float16', values as Uint16Array, dims)
      : new graph.Tensor('float32', values as Float32Array, dims);
  }
  return feeds;
}

/**
 * Runs one batch and returns the scoring output; with `keepPast`, also the extended cache of a batch of one (a
 * causal graph's cache outputs are not copied out otherwise).
 */
export async function runDecoder(
  graph: DecoderGraph,
  feeds: Record<string, Tensor>,
  keepPast = false,
): Promise<{ data: Float32Array | Uint16Array; dims: readonly number[]; past?: PastState }> {
  const presents = keepPast ? graph.past.map((p) => p.present as string) : [];
  const result = await graph.session.run(feeds, [graph.outputName, ...presents]);
  const output = result[graph.outputName];
  if (output === undefined) throw new Error(`the graph returned no "${graph.outputName}" output`);
  if (!keepPast) return { data: output.data as Float32Array | Uint16Array, dims: output.dims };
  const values = new Map<string, Float32Array | Uint16Array>();
  let length = 0;
  for (const input of graph.past) {
    const present = result[input.present as string] as Tensor;
    values.set(input.name, present.data as Float32Array | Uint16Array);
    length = present.dims[2] as number;
  }
  return { data: output.data as Float32Array | Uint16Array, dims: output.dims, past: { length, values } };
}
