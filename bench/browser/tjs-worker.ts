// transformers.js 4.3.1 used by hand, in a Web Worker: its tokenizer with padding and truncation, then
// AutoModelForSequenceClassification on the same ONNX file (WASM), batches of 32 in input order. Its WebAssembly
// files are served by the benchmark's page (wasmPaths), so nothing is fetched from a CDN.
import { AutoModelForSequenceClassification, AutoTokenizer, env } from '@huggingface/transformers';
import { serve } from './rpc.js';

type Tokenizer = Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
type Model = Awaited<ReturnType<typeof AutoModelForSequenceClassification.from_pretrained>>;
let tokenizer: Tokenizer | undefined;
let model: Model | undefined;

serve(async (request) => {
  switch (request.type) {
    case 'open': {
      const {
        modelsUrl,
        model: name,
        threads,
        wasmPaths,
      } = request as unknown as {
        modelsUrl: string;
        model: string;
        threads: number;
        wasmPaths: string;
      };
      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      env.localModelPath = modelsUrl;
      env.useBrowserCache = false;
      const wasm = env.backends.onnx.wasm as { wasmPaths?: string; numThreads?: number; proxy?: boolean };
      wasm.wasmPaths = wasmPaths;
      wasm.numThreads = threads;
      wasm.proxy = false;
      tokenizer = await AutoTokenizer.from_pretrained(name);
      model = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: 'fp32', device: 'wasm' });
      return null;
    }
    case 'score': {
      const { query, passages, batchSize } = request as unknown as {
        query: string;
        passages: string[];
        batchSize: number;
      };
      const out = new Float32Array(passages.length);
      for (let start = 0; start < passages.length; start += batchSize) {
        const slice = passages.slice(start, start + batchSize);
        const inputs = (tokenizer as Tokenizer)(
          slice.map(() => query),
          { text_pair: slice, padding: true, truncation: true },
        );
        const { logits } = (await (model as Model)(inputs)) as { logits: { data: Float32Array; dims: number[] } };
        const width = logits.dims[1] ?? 1;
        for (let row = 0; row < slice.length; row++) out[start + row] = logits.data[row * width] as number;
      }
      return out;
    }
    case 'close':
      await model?.dispose();
      model = undefined;
      return null;
    default:
      throw new Error(`unknown request ${request.type}`);
  }
});
