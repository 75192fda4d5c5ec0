import { InferenceError, ModelFormatError } from '../errors.js';
import { platform } from '../platform/current.js';
import type { GgufModel, GgufRanker } from '../platform/platform.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import type { DecoderForward } from './decoder-forward.js';

// A context is sized to the longest prompt seen so far, doubling from this (llama.cpp's own granularity), up to
// maxLength: its memory and its time per token grow with its length (a 1024-token context ran 0.6B-shape prompts of
// 250 tokens 28% slower than a 512-token one), and a reranker's window (tens of thousands of tokens for Qwen3) is far
// longer than most prompts.
const SMALLEST_CONTEXT_TOKENS = 256;
// A context up to this size stays open between batches; a longer one (grown for a long prompt: 4,096 tokens took the
// F32 test model from 132 to 513 MB) is closed once its batch is scored.
const KEPT_CONTEXT_TOKENS = 2048;
// llama.cpp reports probabilities held in 32 bits: this bounds each, so a saturated one gives a large finite score
// instead of an infinite one.
const SMALLEST_PROBABILITY = 2 ** -149;

/**
 * GGUF weights run by llama.cpp, one prompt at a time, on the prompt ids the engine built (so the chat template,
 * the instruction, truncation and windows are the same as with ONNX). llama.cpp reports the probabilities of "yes"
 * and "no" for a converted reranker; the raw score is the log of their ratio, which is yes minus no as the ONNX
 * path reads it.
 */
export class GgufDecoderForward implements DecoderForward {
  readonly inputs: readonly string[] = ['input_ids'];
  readonly readsAnswerTokens = false;
  readonly writesVocabulary = false;
  readonly sharesPrefix = true;
  readonly #model: GgufModel;
  readonly #path: string;
  readonly #maxTokens: number;
  #ranker: GgufRanker | undefined;
  // Batches run one after another: a call running on the calling thread may overlap another, and a context must not
  // be replaced by a longer one while a prompt is in it.
  #turn: Promise<unknown> = Promise.resolve();

  private constructor(model: GgufModel, path: string, maxTokens: number) {
    this.#model = model;
    this.#path = path;
    this.#maxTokens = maxTokens;
  }

  /** Opens the file and checks on one prompt that llama.cpp evaluates exactly the ids it is given. */
  static async open(
    path: string,
    options: { threads: number | undefined; maxLength: number; probe: readonly number[] },
  ): Promise<GgufDecoderForward> {
    const model = await platform.openGguf(path, { threads: options.threads });
    const forward = new GgufDecoderForward(model, path, options.maxLength + 1);
    try {
      const ranker = await forward.#rankerFor(options.probe.length);
      const evaluated = ranker.evaluatedLength(options.probe);
      if (evaluated !== options.probe.length) {
        throw new ModelFormatError(
          `llama.cpp adds ${evaluated - options.probe.length} token(s) of its own to the prompts of ${path}, so it ` +
            'would not score the prompt the model was trained on. Convert the reranker without a begin or end token.',
          { file: path },
        );
      }
    } catch (error) {
      await forward.release();
      throw error;
    }
    return forward;
  }

  score(
    rows: readonly AssembledPair[],
    batch: readonly number[],
    prefix: readonly number[] = [],
  ): Promise<{ scores: Float32Array; tokens: number }> {
    const run = this.#turn.then(() => this.#score(rows, batch, prefix.length));
    this.#turn = run.catch(() => undefined);
    return run;
  }

  async release(): Promise<void> {
    await this.#turn;
    await this.#ranker?.release();
    this.#ranker = undefined;
    await this.#model.release();
  }

  async #score(rows: readonly AssembledPair[], batch: readonly number[], shared: number) {
    const scores = new Float32Array(batch.length);
    let tokens = 0;
    // One context for the whole batch: sized once to its longest prompt rather than regrown along the way.
    const longest = Math.max(...batch.map((row) => (rows[row] as AssembledPair).ids.length));
    const ranker = await this.#rankerFor(longest);
    try {
      await this.#rank(ranker, rows, batch, shared, scores, (n) => (tokens += n));
    } finally {
      // A context grown for a long prompt goes back once the batch is scored: it holds its memory for as long as it
      // is open, and the next batch opens the size it needs.
      if (ranker.contextTokens > KEPT_CONTEXT_TOKENS) await this.#releaseRanker();
    }
    return { scores, tokens };
  }

  /** The number of open contexts' tokens, for tests of the shrink. */
  get contextTokens(): number {
    return this.#ranker?.contextTokens ?? 0;
  }

  async #releaseRanker(): Promise<void> {
    const ranker = this.#ranker;
    this.#ranker = undefined;
    await ranker?.release();
  }

  async #rank(
    ranker: GgufRanker,
    rows: readonly AssembledPair[],
    batch: readonly number[],
    shared: number,
    scores: Float32Array,
    count: (tokens: number) => void,
  ): Promise<void> {
    for (const [k, row] of batch.entries()) {
      const ids = (rows[row] as AssembledPair).ids;
      let answer: { yes: number; no: number };
      try {
        // A prompt continues from the shared prefix the one before it left in the context.
        answer = await ranker.rank(ids, shared);
      } catch (cause) {
        throw new InferenceError(
          `llama.cpp failed scoring a prompt of ${ids.length} tokens with ${this.#path}: ` +
            `${(cause as Error)?.message ?? String(cause)}.`,
          { file: this.#path, cause },
        );
      }
      scores[k] =
        Math.log(Math.max(answer.yes, SMALLEST_PROBABILITY)) - Math.log(Math.max(answer.no, SMALLEST_PROBABILITY));
      count(ids.length);
    }
  }

  /** A context that holds `length` tokens: the open one, or a longer one in its place. */
  async #rankerFor(length: number): Promise<GgufRanker> {
    if (this.#ranker !== undefined && length < this.#ranker.contextTokens) return this.#ranker;
    let size = SMALLEST_CONTEXT_TOKENS;
    while (size <= length) size *= 2;
    size = Math.min(size, this.#maxTokens);
    await this.#ranker?.release();
    this.#ranker = undefined;
    this.#ranker = await this.#model.openRanker(size);
    return this.#ranker;
  }
}
