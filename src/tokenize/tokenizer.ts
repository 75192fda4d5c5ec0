import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFormatError, ModelNotFoundError } from '../errors.js';
import { textFixFor, type TextFix } from './bert-fixes.js';
import { PairTemplate, type AssembledPair } from './pair-template.js';
import { cut, pairLengths, type TruncationSide, type TruncationStrategy } from './truncation.js';
import { FastWordPiece } from './wordpiece-fast.js';
import { passageWindows, SINGLE_WINDOW, tokensNeeded, type ChunkSettings } from './windows.js';

/** Files a tokenizer is built from; `config` is `tokenizer_config.json`, which may be absent. */
export interface TokenizerFiles {
  tokenizerJson: string;
  tokenizerConfig?: string | undefined;
}

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
 * A model's own Hugging Face tokenizer, encoding (query, passage) pairs the way the Rust `tokenizers`
 * library does with truncation on: cut first, then add special tokens, so the final separator survives.
 */
export class PairTokenizer {
  readonly #tokenizer: Tokenizer;
  readonly #template: PairTemplate;
  readonly #fix: TextFix;
  readonly #fast: FastWordPiece | undefined;
  readonly settings: TokenizerSettings;
  /** The id padding positions carry. Attention masks hide them, but RoBERTa-style models derive positions from it. */
  readonly padId: number;

  /**
   * `fastPath: false` sends every text through the general tokenizer (the fast WordPiece path gives the same ids;
   * turning it off is for measuring it).
   */
  constructor(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
    file = 'tokenizer.json',
    { fastPath = true }: { fastPath?: boolean } = {},
  ) {
    try {
      this.#tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (cause) {
      throw new ModelFormatError(`${file} could not be loaded as a Hugging Face tokenizer: ${String(cause)}`, {
        file,
        cause,
      });
    }
    this.#template = PairTemplate.fromTokenizerJson(tokenizerJson, file);
    this.#fix = textFixFor(tokenizerJson);
    this.#fast = fastPath ? FastWordPiece.fromTokenizerJson(tokenizerJson) : undefined;
    this.settings = readSettings(tokenizerConfig);
    this.padId = findPadId(this.#tokenizer, tokenizerJson, tokenizerConfig);
  }

  /** Reads `tokenizer.json` (required) and `tokenizer_config.json` (optional) from disk. */
  static async fromFiles(files: TokenizerFiles, options: { fastPath?: boolean } = {}): Promise<PairTokenizer> {
    const json = await readJsonObject(files.tokenizerJson);
    const config = files.tokenizerConfig === undefined ? {} : await readJsonObject(files.tokenizerConfig);
    return new PairTokenizer(json, config, files.tokenizerJson, options);
  }

  /** Whether texts go through the fast WordPiece path. */
  get usesFastPath(): boolean {
    return this.#fast !== undefined;
  }

  /** Special tokens a pair carries; truncation budgets exclude them. */
  get addedTokens(): number {
    return this.#template.addedTokens;
  }

  /**
   * Token ids of one text with no special tokens. With a `limit`, a very long text may be encoded from a prefix
   * holding more than `limit` tokens: `complete` is then false and `ids` is a true prefix of the full encoding.
   */
  encodeText(text: string, limit = Number.POSITIVE_INFINITY): EncodedText {
    if (Number.isFinite(limit) && this.settings.truncationSide === 'right') {
      const prefixChars = Math.max(PREFIX_MIN_CHARS, limit * PREFIX_CHARS_PER_TOKEN);
      if (text.length > prefixChars * 2) {
        const boundary = text.slice(prefixChars).search(/[ \t\n\r]/);
        if (boundary >= 0) {
          const ids = this.#encode(text.slice(0, prefixChars + boundary));
          if (ids.length > limit) return { ids, complete: false };
        }
      }
    }
    return { ids: this.#encode(text), complete: true };
  }

  /** The ids and segment ids of a pair, truncated to `maxLength` tokens including special tokens. */
  encodePair(query: string, passage: string, maxLength: number, strategy: TruncationStrategy): AssembledPair {
    return this.encodePairs([[query, passage]], maxLength, strategy)[0] as AssembledPair;
  }

  /** `encodePair` for many pairs; a query repeated across pairs (the usual rerank call) is encoded once. */
  encodePairs(
    pairs: readonly (readonly [string, string])[],
    maxLength: number,
    strategy: TruncationStrategy,
  ): AssembledPair[] {
    return this.encodeWindows(pairs, maxLength, strategy, SINGLE_WINDOW).rows;
  }

  /**
   * Encodes pairs, splitting a passage that does not fit beside its query into overlapping windows (the query kept
   * whole in each, as truncation would keep it). A pair that fits, or any pair when `chunks.maxChunks` is 1, gets
   * exactly the one row `encodePair` gives.
   */
  encodeWindows(
    pairs: readonly (readonly [string, string])[],
    maxLength: number,
    strategy: TruncationStrategy,
    chunks: ChunkSettings,
  ): EncodedWindows {
    const budget = Math.max(0, maxLength - this.addedTokens);
    const side = this.settings.truncationSide;
    const chunked = chunks.maxChunks > 1;
    const passageLimit = chunked ? tokensNeeded(budget, chunks) + 1 : budget + 1;
    const queries = new Map<string, EncodedText>();
    const out: EncodedWindows = { rows: [], owners: [], windows: [], truncated: 0 };
    pairs.forEach(([query, passage], owner) => {
      let q = queries.get(query);
      if (q === undefined) {
        q = this.encodeText(query, budget + 1);
        queries.set(query, q);
      }
      let p = this.encodeText(passage, passageLimit);
      // When both sides overflow, which one is longer decides who keeps the odd token: that needs true lengths.
      if (q.ids.length > budget && p.ids.length > budget) {
        if (!q.complete) q = this.encodeText(query);
        if (!p.complete) p = this.encodeText(passage);
      }
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
  encodeSingle(text: string, maxLength: number): AssembledPair {
    const budget = Math.max(0, maxLength - this.#template.addedTokensSingle);
    const { ids } = this.encodeText(text, budget + 1);
    return this.#template.assembleSingle(cut(ids, budget, this.settings.truncationSide));
  }

  #encode(text: string): readonly number[] {
    return this.#fast === undefined ? this.#encodeGeneral(text) : this.#fast.encode(text, this.#encodeGeneral);
  }

  readonly #encodeGeneral = (text: string): readonly number[] =>
    this.#tokenizer.encode(this.#fix(text), { add_special_tokens: false }).ids;
}

function findPadId(tokenizer: Tokenizer, json: Record<string, unknown>, config: Record<string, unknown>): number {
  const declared = config['pad_token'];
  const name = typeof declared === 'string' ? declared : (declared as { content?: unknown } | undefined)?.content;
  const fromConfig = typeof name === 'string' ? tokenizer.token_to_id(name) : undefined;
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

/** Reads a JSON file that must hold an object; names the file in every failure. */
export async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ModelNotFoundError(`${path} could not be read: ${(cause as Error).message}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ModelFormatError(
      `${path} is not valid JSON (${(cause as Error).message}). Re-download or re-export the model.`,
      {
        file: path,
        cause,
      },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelFormatError(`${path} should hold a JSON object.`, { file: path });
  }
  return parsed as Record<string, unknown>;
}
