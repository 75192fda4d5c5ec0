/**
 * A fast path for the most common reranker tokenizer: BERT's normalizer and pre-tokenizer in front of a WordPiece
 * vocabulary. Text is cut at ASCII whitespace into chunks; a chunk of printable ASCII is tokenized here, where BERT's
 * normalization reduces to lowercasing and every non-alphanumeric character is a word of its own. Any other chunk
 * goes to the general tokenizer. Both tokenizers split at ASCII whitespace and normalize character by character, so
 * the joined ids equal those of the whole text; a text holding an added token goes to the general tokenizer whole,
 * since such tokens are matched before normalization.
 */

/**
 * What the fast path made of a text: `ids` with holes, each a stretch of text the general tokenizer must encode and
 * whose ids go in before `ids[at]`, holes in order.
 */
export interface SplitText {
  ids: number[];
  holes: { at: number; text: string }[];
}

// Bounds the memo of words already split into pieces; cleared whole when full.
const WORD_MEMO_LIMIT = 50_000;
// Rust `tokenizers` uses this when `max_input_chars_per_word` is absent.
const DEFAULT_MAX_CHARS_PER_WORD = 100;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const TILDE = 0x7e;

export class FastWordPiece {
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #unkId: number;
  readonly #prefix: string;
  readonly #maxCharsPerWord: number;
  readonly #longestPiece: number;
  readonly #lowercase: boolean;
  readonly #addedTokens: readonly string[];
  readonly #normalizedAddedTokens: readonly string[];
  readonly #memo = new Map<string, readonly number[]>();

  private constructor(
    vocab: ReadonlyMap<string, number>,
    unkId: number,
    prefix: string,
    maxCharsPerWord: number,
    lowercase: boolean,
    addedTokens: readonly string[],
    normalizedAddedTokens: readonly string[],
  ) {
    this.#vocab = vocab;
    this.#unkId = unkId;
    this.#prefix = prefix;
    this.#maxCharsPerWord = maxCharsPerWord;
    this.#lowercase = lowercase;
    this.#addedTokens = addedTokens;
    this.#normalizedAddedTokens = normalizedAddedTokens;
    let longest = 0;
    for (const piece of vocab.keys()) longest = Math.max(longest, piece.length);
    this.#longestPiece = longest;
  }

  /**
   * The fast path for a parsed `tokenizer.json`, or `undefined` when its pipeline is not exactly BertNormalizer,
   * BertPreTokenizer and WordPiece (any other shape stays with the general tokenizer).
   */
  static fromTokenizerJson(json: Record<string, unknown>): FastWordPiece | undefined {
    const normalizer = record(json['normalizer']);
    const preTokenizer = record(json['pre_tokenizer']);
    const model = record(json['model']);
    if (normalizer?.['type'] !== 'BertNormalizer' || preTokenizer?.['type'] !== 'BertPreTokenizer') return undefined;
    if (model?.['type'] !== 'WordPiece') return undefined;
    const vocabObject = record(model['vocab']);
    const unkToken = model['unk_token'];
    if (vocabObject === undefined || typeof unkToken !== 'string') return undefined;
    const vocab = new Map<string, number>();
    for (const [piece, id] of Object.entries(vocabObject)) {
      if (typeof id !== 'number') return undefined;
      vocab.set(piece, id);
    }
    const unkId = vocab.get(unkToken);
    if (unkId === undefined) return undefined;
    const prefix = model['continuing_subword_prefix'];
    const maxChars = model['max_input_chars_per_word'];
    const added = (Array.isArray(json['added_tokens']) ? json['added_tokens'] : []).map(record);
    const contents = (normalized: boolean) =>
      added
        .filter((token) => normalized === (token?.['normalized'] === true))
        .map((token) => token?.['content'])
        .filter((content): content is string => typeof content === 'string' && content !== '');
    // A token spanning whitespace could match across two chunks; such vocabularies keep the general path.
    if ([...contents(false), ...contents(true)].some((content) => /\s/u.test(content))) return undefined;
    return new FastWordPiece(
      vocab,
      unkId,
      typeof prefix === 'string' ? prefix : '##',
      typeof maxChars === 'number' ? maxChars : DEFAULT_MAX_CHARS_PER_WORD,
      normalizer['lowercase'] !== false,
      contents(false),
      contents(true),
    );
  }

  /** Token ids of `text` with no special tokens, with holes where the general tokenizer must take a chunk. */
  encode(text: string): SplitText {
    if (this.#holdsAddedToken(text)) return { ids: [], holes: [{ at: 0, text }] };
    const ids: number[] = [];
    const holes: SplitText['holes'] = [];
    const length = text.length;
    let chunkStart = 0;
    let ascii = true;
    for (let i = 0; i <= length; i++) {
      const code = i < length ? text.charCodeAt(i) : SPACE;
      if (code === SPACE || code === TAB || code === LF || code === CR) {
        if (i > chunkStart) {
          if (ascii) this.#encodeAsciiChunk(text, chunkStart, i, ids);
          else holes.push({ at: ids.length, text: text.slice(chunkStart, i) });
        }
        chunkStart = i + 1;
        ascii = true;
      } else if (code < SPACE || code > TILDE) {
        ascii = false;
      }
    }
    return { ids, holes };
  }

  #holdsAddedToken(text: string): boolean {
    if (this.#addedTokens.some((token) => text.includes(token))) return true;
    if (this.#normalizedAddedTokens.length === 0) return false;
    // Tokens marked `normalized` are matched in normalized text; testing the raw and the lowercased form covers both.
    const lowered = this.#lowercase ? text.toLowerCase() : text;
    return this.#normalizedAddedTokens.some((token) => text.includes(token) || lowered.includes(token));
  }

  /** A whitespace-free run of printable ASCII: runs of letters and digits are words, anything else stands alone. */
  #encodeAsciiChunk(text: string, start: number, end: number, ids: number[]): void {
    let wordStart = start;
    for (let i = start; i < end; i++) {
      if (isAlphanumeric(text.charCodeAt(i))) continue;
      if (i > wordStart) this.#pushWord(text.slice(wordStart, i), ids);
      this.#pushWord(text[i] as string, ids);
      wordStart = i + 1;
    }
    if (end > wordStart) this.#pushWord(text.slice(wordStart, end), ids);
  }

  #pushWord(word: string, ids: number[]): void {
    // Over-long words are unknown whatever they hold; kept out of the memo, so hostile text cannot fill it with them.
    if (word.length > this.#maxCharsPerWord) {
      ids.push(this.#unkId);
      return;
    }
    const key = this.#lowercase ? word.toLowerCase() : word;
    let pieces = this.#memo.get(key);
    if (pieces === undefined) {
      pieces = this.#split(key);
      if (this.#memo.size >= WORD_MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(key, pieces);
    }
    for (const id of pieces) ids.push(id);
  }

  /**
   * Greedy longest-match-first, as WordPiece does: a word with any unmatched rest becomes one unknown token.
   * Words longer than `max_input_chars_per_word` never get here.
   */
  #split(word: string): readonly number[] {
    const pieces: number[] = [];
    let start = 0;
    while (start < word.length) {
      let end = Math.min(word.length, start + this.#longestPiece);
      let id: number | undefined;
      for (; end > start; end--) {
        const piece = word.slice(start, end);
        id = this.#vocab.get(start === 0 ? piece : this.#prefix + piece);
        if (id !== undefined) break;
      }
      if (id === undefined) return [this.#unkId];
      pieces.push(id);
      start = end;
    }
    return pieces;
  }
}

function isAlphanumeric(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
