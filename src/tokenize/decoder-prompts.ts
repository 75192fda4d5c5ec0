import type { PairChatTemplate } from './chat-template.js';
import type { AssembledPair } from './pair-template.js';
import type { EncodedWindows, PairTokenizer } from './tokenizer.js';
import { passageWindows, tokensNeeded, type ChunkSettings } from './windows.js';

// The two fillers sentence-transformers puts in a pair's skeleton to find its fixed tail: they tokenize differently,
// so the tokens both prompts end with are the template's tail, never content.
const SKELETON_FILLERS = ['0', '1 2 3 4'] as const;
// Stand for the query and the document in the one render of the template per instruction; no template or text holds them.
const QUERY_MARK = '\u0000query\u0000';
const DOCUMENT_MARK = '\u0000document\u0000';
// Skeletons kept per instruction; a server passing many distinct instructions evicts the oldest.
const SKELETON_CACHE_SIZE = 64;
// A document far longer than its prompt could hold is tokenized from a prefix of this many characters per token
// needed (at least the minimum), cut before whitespace, and only when that prefix already overflows the prompt.
const CHARS_PER_TOKEN = 12;
const SMALLEST_PREFIX_CHARS = 4096;
// The start of a query's first document that the check of its head is made with.
const HEAD_CHECK_CHARS = 256;

/** The template rendered once with marks: the text around the query and the document, and the fixed tail's ids. */
interface Skeleton {
  /** Before the query, between query and document, after the document; `undefined` if the marks are not each there once, in order. */
  parts: readonly [string, string, string] | undefined;
  tail: readonly number[];
}

/** The prompt text of one query up to its documents, tokenized once per call where that gives the same ids. */
interface QueryHead {
  /** Text ahead of the document (system text, instruction, query), and where the tokenizer can restart in it. */
  before: string;
  cut: number;
  /** Ids of `before.slice(0, cut)`, or `undefined` when the whole prompt is tokenized for every pair. */
  ids: readonly number[] | undefined;
  /** Ids of `before`, to find where the document starts in a pair's ids. */
  prefix: readonly number[];
}

/**
 * Prompt token ids of (query, document) pairs for a reranker on a language model, as sentence-transformers 6 makes
 * them: the rendered prompt is tokenized (the template writes its own special tokens, and special-token text in a
 * query or document is read as those tokens too, as sentence-transformers reads it), cut to `maxLength` on the
 * tokenizer's truncation side, and a cut row gets the template's fixed tail written back over its last tokens, so
 * the model still reads the prompt's ending. With the query and instruction ahead of the document, that cuts the
 * document. Windows (`maxChunks` > 1) keep the prompt ahead of the document and its tail whole in every row, the
 * first window being exactly the truncated row.
 *
 * The template is rendered once per instruction, with marks where the query and the document go; the text ahead of
 * each document is tokenized once per query and call, and a document far longer than the prompt holds is cut by
 * characters first.
 */
export class DecoderPrompts {
  readonly #tokenizer: PairTokenizer;
  readonly #template: PairChatTemplate;
  readonly #skeletons = new Map<string, Promise<Skeleton>>();

  constructor(tokenizer: PairTokenizer, template: PairChatTemplate) {
    this.#tokenizer = tokenizer;
    this.#template = template;
  }

  /** The prompt ids of one pair, truncated as the reference truncates it. */
  async encodePair(query: string, document: string, instruction: string | undefined, maxLength: number) {
    const { rows } = await this.encodeWindows([[query, document]], instruction, maxLength, {
      maxChunks: 1,
      chunkTokens: undefined,
      strideTokens: undefined,
    });
    return rows[0] as AssembledPair;
  }

  /**
   * Rows for many pairs: one each, or one per document window when documents may be split. A pair counts as
   * truncated when tokens of it are in no row.
   */
  async encodeWindows(
    pairs: readonly (readonly [string, string])[],
    instruction: string | undefined,
    maxLength: number,
    chunks: ChunkSettings,
  ): Promise<EncodedWindows> {
    const skeleton = await this.#skeleton(instruction);
    const side = this.#tokenizer.settings.truncationSide;
    const { tail, parts } = skeleton;
    const heads = new Map<string, Promise<QueryHead | undefined>>();
    const headOf = (query: string, document: string) => {
      let head = heads.get(query);
      if (head === undefined) heads.set(query, (head = this.#head(parts, query, document, instruction)));
      return head;
    };
    const out: EncodedWindows = { rows: [], owners: [], windows: [], truncated: 0 };
    const push = (ids: number[], owner: number, window: number) => {
      out.rows.push({ ids, typeIds: new Array<number>(ids.length).fill(0) });
      out.owners.push(owner);
      out.windows.push(window);
    };
    const encoded = await Promise.all(
      pairs.map(async ([query, document]) => {
        const head = await headOf(query, document);
        const ids = await this.#promptIds(head, parts, query, document, instruction, maxLength, chunks, tail.length);
        return { head, ids };
      }),
    );
    for (let owner = 0; owner < pairs.length; owner++) {
      const { head, ids } = encoded[owner] as { head: QueryHead | undefined; ids: number[] };
      const start =
        ids.length > maxLength && chunks.maxChunks > 1 && side === 'right' ? documentStart(head, ids, tail) : undefined;
      const room = start === undefined ? 0 : maxLength - start - tail.length;
      if (start === undefined || room < 1) {
        if (ids.length > maxLength) out.truncated++;
        push(truncate(ids, maxLength, side, tail), owner, 0);
        continue;
      }
      const before = ids.slice(0, start);
      const body = ids.slice(start, ids.length - tail.length);
      const { ranges, complete } = passageWindows(body.length, room, chunks);
      if (!complete) out.truncated++;
      ranges.forEach(([from, to], window) => push([...before, ...body.slice(from, to), ...tail], owner, window));
    }
    return out;
  }

  /** One pair's whole prompt ids (or enough of them: a long document is tokenized from a prefix that overflows). */
  async #promptIds(
    head: QueryHead | undefined,
    parts: Skeleton['parts'],
    query: string,
    document: string,
    instruction: string | undefined,
    maxLength: number,
    chunks: ChunkSettings,
    tailLength: number,
  ): Promise<number[]> {
    const encode = async (doc: string) => {
      if (head === undefined || parts === undefined) {
        return (await this.#tokenizer.encodeText(this.#template.render(query, doc, instruction))).ids.slice();
      }
      const rest = `${head.before.slice(head.cut)}${doc}${parts[2]}`;
      const restIds = (await this.#tokenizer.encodeText(rest)).ids;
      return head.ids === undefined
        ? (await this.#tokenizer.encodeText(head.before.slice(0, head.cut) + rest)).ids.slice()
        : [...head.ids, ...restIds];
    };
    // Tokens a prompt needs at most: all of maxLength, or what the windows reach past the text ahead of the document.
    const needed = chunks.maxChunks > 1 ? maxLength + tokensNeeded(maxLength, chunks) : maxLength;
    const prefix = documentPrefix(document, needed, this.#tokenizer.settings.truncationSide);
    if (prefix !== undefined) {
      const ids = await encode(prefix);
      if (ids.length > needed + tailLength + (head?.prefix.length ?? 0)) return ids;
    }
    return encode(document);
  }

  /**
   * The text ahead of a query's documents, and ids for it where tokenizing it apart gives the ids the whole prompt
   * has: the cut is after its last line break past the query, checked on the query's first pair.
   */
  async #head(
    parts: Skeleton['parts'],
    query: string,
    document: string,
    instruction: string | undefined,
  ): Promise<QueryHead | undefined> {
    if (parts === undefined) return undefined;
    const before = parts[0] + query + parts[1];
    // The check needs a document, not all of a long one.
    document = document.slice(0, HEAD_CHECK_CHARS);
    // A template that changes the text it is given (trims it, say) is rendered for every pair.
    if (this.#template.render(query, document, instruction) !== before + document + parts[2]) return undefined;
    const breakAt = before.lastIndexOf('\n');
    const cut = breakAt >= parts[0].length + query.length ? breakAt + 1 : 0;
    const [whole, headIds, restIds, prefix] = await Promise.all(
      [before + document + parts[2], before.slice(0, cut), before.slice(cut) + document + parts[2], before].map(
        async (text) => (await this.#tokenizer.encodeText(text)).ids,
      ),
    );
    const joined = [...(headIds as readonly number[]), ...(restIds as readonly number[])];
    const same = cut > 0 && sameIds(joined, whole as readonly number[]);
    return { before, cut, ids: same ? (headIds as readonly number[]) : undefined, prefix: prefix as readonly number[] };
  }

  /** The template rendered once for an instruction, and its fixed tail found as sentence-transformers finds it. */
  #skeleton(instruction: string | undefined): Promise<Skeleton> {
    const key = instruction || '';
    let skeleton = this.#skeletons.get(key);
    if (skeleton === undefined) {
      skeleton = this.#makeSkeleton(instruction);
      this.#skeletons.set(key, skeleton);
      // A failure is not kept: the next call tries again.
      skeleton.catch(() => {
        if (this.#skeletons.get(key) === skeleton) this.#skeletons.delete(key);
      });
      if (this.#skeletons.size > SKELETON_CACHE_SIZE) {
        this.#skeletons.delete(this.#skeletons.keys().next().value as string);
      }
    }
    return skeleton;
  }

  async #makeSkeleton(instruction: string | undefined): Promise<Skeleton> {
    const marked = this.#template.render(QUERY_MARK, DOCUMENT_MARK, instruction);
    const q = marked.indexOf(QUERY_MARK);
    const d = marked.indexOf(DOCUMENT_MARK);
    const once = (mark: string, at: number) => at >= 0 && marked.indexOf(mark, at + 1) < 0;
    const parts =
      once(QUERY_MARK, q) && once(DOCUMENT_MARK, d) && q < d
        ? ([
            marked.slice(0, q),
            marked.slice(q + QUERY_MARK.length, d),
            marked.slice(d + DOCUMENT_MARK.length),
          ] as const)
        : undefined;
    const [first, second] = await Promise.all(
      SKELETON_FILLERS.map(async (filler) => {
        const text =
          parts === undefined
            ? this.#template.render(filler, filler, instruction)
            : parts[0] + filler + parts[1] + filler + parts[2];
        return (await this.#tokenizer.encodeText(text)).ids;
      }),
    );
    const a = first as readonly number[];
    const b = second as readonly number[];
    let count = 0;
    while (count < Math.min(a.length, b.length) && a[a.length - 1 - count] === b[b.length - 1 - count]) count++;
    // Renders that never diverge have no variable content to tell the tail by.
    const tail = count > 0 && count < Math.min(a.length, b.length) ? a.slice(a.length - count) : [];
    return { parts, tail };
  }
}

/**
 * Where the document starts in a pair's ids: the tokens the text ahead of it has in common with the whole prompt.
 * `undefined` when the template does not write the document verbatim or the ids do not end with the fixed tail;
 * such a pair is truncated instead of split.
 */
function documentStart(head: QueryHead | undefined, ids: readonly number[], tail: readonly number[]) {
  if (head === undefined || tail.length === 0 || !endsWith(ids, tail)) return undefined;
  let start = 0;
  while (start < head.prefix.length && start < ids.length && head.prefix[start] === ids[start]) start++;
  return start + tail.length < ids.length ? start : undefined;
}

/** The start of a document far longer than `tokens` could need, cut before ASCII whitespace, or `undefined`. */
function documentPrefix(document: string, tokens: number, side: 'left' | 'right'): string | undefined {
  if (side !== 'right') return undefined;
  const chars = Math.max(SMALLEST_PREFIX_CHARS, tokens * CHARS_PER_TOKEN);
  if (document.length <= chars * 2) return undefined;
  // End on a word followed by whitespace, so the last pre-token is whole whatever the pre-tokenizer does with runs
  // of spaces.
  const boundary = document.slice(chars).search(/\S[ \t\n\r]/);
  return boundary >= 0 ? document.slice(0, chars + boundary + 1) : undefined;
}

/** Cuts ids to `maxLength` on `side`; a row that reaches the limit gets the fixed tail written over its end. */
function truncate(
  ids: readonly number[],
  maxLength: number,
  side: 'left' | 'right',
  tail: readonly number[],
): number[] {
  if (ids.length < maxLength) return ids.slice();
  const kept = side === 'right' ? ids.slice(0, maxLength) : ids.slice(ids.length - maxLength);
  const keep = Math.min(tail.length, kept.length);
  for (let k = 0; k < keep; k++) kept[kept.length - keep + k] = tail[tail.length - keep + k] as number;
  return kept;
}

function endsWith(ids: readonly number[], tail: readonly number[]): boolean {
  return tail.every((id, k) => ids[ids.length - tail.length + k] === id);
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, k) => id === b[k]);
}
