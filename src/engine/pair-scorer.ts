import { InvalidArgumentError } from '../errors.js';
import { DecoderModel, isDecoderReranker } from './decoder-model.js';
import { PairModel, type PairModelSpec } from './pair-model.js';

/** What both kinds of reranker offer the backends: a cross-encoder, or a reranker on a language model. */
export type PairScorer = Pick<PairModel, 'info' | 'encode' | 'score' | 'release'>;

/** Opens the model as the kind it is: a reranker on a language model when it is one, else a cross-encoder. */
export async function openPairScorer(spec: PairModelSpec): Promise<PairScorer> {
  if (await isDecoderReranker(spec)) return DecoderModel.open(spec);
  if (spec.ggufPath !== undefined) {
    throw new InvalidArgumentError(
      'options.ggufFile',
      'GGUF weights are run for rerankers on a language model only, and this model is a cross-encoder: leave ' +
        'ggufFile out to run its ONNX file.',
    );
  }
  return PairModel.open(spec);
}
