import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { ModelFormatError } from '../errors.js';
import { platform } from '../platform/current.js';
import type { GraphLocation } from '../platform/platform.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { createSession, type SessionOptions } from './session.js';

/** A key or value cache input of one layer, fed empty: one pass over the whole prompt needs no past. */
interface PastInput {
  name: string;
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
  /** 3: next-token logits per position (causal LM); 2: one score per row (a sequence-classification conversion). */
  outputRank: 2 | 3;
}

/** Cache shape from config.json, for graphs whose cache inputs leave heads or head width symbolic. */
export interface CacheShape {
  heads: number | undefined;
  headDim: number | undefined;
}

const PAST_INPUT = /^past_key_values\.\d+\.(key|value)$/;

/** Opens a causal LM (or its single-logit conversion) and checks its inputs and output before any pair reaches it. */
export async function openDecoderSession(
  location: GraphLocation,
  options: SessionOptions,
  cache: CacheShape,
): Promise<DecoderGraph> {
  const { Tensor } = await platform.onnx();
  const session = await createSession(location, options);
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
  const outputName = session.outputNames.includes('logits') ? 'logits' : (session.outputNames[0] as string);
  const meta = session.outputMetadata.find((m) => m.name === outputName);
  const rank = meta !== undefined && meta.isTensor ? meta.shape.length : 3;
  if (rank !== 2 && rank !== 3) {
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
    outputRank: rank,
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
  return { name, heads, headDim, half };
}

/**
 * One batch as the graph's tensors: rows left-padded to the longest (the last position is then every row's last
 * token), positions counted over real tokens (padding gets 1, as Transformers.js feeds it), an empty past.
 */
export function buildDecoderFeeds(
  rows: readonly AssembledPair[],
  batch: readonly number[],
  graph: DecoderGraph,
  padId: number,
): Record<string, Tensor> {
  let width = 0;
  for (const i of batch) width = Math.max(width, (rows[i] as AssembledPair).ids.length);
  const size = batch.length * width;
  const ids = new Array<number>(size).fill(padId);
  const mask = new Array<number>(size).fill(0);
  const positions = new Array<number>(size).fill(1);
  batch.forEach((rowIndex, row) => {
    const tokens = (rows[rowIndex] as AssembledPair).ids;
    const offset = row * width + width - tokens.length;
    for (let t = 0; t < tokens.length; t++) {
      ids[offset + t] = tokens[t] as number;
      mask[offset + t] = 1;
      positions[offset + t] = t;
    }
  });
  const dims = [batch.length, width];
  const tensor = (values: number[]) =>
    graph.int32
      ? new graph.Tensor('int32', Int32Array.from(values), dims)
      : new graph.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
  const feeds: Record<string, Tensor> = { input_ids: tensor(ids), attention_mask: tensor(mask) };
  if (graph.positions) feeds['position_ids'] = tensor(positions);
  for (const past of graph.past) {
    const pastDims = [batch.length, past.heads, 0, past.headDim];
    feeds[past.name] = past.half
      ? new graph.Tensor('float16', new Uint16Array(0), pastDims)
      : new graph.Tensor('float32', new Float32Array(0), pastDims);
  }
  return feeds;
}

/** Runs one batch and returns only the scoring output (a causal graph's cache outputs are not copied out). */
export async function runDecoder(
  graph: DecoderGraph,
  feeds: Record<string, Tensor>,
): Promise<{ data: Float32Array | Uint16Array; dims: readonly number[] }> {
  const result = await graph.session.run(feeds, [graph.outputName]);
  const output = result[graph.outputName];
  if (output === undefined) throw new Error(`the graph returned no "${graph.outputName}" output`);
  return { data: output.data as Float32Array | Uint16Array, dims: output.dims };
}
