import { InferenceError, ModelFormatError } from '../errors.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { buildDecoderFeeds, runDecoder, type DecoderGraph, type PastState } from './decoder-session.js';
import { halfToFloat } from './pair-model.js';

/**
 * What runs a reranker on a language model once its prompts are built: one raw score per prompt, read at the last
 * token. ONNX Runtime runs the exported graph; llama.cpp runs GGUF weights (see gguf-forward.ts).
 */
export interface DecoderForward {
  /** The inputs fed, for `info.inputs`. */
  readonly inputs: readonly string[];
  /** The score is read from answer-token logits (a causal graph, cut or not), not one logit per row. */
  readonly readsAnswerTokens: boolean;
  /** The output holds the whole vocabulary at every position (a causal graph the load-time cut did not know). */
  readonly writesVocabulary: boolean;
  /** Whether `score` computes a `prefix` every row starts with once and continues each row from its cache. */
  readonly sharesPrefix: boolean;
  /**
   * Raw scores of the rows in `batch`, in the batch's order, and the tokens the passes held (padding included).
   * `prefix`: leading ids every row of the batch has, shorter than each row, computed once (and kept for the next
   * batch that starts with the same ids) where the forward shares prefixes.
   */
  score(
    rows: readonly AssembledPair[],
    batch: readonly number[],
    prefix?: readonly number[],
  ): Promise<{ scores: Float32Array; tokens: number }>;
  release(): Promise<void>;
}

/** The answer tokens of a causal graph: yes minus no, or yes alone when the model saved no "no". */
export interface AnswerTokens {
  yes: number;
  no: number | undefined;
}

// A prompt longer than this runs in pieces of this many tokens, each continuing the cache of the ones before: the
// attention scores of one pass are heads x tokens x (cache + tokens) floats, 4.3 GB per layer for 8,192 tokens of the
// 0.6B shape in one piece, 270 MB in pieces of 512.
const PIECE_TOKENS = 512;
// A shared prefix shorter than this costs a pass of its own for little saved.
const SMALLEST_SHARED_PREFIX = 8;
// How far scores with a shared prefix may stand from whole-prompt scores on the load-time probe (fp32 noise is
// ~1e-6); a graph past it (an attention kernel that ignores a mask between the cache and the row) runs whole prompts.
const SHARED_PREFIX_TOLERANCE = 1e-4;

/**
 * An exported graph: rows left-padded into one batch, scored at the last position. A graph with a cache
 * (`past_key_values.*` in, `present.*` out, the Transformers.js layout) computes a shared prefix once per batch
 * (cached for the next batch with the same prefix) and long prompts in pieces.
 */
export class OnnxDecoderForward implements DecoderForward {
  readonly inputs: readonly string[];
  readonly readsAnswerTokens: boolean;
  readonly writesVocabulary: boolean;
  readonly #graph: DecoderGraph;
  readonly #padId: number;
  readonly #onnxPath: string;
  readonly #continues: boolean;
  #sharing: boolean;
  #answer: AnswerTokens | undefined;
  #prefix: { ids: readonly number[]; state: Promise<PastState> } | undefined;

  constructor(graph: DecoderGraph, padId: number, onnxPath: string) {
    this.#graph = graph;
    this.#padId = padId;
    this.#onnxPath = onnxPath;
    this.inputs = graph.inputs;
    this.readsAnswerTokens = graph.output !== 'score';
    this.writesVocabulary = graph.output === 'vocabulary';
    this.#continues = graph.past.length > 0 && graph.past.every((p) => p.present !== undefined);
    this.#sharing = this.#continues;
  }

  get sharesPrefix(): boolean {
    return this.#sharing;
  }

  /** Sets the answer tokens a causal graph is scored with; needed before the first `score`. */
  useAnswer(answer: AnswerTokens): void {
    this.#answer = answer;
  }

  /**
   * Scores `rows` (two or more, of different lengths, sharing a prefix) whole and with the prefix shared, and stops
   * sharing if they differ: some attention kernels read a mask as lengths and would attend to the padding between
   * a shared cache and a shorter row.
   */
  async checkSharing(rows: readonly AssembledPair[]): Promise<void> {
    if (!this.#sharing) return;
    const all = rows.map((_, i) => i);
    const prefix = commonPrefix(rows.map((r) => r.ids));
    const whole = await this.#scoreRows(rows, all, []);
    const shared = await this.#scoreRows(rows, all, prefix);
    this.#prefix = undefined;
    const far = whole.scores.some(
      (score, i) => !(Math.abs(score - (shared.scores[i] as number)) <= SHARED_PREFIX_TOLERANCE),
    );
    if (far) this.#sharing = false;
  }

  score(rows: readonly AssembledPair[], batch: readonly number[], prefix: readonly number[] = []) {
    return this.#scoreRows(rows, batch, this.#sharing && prefix.length >= SMALLEST_SHARED_PREFIX ? prefix : []);
  }

  release(): Promise<void> {
    this.#prefix = undefined;
    return this.#graph.session.release();
  }

  async #scoreRows(rows: readonly AssembledPair[], batch: readonly number[], prefix: readonly number[]) {
    let tokens = 0;
    let past: PastState | undefined;
    if (prefix.length > 0) {
      const cached = this.#prefix;
      if (cached !== undefined && sameIds(cached.ids, prefix)) {
        past = await cached.state;
      } else {
        const state = this.#extend([...prefix], undefined);
        this.#prefix = { ids: prefix.slice(), state };
        // A failed prefix is not kept: the next batch computes it again.
        state.catch(() => {
          if (this.#prefix?.state === state) this.#prefix = undefined;
        });
        past = await state;
        tokens += prefix.length;
      }
    }
    let suffixes = batch.map((row) => (rows[row] as AssembledPair).ids.slice(prefix.length));
    if (this.#continues && suffixes.length === 1 && (suffixes[0] as number[]).length > PIECE_TOKENS) {
      const ids = suffixes[0] as number[];
      const split = ids.length - (((ids.length - 1) % PIECE_TOKENS) + 1);
      past = await this.#extend(ids.slice(0, split), past);
      tokens += split;
      suffixes = [ids.slice(split)];
    }
    const width = Math.max(...suffixes.map((ids) => ids.length));
    const output = await this.#run(suffixes, past, false);
    return { scores: this.#lastLogits(output, batch.length, width), tokens: tokens + width * batch.length };
  }

  /** The cache after `ids` (one sequence) on top of `past`, computed in pieces. */
  async #extend(ids: readonly number[], past: PastState | undefined): Promise<PastState> {
    let state = past;
    for (let start = 0; start < ids.length; start += PIECE_TOKENS) {
      state = (await this.#run([ids.slice(start, start + PIECE_TOKENS)], state, true)).past as PastState;
    }
    return state as PastState;
  }

  async #run(rows: readonly (readonly number[])[], past: PastState | undefined, keepPast: boolean) {
    const feeds = buildDecoderFeeds(rows, this.#graph, this.#padId, past);
    try {
      return await runDecoder(this.#graph, feeds, keepPast);
    } catch (cause) {
      const shapes = Object.entries(feeds)
        .filter(([name]) => !name.startsWith('past_key_values.') || name.endsWith('.0.key'))
        .map(([name, tensor]) => `${name} [${tensor.dims.join(', ')}] ${tensor.type}`)
        .join(', ');
      throw new InferenceError(
        `ONNX Runtime failed running ${this.#onnxPath} on ${shapes}: ${(cause as Error)?.message ?? String(cause)}. ` +
          'If the sequence length is past what the model takes, pass a smaller maxLength.',
        { file: this.#onnxPath, cause },
      );
    }
  }

  /** One raw score per row: yes minus no at the last position, or the one logit of a conversion. */
  #lastLogits(output: { data: Float32Array | Uint16Array; dims: readonly number[] }, rows: number, width: number) {
    const values = output.data instanceof Float32Array ? output.data : Float32Array.from(output.data, halfToFloat);
    const out = new Float32Array(rows);
    const answer = this.#answer as AnswerTokens;
    if (this.#graph.output === 'score') {
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
    if (this.#graph.output === 'answers') {
      if (values.length !== rows * 2) {
        throw new ModelFormatError(
          `${this.#onnxPath} returned ${values.length} answer logits for ${rows} pairs; expected [batch, 2] (yes, no).`,
          { file: this.#onnxPath },
        );
      }
      for (let row = 0; row < rows; row++) {
        const yes = values[row * 2] as number;
        out[row] = answer.no === undefined ? yes : yes - (values[row * 2 + 1] as number);
      }
      return out;
    }
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

/** The longest run of leading ids all rows share, kept shorter than the shortest row (each row needs a token of its own). */
export function commonPrefix(rows: readonly (readonly number[])[]): number[] {
  const first = rows[0] ?? [];
  let length = Math.min(...rows.map((ids) => ids.length)) - 1;
  for (const ids of rows) {
    let k = 0;
    while (k < length && ids[k] === first[k]) k++;
    length = k;
  }
  return first.slice(0, Math.max(0, length));
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, k) => id === b[k]);
}
