import type { Tensor, TensorConstructor } from 'onnxruntime-common';
import type { AssembledPair } from '../tokenize/pair-template.js';
import type { PairInputName } from './session.js';

/** Which tensors a graph takes and in what integer type, and the binding's tensor class to build them with. */
export interface FeedLayout {
  Tensor: TensorConstructor;
  inputs: readonly PairInputName[];
  int32: boolean;
  padId: number;
}

/** Pads one batch to its longest pair and lays it out as the graph's input tensors. */
export function buildFeeds(
  pairs: readonly AssembledPair[],
  batch: readonly number[],
  layout: FeedLayout,
): Record<string, Tensor> {
  let width = 0;
  for (const i of batch) width = Math.max(width, (pairs[i] as AssembledPair).ids.length);
  const size = batch.length * width;
  const make = () => (layout.int32 ? new Int32Array(size) : new BigInt64Array(size));
  const ids = make();
  const mask = make();
  const types = make();
  if (layout.padId !== 0) fill(ids, layout.padId);
  batch.forEach((pairIndex, row) => {
    const pair = pairs[pairIndex] as AssembledPair;
    const offset = row * width;
    for (let t = 0; t < pair.ids.length; t++) {
      set(ids, offset + t, pair.ids[t] as number);
      set(mask, offset + t, 1);
      set(types, offset + t, pair.typeIds[t] as number);
    }
  });
  const dims = [batch.length, width];
  const type = layout.int32 ? 'int32' : 'int64';
  const all = { input_ids: ids, attention_mask: mask, token_type_ids: types };
  const feeds: Record<string, Tensor> = {};
  for (const name of layout.inputs) feeds[name] = new layout.Tensor(type, all[name], dims);
  return feeds;
}

function set(array: Int32Array | BigInt64Array, index: number, value: number): void {
  if (array instanceof BigInt64Array) array[index] = BigInt(value);
  else array[index] = value;
}

function fill(array: Int32Array | BigInt64Array, value: number): void {
  if (array instanceof BigInt64Array) array.fill(BigInt(value));
  else array.fill(value);
}
