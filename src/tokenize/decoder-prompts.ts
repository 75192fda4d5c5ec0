import type { PairChatTemplate } from './chat-template.js';
import type { AssembledPair } from './pair-template.js';
import type { EncodedWindows, PairTokenizer } from './tokenizer.js';
import { passageWindows, type ChunkSettings } from './windows.js';

// The two fillers sentence-transformers renders a pair's skeleton with: they tokenize differently, so the tokens
// both renders end with are the template's fixed tail, never content.
const SKELETON_FILLERS = ['0', '1 2 3 4'] as const;
// Stands for the document when the prompt is split around it; no template or text holds it.
const DOCUMENT_MARK = '\u0000document\u0000';
// Tails kept per instruction; a server passing many distinct instructions evicts the oldest.
const TAIL_CACHE_SIZE = 64;

/**
 * Prompt token ids of (query, document) pairs for a reranker on a language model, as sentence-transformers 6 makes
 * them: the whole rendered prompt is tokenized (the template writes its own special tokens), cut to `maxLength` on
 * the tokenizer's truncation side, and a cut row gets the template's fixed tail written back over its last tokens,
 * so the model still reads the prompt's ending. With the query and instruction ahead of the document, that cuts
 * the document. Windows (`maxChunks` > 1) keep the prompt ahead of the document and its tail whole in every row,
 * the first window being exactly the truncated row.
 */
export class DecoderPrompts {
  readonly #tokenizer: PairTokenizer;
  readonly #template: PairChatTemplate;
  readonly #tails = new Map<string, Promise<readonly number[]>>();

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

  /** Rows for many pairs: one each, or one per document window when documents may be split. */
  async encodeWindows(
    pairs: readonly (readonly [string, string])[],
    instruction: string | undefined,
    maxLength: number,
    chunks: ChunkSettings,
  ): Promise<EncodedWindows> {
    const tail = await this.#tail(instruction);
    const side = this.#tokenizer.settings.truncationSide;
    const full = await Promise.all(
      pairs.map(async ([query, document]) =>
        (await this.#tokenizer.encodeText(this.#template.render(query, document, instruction))).ids.slice(),
      ),
    );
    const out: EncodedWindows = { rows: [], owners: [], windows: [], truncated: 0 };
    const push = (ids: number[], owner: number, window: number) => {
      out.rows.push({ ids, typeIds: new Array<number>(ids.length).fill(0) });
      out.owners.push(owner);
      out.windows.push(window);
    };
    for (let owner = 0; owner < pairs.length; owner++) {
      const ids = full[owner] as number[];
      if (ids.length > maxLength) out.truncated++;
      const split =
        ids.length > maxLength && chunks.maxChunks > 1 && side === 'right'
          ? await this.#split(pairs[owner] as readonly [string, string], instruction, ids, tail)
          : undefined;
      const room = split === undefined ? 0 : maxLength - split.head - tail.length;
      if (split === undefined || room < 1) {
        push(truncate(ids, maxLength, side, tail), owner, 0);
        continue;
      }
      const head = ids.slice(0, split.head);
      const body = ids.slice(split.head, ids.length - tail.length);
      const { ranges } = passageWindows(body.length, room, chunks);
      ranges.forEach(([start, end], window) => push([...head, ...body.slice(start, end), ...tail], owner, window));
    }
    return out;
  }

  /**
   * Where the document starts in a pair's ids: the tokens the prompt up to the document has in common with the
   * whole prompt. `undefined` when the template does not write the document verbatim or the ids do not end with
   * the fixed tail; such a pair is truncated instead of split.
   */
  async #split(
    [query, document]: readonly [string, string],
    instruction: string | undefined,
    ids: readonly number[],
    tail: readonly number[],
  ): Promise<{ head: number } | undefined> {
    const marked = this.#template.render(query, DOCUMENT_MARK, instruction);
    const at = marked.indexOf(DOCUMENT_MARK);
    if (at < 0 || marked.indexOf(DOCUMENT_MARK, at + 1) >= 0) return undefined;
    const before = marked.slice(0, at);
    const after = marked.slice(at + DOCUMENT_MARK.length);
    if (this.#template.render(query, document, instruction) !== before + document + after) return undefined;
    if (tail.length === 0 || !endsWith(ids, tail)) return undefined;
    const prefix = (await this.#tokenizer.encodeText(before)).ids;
    let head = 0;
    while (head < prefix.length && head < ids.length && prefix[head] === ids[head]) head++;
    return head + tail.length < ids.length ? { head } : undefined;
  }

  /** The template's fixed tail for an instruction, found as sentence-transformers finds it; cached. */
  #tail(instruction: string | undefined): Promise<readonly number[]> {
    const key = instruction || '';
    let tail = this.#tails.get(key);
    if (tail === undefined) {
      tail = (async () => {
        const [first, second] = await Promise.all(
          SKELETON_FILLERS.map(
            async (filler) =>
              (await this.#tokenizer.encodeText(this.#template.render(filler, filler, instruction))).ids,
          ),
        );
        const a = first as readonly number[];
        const b = second as readonly number[];
        let count = 0;
        while (count < Math.min(a.length, b.length) && a[a.length - 1 - count] === b[b.length - 1 - count]) count++;
        // Renders that never diverge have no variable content to tell the tail by.
        return count > 0 && count < Math.min(a.length, b.length) ? a.slice(a.length - count) : [];
      })();
      this.#tails.set(key, tail);
      if (this.#tails.size > TAIL_CACHE_SIZE) this.#tails.delete(this.#tails.keys().next().value as string);
    }
    return tail;
  }
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
