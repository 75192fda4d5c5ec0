import { DecoderModel, isDecoderReranker } from './decoder-model.js';
import { PairModel, type PairModelSpec } from './pair-model.js';

/** What both kinds of reranker offer the backends: a cross-encoder, or a reranker on a language model. */
export type PairScorer = Pick<PairModel, 'info' | 'encode' | 'score' | 'release'>;

/** Opens the model as the kind it is: a reranker on a language model when it is one, else a cross-encoder. */
export async function openPairScorer(spec: PairModelSpec): Promise<PairScorer> {
  return (await isDecoderReranker(spec)) ? DecoderModel.open(spec) : PairModel.open(spec);
}
