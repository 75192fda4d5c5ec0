import { InferenceError, ModelFormatError } from '../errors.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { buildDecoderFeeds, runDecoder, type DecoderGraph } from './decoder-session.js';
import { halfToFloat } from './pair-model.js';

/**
 * What runs a reranker on a language model once its prompts are built: one raw score per prompt, read at the last
 * token. ONNX Runtime runs the exported graph; llama.cpp runs GGUF weights (see gguf-forward.ts).
 */
export interface DecoderForward {
  /** The inputs fed, for `info.inputs`. */
  readonly inputs: readonly string[];
  /** The answer tokens are read from the vocabulary's logits (a causal graph), not one logit per row. */
  readonly readsAnswerTokens: boolean;
  /** Raw scores of the rows in `batch`, in the batch's order, and the tokens the pass held (padding included). */
  score(rows: readonly AssembledPair[], batch: readonly number[]): Promise<{ scores: Float32Array; tokens: number }>;
  release(): Promise<void>;
}

/** The answer tokens of a causal graph: yes minus no, or yes alone when the model saved no "no". */
export interface AnswerTokens {
  yes: number;
  no: number | undefined;
}

/** An exported graph: rows left-padded into one batch, scored at the last position. */
export class OnnxDecoderForward implements DecoderForward {
  readonly inputs: readonly string[];
  readonly readsAnswerTokens: boolean;
  readonly #graph: DecoderGraph;
  readonly #padId: number;
  readonly #onnxPath: string;
  #answer: AnswerTokens | undefined;

  constructor(graph: DecoderGraph, padId: number, onnxPath: string) {
    this.#graph = graph;
    this.#padId = padId;
    this.#onnxPath = onnxPath;
    this.inputs = graph.inputs;
    this.readsAnswerTokens = graph.outputRank === 3;
  }

  /** Sets the answer tokens a causal graph is scored with; needed before the first `score`. */
  useAnswer(answer: AnswerTokens): void {
    this.#answer = answer;
  }

  async score(rows: readonly AssembledPair[], batch: readonly number[]) {
    const feeds = buildDecoderFeeds(rows, batch, this.#graph, this.#padId);
    let output: Awaited<ReturnType<typeof runDecoder>>;
    try {
      output = await runDecoder(this.#graph, feeds);
    } catch (cause) {
      const shapes = Object.entries(feeds)
        .map(([name, tensor]) => `${name} [${tensor.dims.join(', ')}] ${tensor.type}`)
        .join(', ');
      throw new InferenceError(
        `ONNX Runtime failed running ${this.#onnxPath} on ${shapes}: ${(cause as Error)?.message ?? String(cause)}. ` +
          'If the sequence length is past what the model takes, pass a smaller maxLength.',
        { file: this.#onnxPath, cause },
      );
    }
    const width = Math.max(...batch.map((row) => (rows[row] as AssembledPair).ids.length));
    return { scores: this.#lastLogits(output, batch.length, width), tokens: width * batch.length };
  }

  release(): Promise<void> {
    return this.#graph.session.release();
  }

  /** One raw score per row: yes minus no at the last position, or the one logit of a conversion. */
  #lastLogits(output: { data: Float32Array | Uint16Array; dims: readonly number[] }, rows: number, width: number) {
    const values = output.data instanceof Float32Array ? output.data : Float32Array.from(output.data, halfToFloat);
    const out = new Float32Array(rows);
    if (this.#graph.outputRank === 2) {
      if (values.length !== rows) {
        throw new ModelFormatError(
          `${this.#onnxPath} returned ${values.length} values for ${rows} pairs; a sequence-classification ` +
            'conversion of a reranker outputs one logit per pair.',
          { file: this.#onnxPath },
        );
      }
      out.set(values);
      return out;
    }
    const answer = this.#answer as AnswerTokens;
    const vocabulary = values.length / (rows * width);
    if (output.dims.length !== 3 || !Number.isInteger(vocabulary) || answer.yes >= vocabulary) {
      throw new ModelFormatError(
        `${this.#onnxPath} returned logits of shape [${output.dims.join(', ')}] for ${rows} prompts of ${width} ` +
          'tokens; expected [batch, tokens, vocabulary] covering the answer tokens.',
        { file: this.#onnxPath },
      );
    }
    for (let row = 0; row < rows; row++) {
      const last = (row * width + width - 1) * vocabulary;
      const yes = values[last + answer.yes] as number;
      out[row] = answer.no === undefined ? yes : yes - (values[last + answer.no] as number);
    }
    return out;
  }
}
