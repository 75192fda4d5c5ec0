import { CrossEncoderError, ModelFormatError } from '../errors.js';
import type { TokenizerBinding, TokenizerLoader } from './binding.js';
import { PairTemplate, type AssembledPair } from './pair-template.js';
import { cut, pairLengths, type TruncationSide, type TruncationStrategy } from './truncation.js';
import { FastWordPiece, type SplitText } from './wordpiece-fast.js';
import { passageWindows, SINGLE_WINDOW, tokensNeeded, type ChunkSettings } from './windows.js';

/** Token ids of one text; `complete` is false when they are only a prefix of a very long text's encoding. */
export interface EncodedText {
  ids: readonly number[];
  complete: boolean;
}

/** Model inputs for a list of pairs, one row per passage window. */
export interface EncodedWindows {
  rows: AssembledPair[];
  /** The pair each row belongs to. */
  owners: number[];
  /** Each row's window within its pair, from 0. */
  windows: number[];
  /** Pairs that lost tokens: cut by truncation, or longer than all their windows. */
  truncated: number;
}

/** Settings that `tokenizer_config.json` may carry. */
export interface TokenizerSettings {
  /** The tokenizer's own length limit; `undefined` when it declares none (HF writes a huge sentinel then). */
  modelMaxLength: number | undefined;
  truncationSide: TruncationSide;
}

// Hugging Face writes int(1e30) as "no limit"; anything this large is not a real one.
const NO_LIMIT_SENTINEL = 1e12;

// A passage is tokenized from a prefix first when it is far longer than any budget: tokenizing megabytes to keep
// 512 tokens is the cost this avoids. The prefix stops just before an ASCII space, tab or newline (every
// pre-tokenizer splits there; Unicode spaces such as U+FEFF are not always split), and it is only used when it
// already holds more tokens than the budget.
const PREFIX_CHARS_PER_TOKEN = 12;
const PREFIX_MIN_CHARS = 4096;

/**
 * A model's own Hugging Face tokenizer, encoding (query, passage) pairs the way the Rust `tokenizers` library does
 * with truncation on: cut first, then add special tokens, so the final separator survives. Texts are encoded by the
 * platform's binding of that library (on Node the Rust library itself, so ids equal Python's by construction); a BERT
 * WordPiece vocabulary sends printable-ASCII stretches through our own faster WordPiece code first, which gives the
 * same ids.
 */
export class PairTokenizer {
  readonly #tokenizer: TokenizerBinding;
  readonly #template: PairTemplate;
  readonly #fast: FastWordPiece | undefined;
  readonly settings: TokenizerSettings;
  /** The id padding positions carry. Attention masks hide them, but RoBERTa-style models derive positions from it. */
  readonly padId: number;

  /**
   * `binding` encodes texts; `fastPath: false` sends every text through it (the fast WordPiece path gives the same
   * ids; turning it off is for measuring it).
   */
  constructor(
    binding: TokenizerBinding,
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
    file = 'tokenizer.json',
    { fastPath = true }: { fastPath?: boolean } = {},
  ) {
    this.#tokenizer = binding;
    this.#template = PairTemplate.fromTokenizerJson(tokenizerJson, file);
    this.#fast = fastPath ? FastWordPiece.fromTokenizerJson(tokenizerJson) : undefined;
    this.settings = readSettings(tokenizerConfig);
    this.padId = findPadId(this.#tokenizer, tokenizerJson, tokenizerConfig);
  }

  /**
   * Builds the tokenizer from the text of `tokenizer.json` and the parsed `tokenizer_config.json` (`{}` when absent)
   * with the platform's `load`; `file` is named in errors.
   */
  static async load(
    load: TokenizerLoader,
    tokenizerJsonText: string,
    tokenizerConfig: Record<string, unknown>,
    file = 'tokenizer.json',
    options: { fastPath?: boolean } = {},
  ): Promise<PairTokenizer> {
    let json: Record<string, unknown>;
    let binding: TokenizerBinding;
    try {
      json = parseJsonObject(tokenizerJsonText, file);
      binding = await load(tokenizerJsonText);
    } catch (cause) {
      if (CrossEncoderError.isInstance(cause)) throw cause;
      throw new ModelFormatError(`${file} could not be loaded as a Hugging Face tokenizer: ${String(cause)}`, {
        file,
        cause,
      });
    }
    try {
      return new PairTokenizer(binding, json, tokenizerConfig, file, options);
    } catch (error) {
      binding.dispose?.();
      throw error;
    }
  }

  /** Frees the binding's memory outside the JavaScript heap; the tokenizer is unusable afterwards. */
  dispose(): void {
    this.#tokenizer.dispose?.();
  }

  /** Whether texts go through the fast WordPiece path. */
  get usesFastPath(): boolean {
    return this.#fast !== undefined;
  }

  /** The id of one token of the vocabulary (or an added token), or undefined when it has none. */
  tokenId(token: string): number | undefined {
    return this.#tokenizer.tokenToId(token) ?? undefined;
  }

  /** Special tokens a pair carries; truncation budgets exclude them. */
  get addedTokens(): number {
    return this.#template.addedTokens;
  }

  /**
   * Token ids of one text with no special tokens. With a `limit`, a very long text may be encoded from a prefix
   * holding more than `limit` tokens: `complete` is then false and `ids` is a true prefix of the full encoding.
   */
  async encodeText(text: string, limit = Number.POSITIVE_INFINITY): Promise<EncodedText> {
    return (await this.#encodeTexts([text], limit))[0] as EncodedText;
  }

  /** The ids and segment ids of a pair, truncated to `maxLength` tokens including special tokens. */
  async encodePair(
    query: string,
    passage: string,
    maxLength: number,
    strategy: TruncationStrategy,
  ): Promise<AssembledPair> {
    return (await this.encodePairs([[query, passage]], maxLength, strategy))[0] as AssembledPair;
  }

  /** `encodePair` for many pairs; a query repeated across pairs (the usual rerank call) is encoded once. */
  async encodePairs(
    pairs: readonly (readonly [string, string])[],
    maxLength: number,
    strategy: TruncationStrategy,
  ): Promise<AssembledPair[]> {
    return (await this.encodeWindows(pairs, maxLength, strategy, SINGLE_WINDOW)).rows;
  }

  /**
   * Encodes pairs, splitting a passage that does not fit beside its query into overlapping windows (the query kept
   * whole in each, as truncation would keep it). A pair that fits, or any pair when `chunks.maxChunks` is 1, gets
   * exactly the one row `encodePair` gives. A query repeated across pairs (the usual rerank call) is encoded once.
   */
  async encodeWindows(
    pairs: readonly (readonly [string, string])[],
    maxLength: number,
    strategy: TruncationStrategy,
    chunks: ChunkSettings,
  ): Promise<EncodedWindows> {
    const budget = Math.max(0, maxLength - this.addedTokens);
    const side = this.settings.truncationSide;
    const chunked = chunks.maxChunks > 1;
    const passageLimit = chunked ? tokensNeeded(budget, chunks) + 1 : budget + 1;
    const queries = [...new Set(pairs.map(([query]) => query))];
    const encodedQueries = await this.#encodeTexts(queries, budget + 1);
    const byQuery = new Map(queries.map((query, i) => [query, encodedQueries[i] as EncodedText]));
    const passages = await this.#encodeTexts(
      pairs.map(([, passage]) => passage),
      passageLimit,
    );
    // When both sides overflow, which one is longer decides who keeps the odd token: that needs true lengths.
    const redo = new Set<string>();
    pairs.forEach(([query, passage], i) => {
      const q = byQuery.get(query) as EncodedText;
      const p = passages[i] as EncodedText;
      if (q.ids.length > budget && p.ids.length > budget) {
        if (!q.complete) redo.add(query);
        if (!p.complete) redo.add(passage);
      }
    });
    const full = new Map<string, EncodedText>();
    if (redo.size > 0) {
      const texts = [...redo];
      (await this.#encodeTexts(texts)).forEach((e, i) => full.set(texts[i] as string, e));
    }
    const out: EncodedWindows = { rows: [], owners: [], windows: [], truncated: 0 };
    pairs.forEach(([query, passage], owner) => {
      const q = full.get(query) ?? (byQuery.get(query) as EncodedText);
      const p = full.get(passage) ?? (passages[owner] as EncodedText);
      const [queryKeeps, passageKeeps] = pairLengths(q.ids.length, p.ids.length, budget, strategy);
      const queryIds = cut(q.ids, queryKeeps, side);
      const fits = queryKeeps === q.ids.length && passageKeeps === p.ids.length;
      if (fits || !chunked) {
        out.rows.push(this.#template.assemble(queryIds, cut(p.ids, passageKeeps, side)));
        out.owners.push(owner);
        out.windows.push(0);
        if (!fits) out.truncated++;
        return;
      }
      const { ranges, complete } = passageWindows(p.ids.length, budget - queryKeeps, chunks);
      ranges.forEach(([start, end], window) => {
        out.rows.push(this.#template.assemble(queryIds, p.ids.slice(start, end)));
        out.owners.push(owner);
        out.windows.push(window);
      });
      if (!complete || queryKeeps < q.ids.length) out.truncated++;
    });
    return out;
  }

  /** One text with the single-sequence special tokens, truncated to `maxLength` tokens in all (for embedding models). */
  async encodeSingles(texts: readonly string[], maxLength: number): Promise<AssembledPair[]> {
    const budget = Math.max(0, maxLength - this.#template.addedTokensSingle);
    const encoded = await this.#encodeTexts(texts, budget + 1);
    return encoded.map(({ ids }) => this.#template.assembleSingle(cut(ids, budget, this.settings.truncationSide)));
  }

  /** Encodes texts, each from a prefix when it is far longer than `limit` tokens could need (see `encodeText`). */
  async #encodeTexts(texts: readonly string[], limit = Number.POSITIVE_INFINITY): Promise<EncodedText[]> {
    const prefixes = texts.map((text) => this.#prefix(text, limit));
    const first = await this.#encodeMany(prefixes.map((prefix, i) => prefix ?? (texts[i] as string)));
    const result: EncodedText[] = first.map((ids, i) => ({ ids, complete: prefixes[i] === undefined }));
    // A prefix that does not already overflow the limit tells nothing: the whole text is encoded then.
    const short = result.flatMap((e, i) => (!e.complete && e.ids.length <= limit ? [i] : []));
    if (short.length > 0) {
      const again = await this.#encodeMany(short.map((i) => texts[i] as string));
      short.forEach((i, k) => (result[i] = { ids: again[k] as number[], complete: true }));
    }
    return result;
  }

  /** The start of a text far longer than `limit` tokens could need, cut before ASCII whitespace, or undefined. */
  #prefix(text: string, limit: number): string | undefined {
    if (!Number.isFinite(limit) || this.settings.truncationSide !== 'right') return undefined;
    const prefixChars = Math.max(PREFIX_MIN_CHARS, limit * PREFIX_CHARS_PER_TOKEN);
    if (text.length <= prefixChars * 2) return undefined;
    // End on a word followed by whitespace, so the last pre-token is whole whatever the pre-tokenizer does with
    // runs of spaces.
    const boundary = text.slice(prefixChars).search(/\S[ \t\n\r]/);
    return boundary >= 0 ? text.slice(0, prefixChars + boundary + 1) : undefined;
  }

  /**
   * Ids of many texts with no special tokens. The fast path takes what it can; every stretch it cannot (and every
   * text without a fast path) goes to the Rust tokenizer, each distinct string once.
   */
  async #encodeMany(texts: readonly string[]): Promise<number[][]> {
    const split = texts.map((text) => (this.#fast === undefined ? wholeText(text) : this.#fast.encode(text)));
    const pending = new Map<string, number[]>();
    for (const { holes } of split) for (const hole of holes) pending.set(hole.text, []);
    const distinct = [...pending.keys()];
    const encodings = distinct.length === 0 ? [] : await this.#tokenizer.encodeTexts(distinct);
    encodings.forEach((ids, i) => pending.set(distinct[i] as string, ids));
    return split.map(({ ids, holes }) => {
      if (holes.length === 0) return ids;
      const out: number[] = [];
      let from = 0;
      for (const hole of holes) {
        for (let k = from; k < hole.at; k++) out.push(ids[k] as number);
        for (const id of pending.get(hole.text) as number[]) out.push(id);
        from = hole.at;
      }
      for (let k = from; k < ids.length; k++) out.push(ids[k] as number);
      return out;
    });
  }
}

function wholeText(text: string): SplitText {
  return { ids: [], holes: [{ at: 0, text }] };
}

function findPadId(
  tokenizer: TokenizerBinding,
  json: Record<string, unknown>,
  config: Record<string, unknown>,
): number {
  const declared = config['pad_token'];
  const name = typeof declared === 'string' ? declared : (declared as { content?: unknown } | undefined)?.content;
  const fromConfig = typeof name === 'string' ? tokenizer.tokenToId(name) : undefined;
  if (fromConfig !== undefined) return fromConfig;
  const padding = json['padding'] as { pad_id?: unknown } | null | undefined;
  return typeof padding?.pad_id === 'number' ? padding.pad_id : 0;
}

function readSettings(config: Record<string, unknown>): TokenizerSettings {
  const declared = config['model_max_length'];
  const modelMaxLength =
    typeof declared === 'number' && declared > 0 && declared < NO_LIMIT_SENTINEL ? Math.floor(declared) : undefined;
  return { modelMaxLength, truncationSide: config['truncation_side'] === 'left' ? 'left' : 'right' };
}

/** Parses the text of a JSON file that must hold an object; names the file in every failure. */
export function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ModelFormatError(
      `${file} is not valid JSON (${(cause as Error).message}). Re-download or re-export the model.`,
      { file, cause },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelFormatError(`${file} should hold a JSON object.`, { file });
  }
  return parsed as Record<string, unknown>;
}
