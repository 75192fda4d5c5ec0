import { CrossEncoder, OnnxEmbeddings } from '../src/index.js';
import type { CliDeps } from './cli.js';

/** Model loading for the eval command, through the library's public entry: each model loaded and warm. */
export const engineLoaders: Pick<CliDeps, 'loadScorer' | 'loadEmbeddings'> = {
  loadScorer: (model, { variant }) => CrossEncoder.load(model, { variant }),
  loadEmbeddings: async (model, { variant }) => {
    const embeddings = new OnnxEmbeddings({ model, variant });
    await embeddings.warmup();
    return embeddings;
  },
};
