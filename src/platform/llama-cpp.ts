// GGUF weights through llama.cpp, for rerankers on a language model: `node-llama-cpp` (an optional peer, loaded only
// when a GGUF file is asked for) runs the prompt the engine built, given as token ids, and reports its ranking
// output. Node only: the binding is a native addon.
import { availableParallelism } from 'node:os';
import { InferenceError, MissingDependencyError, ModelFormatError } from '../errors.js';
import { importBinding } from './import-binding.js';
import type { GgufModel, GgufRanker } from './platform.js';

import type { Token } from 'node-llama-cpp';

type NodeLlamaCpp = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;
type RankingContext = Awaited<ReturnType<Awaited<ReturnType<Llama['loadModel']>>['createRankingContext']>>;

// The prompt goes in whole as the "query" of a template that adds nothing around it, so llama.cpp evaluates exactly
// the ids the engine rendered and tokenized.
const IDS_ONLY = '{{query}}{{document}}';

// Imported by a name that bundlers do not follow: the binding is an optional peer, and an app bundled without it
// must still build and run its ONNX models.
const BINDING = 'node-llama-cpp';

// llama.cpp's flash attention on the CPU rounds through 16-bit floats: on the F32 test model it moved logits by up
// to 7e-3 where plain attention stays within 5e-5 of sentence-transformers, and on the 0.6B shape in Q8_0 it took 29%
// less time per pair. Files of full-precision weights (F32, F16, BF16 in the header's file type) are run exactly;
// quantized files, whose weights already round far more than that, fast.
const FULL_PRECISION_FILE_TYPES: ReadonlySet<number> = new Set([0, 1, 32]);

let binding: Promise<NodeLlamaCpp> | undefined;
let llama: Promise<Llama> | undefined;
let openModels = 0;

/**
 * One llama.cpp instance per process (or worker), CPU only, never building or downloading binaries at run time.
 * It is disposed with its last model: a worker thread that ends with it still loaded takes the process down.
 */
function loadLlama(): Promise<Llama> {
  binding ??= importBinding(BINDING, () => import(/* webpackIgnore: true */ BINDING) as Promise<NodeLlamaCpp>);
  llama ??= binding.then((found) =>
    found.getLlama({
      gpu: false,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      logLevel: found.LlamaLogLevel.error,
    }),
  );
  llama.catch(() => {
    binding = undefined;
    llama = undefined;
  });
  return llama;
}

async function releaseLlama(): Promise<void> {
  openModels -= 1;
  if (openModels > 0 || llama === undefined) return;
  const instance = llama;
  llama = undefined;
  await (await instance).dispose();
}

export async function openGguf(path: string, options: { threads: number | undefined }): Promise<GgufModel> {
  openModels += 1;
  let model: Awaited<ReturnType<Llama['loadModel']>>;
  try {
    const instance = await loadLlama();
    const header = await (await (binding as Promise<NodeLlamaCpp>)).readGgufFileInfo(path, { readTensorInfo: false });
    const fileType = header.metadata.general?.file_type;
    const exact = fileType === undefined || FULL_PRECISION_FILE_TYPES.has(fileType);
    model = await instance.loadModel({
      modelPath: path,
      gpuLayers: 0,
      defaultContextFlashAttention: !exact,
      // The cache in 32 bits too, so an exact run rounds nowhere ONNX Runtime does not.
      ...(exact
        ? { experimentalDefaultContextKvCacheKeyType: 'F32', experimentalDefaultContextKvCacheValueType: 'F32' }
        : {}),
    });
  } catch (cause) {
    await releaseLlama();
    if (MissingDependencyError.isInstance(cause)) throw cause;
    throw new ModelFormatError(`llama.cpp could not load ${path}: ${(cause as Error)?.message ?? cause}.`, {
      file: path,
      cause,
    });
  }
  const release = async () => {
    await model.dispose();
    await releaseLlama();
  };
  if (!model.fileInsights.supportsRanking) {
    await release();
    throw new ModelFormatError(
      `${path} has no ranking head. Convert the reranker with llama.cpp's converter as a reranker ` +
        '(tools/gguf_export.py does), which keeps the "yes" and "no" rows of its output as the ranking head.',
      { file: path },
    );
  }
  const threads = options.threads ?? availableParallelism();
  return {
    async openRanker(contextTokens) {
      let context: RankingContext;
      try {
        // The whole prompt is one batch: a pooled output needs every token of the sequence in one pass.
        context = await model.createRankingContext({
          contextSize: contextTokens,
          batchSize: contextTokens,
          threads,
          template: IDS_ONLY,
        });
      } catch (cause) {
        // The file loaded: a context that does not open is short of memory or a setting, not a fault of the file.
        throw new InferenceError(
          `llama.cpp could not open a context of ${contextTokens} tokens on ${path}: ${(cause as Error)?.message ?? cause}. ` +
            'Pass a smaller maxLength.',
          { file: path, cause },
        );
      }
      return wrapRanker(context);
    },
    release,
  };
}

/**
 * The addon's context, which still holds the last prompt's output after `rank`, and the ranking context's one
 * sequence, whose cache the next prompt may continue. Not public in node-llama-cpp.
 */
interface ContextOutput {
  _llamaContext?: { _ctx?: { getEmbedding?(tokens: number, values: number): Float64Array } };
  _sequence?: {
    readonly contextTokens: readonly number[];
    readonly nextTokenIndex: number;
    eraseContextTokenRanges(ranges: { start: number; end: number }[]): Promise<void>;
    evaluate(tokens: Token[], options: { _noSampling: boolean }): AsyncGenerator<unknown>;
  };
}

function wrapRanker(context: RankingContext): GgufRanker {
  const output = (context as unknown as ContextOutput)._llamaContext?._ctx;
  const sequence = (context as unknown as ContextOutput)._sequence;
  return {
    contextTokens: context.contextSize,
    async rank(ids, shared = 0) {
      if (shared > 0 && sequence !== undefined && output?.getEmbedding !== undefined) {
        // The sequence keeps the tokens of the last prompt: those this one starts with stay in its cache, and only
        // the rest is evaluated (the ranking head reads the last token, whose attention covers the cache).
        const held = sequence.contextTokens;
        let keep = 0;
        while (keep < shared && keep < held.length && held[keep] === ids[keep]) keep++;
        if (keep < shared) keep = 0;
        await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
        for await (const _ of sequence.evaluate(ids.slice(keep) as Token[], { _noSampling: true })) break;
        const pair = output.getEmbedding(ids.length - keep, 2);
        if (pair.length === 2) return { yes: pair[0] as number, no: pair[1] as number };
      }
      const probability = await context.rank(ids as Token[], []);
      // Both answers' probabilities when the addon hands them out: the score read back from yes against no then
      // keeps its precision where one probability alone rounds to 1.
      const both = output?.getEmbedding?.(ids.length, 2);
      return both !== undefined && both.length === 2 && both[0] === probability
        ? { yes: both[0] as number, no: both[1] as number }
        : { yes: probability, no: 1 - probability };
    },
    evaluatedLength: (ids) => context.calculateInputLength(ids as Token[], []),
    release: () => context.dispose(),
  };
}
