/**
 * Okapi BM25 over an in-memory inverted index, scored like Lucene's `BM25Similarity` (what
 * Anserini and Pyserini use):
 *
 *   score(q, d) = Σ_{t ∈ q} idf(t) · tf / (tf + k1 · (1 − b + b · dl / avgdl))
 *   idf(t)      = ln(1 + (N − df + 0.5) / (df + 0.5))
 *
 * Lucene dropped the constant `(k1 + 1)` numerator factor in version 8; rankings are the same
 * either way. A term repeated in the query counts once per occurrence (Anserini boosts a term
 * by its query frequency). `dl` counts the analyzed tokens (stopwords excluded) and `avgdl` is
 * their mean. Unlike Lucene, document lengths are exact rather than stored in one lossy byte,
 * and arithmetic is in doubles, so scores can differ from Lucene's in the last digits.
 */
import { InvalidArgumentError } from '../src/index.js';
import { analyzeEnglish } from './analyzer.js';
import { compareTrec, type ScoredDoc } from './metrics.js';

/** Options for {@link Bm25Index.build}. */
export interface Bm25Options {
  /** Term-frequency saturation. @default 0.9 (Anserini's default) */
  k1?: number;
  /** Length normalisation, 0 (none) to 1 (full). @default 0.4 (Anserini's default) */
  b?: number;
  /** Turns text into terms, for documents and queries alike. @default analyzeEnglish */
  analyzer?: (text: string) => string[];
}

/** A document to index. */
export interface Bm25Document {
  id: string;
  text: string;
}

interface Postings {
  docs: number[];
  tfs: number[];
}

export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  readonly avgdl: number;
  readonly #analyzer: (text: string) => string[];
  readonly #ids: string[];
  readonly #lengths: Float64Array;
  readonly #postings: Map<string, Postings>;

  private constructor(
    options: Required<Bm25Options>,
    ids: string[],
    lengths: number[],
    postings: Map<string, Postings>,
  ) {
    this.k1 = options.k1;
    this.b = options.b;
    this.#analyzer = options.analyzer;
    this.#ids = ids;
    this.#lengths = Float64Array.from(lengths);
    this.#postings = postings;
    const total = lengths.reduce((sum, n) => sum + n, 0);
    this.avgdl = ids.length > 0 ? total / ids.length : 0;
  }

  /** Indexes `documents`. Ids must be unique. */
  static build(documents: Iterable<Bm25Document>, options: Bm25Options = {}): Bm25Index {
    const resolved: Required<Bm25Options> = {
      k1: options.k1 ?? 0.9,
      b: options.b ?? 0.4,
      analyzer: options.analyzer ?? analyzeEnglish,
    };
    if (!(resolved.k1 >= 0) || !Number.isFinite(resolved.k1))
      throw new InvalidArgumentError('k1', `must be a finite number >= 0, got ${resolved.k1}`);
    if (!(resolved.b >= 0 && resolved.b <= 1))
      throw new InvalidArgumentError('b', `must be in [0, 1], got ${resolved.b}`);
    const ids: string[] = [];
    const lengths: number[] = [];
    const postings = new Map<string, Postings>();
    const seen = new Set<string>();
    for (const doc of documents) {
      if (seen.has(doc.id)) throw new InvalidArgumentError('documents', `duplicate id ${doc.id}`);
      seen.add(doc.id);
      const index = ids.length;
      const terms = resolved.analyzer(doc.text);
      ids.push(doc.id);
      lengths.push(terms.length);
      const tf = new Map<string, number>();
      for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, n] of tf) {
        let p = postings.get(t);
        if (!p) postings.set(t, (p = { docs: [], tfs: [] }));
        p.docs.push(index);
        p.tfs.push(n);
      }
    }
    return new Bm25Index(resolved, ids, lengths, postings);
  }

  /** Number of indexed documents. */
  get size(): number {
    return this.#ids.length;
  }

  /** Lucene's BM25 idf of a term; 0 for a term absent from the index. */
  idf(term: string): number {
    const df = this.#postings.get(term)?.docs.length ?? 0;
    if (df === 0) return 0;
    return Math.log(1 + (this.size - df + 0.5) / (df + 0.5));
  }

  /**
   * The `k` best documents for `query`, best first. Only documents sharing a term with the
   * query are returned. Ties are ordered as trec_eval orders them (id descending), so that
   * evaluating this list gives the same numbers as writing it to a run file first.
   */
  search(query: string, k: number): ScoredDoc[] {
    if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError('k', `must be a positive integer, got ${k}`);
    const scores = new Float64Array(this.size);
    const touched: number[] = [];
    const isTouched = new Uint8Array(this.size);
    for (const term of this.#analyzer(query)) {
      const p = this.#postings.get(term);
      if (!p) continue;
      const idf = this.idf(term);
      for (let i = 0; i < p.docs.length; i++) {
        const d = p.docs[i]!;
        const tf = p.tfs[i]!;
        const norm = this.k1 * (1 - this.b + (this.b * this.#lengths[d]!) / this.avgdl);
        if (!isTouched[d]) {
          isTouched[d] = 1;
          touched.push(d);
        }
        scores[d]! += (idf * tf) / (tf + norm);
      }
    }
    return touched
      .map((d) => ({ id: this.#ids[d]!, score: scores[d]! }))
      .sort(compareTrec)
      .slice(0, k);
  }
}
