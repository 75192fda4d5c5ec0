import { Document, type DocumentInterface } from '@langchain/core/documents';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder, CrossEncoderReranker, InvalidArgumentError } from '../../src/index.js';
import { isRecord, renderRecord } from '../../src/documents/render.js';
import { deepFreeze, modelDir } from '../helpers/models.js';

/** Whether a record without a text `pageContent` renders as `key: value` lines (a cycle, say, does not). */
function renders(record: Record<string, unknown>): boolean {
  try {
    renderRecord(record, undefined, 'document');
    return true;
  } catch {
    return false;
  }
}

// Hostile input, generated: every call either returns a valid ranking (a subset of the input, each document once,
// finite scores sorted best first) or rejects with InvalidArgumentError naming a parameter that really is wrong.
// Never a crash of another kind, a hang, a NaN, or a write to the (deep-frozen) input.

const HANG_MS = 30_000;
const RUNS = { rank: 150, score: 80, compress: 120, rerank: 120 };

// Prebuilt, so the long cases cost no generation time: about a million UTF-16 units each.
const LONG = {
  asciiWords: 'lorem ipsum dolor sit amet '.repeat(40_000),
  oneWord: 'x'.repeat(1 << 20),
  emoji: '😀👩‍👩‍👧🇯🇵'.repeat(80_000),
  control: '\u0000\u0001\u001b\u007f\u0085\u200b\u202e'.repeat(150_000),
  loneSurrogates: '\ud800a\udfff '.repeat(250_000),
  cjkQuarter: '東京都庁は新宿にある'.repeat(25_000),
};

const PIECES = [
  'مرحبا بالعالم',
  'שלום',
  '\u202eevil\u202c',
  '東京',
  '中文分词',
  '한국어',
  'ｆｕｌｌｗｉｄｔｈ',
  '😀',
  '👩‍👩‍👧',
  '🇯🇵',
  'e\u0301',
  'ﬁ',
  '\u200d',
  '\ufeff',
  '\u0000',
  '\ud800',
  '\udfff',
  '\t',
  '\n',
  ' ',
  'Paris',
  'the capital of France',
  '[CLS]',
  '[SEP]',
  '[PAD]',
  '<s>',
  '##ing',
];

const whitespace = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff') });
const controls = fc.string({
  unit: fc
    .integer({ min: 0, max: 0x9f })
    .filter((c) => c < 0x20 || c >= 0x7f)
    .map((c) => String.fromCharCode(c)),
});
const surrogates = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    fc.constant('a'),
  ),
});
const scripts = fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((parts) => parts.join(''));

/** Strings of every awkward kind, megabyte ones included now and then. */
const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: whitespace },
  { weight: 3, arbitrary: controls },
  { weight: 3, arbitrary: surrogates },
  { weight: 6, arbitrary: scripts },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 100 }) },
  { weight: 4, arbitrary: fc.lorem({ maxCount: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom(...Object.values(LONG)) },
);

/** What turns up where a string belongs. */
const notText: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, true, 10n, Symbol('s')),
  fc.double(),
  fc.constantFrom({}, [], ['a'], { text: 'x' }, new String('boxed'), () => 'fn', new Date(0)),
);

const maybeText = fc.oneof({ weight: 12, arbitrary: text }, { weight: 1, arbitrary: notText });

/** Makes some arrays sparse: a hole is a missing element, not one to skip. */
function withHoles<T>(items: fc.Arbitrary<T[]>): fc.Arbitrary<T[]> {
  return fc.tuple(items, fc.nat(20)).map(([list, hole]) => {
    const copy = [...list];
    if (hole < copy.length && hole % 3 === 0) delete copy[hole];
    return copy;
  });
}

const count = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: fc.nat(10) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3', null, 2 ** 53) },
);

/** Timeouts: none, one too long to fire, or nonsense. */
const timeout = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constant(600_000) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5', null) },
);

const isText = (value: unknown): value is string => typeof value === 'string';
const isQuery = (value: unknown) => isText(value) && value.trim() !== '';
const isCount = (value: unknown, min: number) =>
  value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= min);

/** The call settles within HANG_MS, or the property fails with "hang". */
async function settle<T>(call: () => Promise<T>): Promise<{ value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: no answer in ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    return { value: await Promise.race([call(), hang]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('hang:')) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

/** The call was refused with InvalidArgumentError naming one of the parameters that really are wrong. */
function expectRefusal(name: string, outcome: { error?: unknown }, wrong: string[]): void {
  tally(name, true);
  expect(outcome.error, `expected a refusal naming one of ${wrong.join(', ')}`).toBeInstanceOf(InvalidArgumentError);
  expect(wrong).toContain((outcome.error as InvalidArgumentError).parameter);
}

/** Best first, ties in input order, finite scores, distinct indices below `n`, at most `limit` of them. */
function expectRanking(ranked: { index: number; score: number }[], n: number, limit: number): void {
  expect(ranked.length).toBeLessThanOrEqual(limit);
  expect(new Set(ranked.map((r) => r.index)).size).toBe(ranked.length);
  ranked.forEach((r, i) => {
    expect(Number.isInteger(r.index) && r.index >= 0 && r.index < n).toBe(true);
    expect(Number.isFinite(r.score)).toBe(true);
    const previous = ranked[i - 1];
    if (previous !== undefined) {
      expect(previous.score > r.score || (previous.score === r.score && previous.index < r.index)).toBe(true);
    }
  });
}

let model: CrossEncoder;
const cases: Record<string, { ranked: number; refused: number }> = {};
/** Counts what a property's cases came to, for the closing figures. */
function tally(name: string, refused: boolean): void {
  const entry = (cases[name] ??= { ranked: 0, refused: 0 });
  if (refused) entry.refused++;
  else entry.ranked++;
}
beforeAll(async () => {
  model = await CrossEncoder.load(modelDir('tiny'));
});
afterAll(async () => {
  await model.dispose();
  console.log(`hostile-input cases tried: ${JSON.stringify(cases)}`);
});

describe('CrossEncoder', () => {
  it('rank: a valid ranking or a refusal naming the wrong parameter', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        maybeText,
        fc.oneof(
          { weight: 12, arbitrary: withHoles(fc.array(maybeText, { maxLength: 8 })) },
          { weight: 1, arbitrary: notText },
        ),
        count,
        count,
        timeout,
        async (query, documents, topK, batchSize, timeoutMs) => {
          const frozen = deepFreeze(Array.isArray(documents) ? [...documents] : documents);
          const outcome = await settle(() =>
            model.rank(query as string, frozen as string[], {
              topK: topK as number,
              batchSize: batchSize as number,
              timeoutMs: timeoutMs as number,
            }),
          );
          const wrong: string[] = [];
          if (!isQuery(query)) wrong.push('query');
          if (!Array.isArray(documents)) wrong.push('documents');
          else {
            for (let i = 0; i < documents.length; i++) if (!isText(documents[i])) wrong.push(`documents[${i}]`);
            if (!isCount(topK, 0)) wrong.push('options.topK');
            if (!isCount(batchSize, 1) && documents.length > 0) wrong.push('options.batchSize');
            const goodTimeout =
              timeoutMs === undefined || (typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0);
            if (!goodTimeout && documents.length > 0) wrong.push('options.timeoutMs');
          }
          if (wrong.length > 0) return expectRefusal('rank', outcome, wrong);
          expect(outcome.error).toBeUndefined();
          tally('rank', false);
          const n = (documents as string[]).length;
          expectRanking(outcome.value!, n, Math.min(n, (topK as number | undefined) ?? n));
          if (topK === undefined) expect(outcome.value).toHaveLength(n);
        },
      ),
      { numRuns: RUNS.rank },
    );
  });

  it('score: one finite score per pair in [0, 1], or a refusal', { timeout: 120_000 }, async () => {
    const pair = fc.oneof(
      { weight: 12, arbitrary: fc.tuple(maybeText, maybeText) as fc.Arbitrary<unknown[]> },
      { weight: 1, arbitrary: fc.oneof(fc.tuple(text), fc.tuple(text, text, text), notText) as fc.Arbitrary<unknown> },
    );
    await fc.assert(
      fc.asyncProperty(withHoles(fc.array(pair, { maxLength: 8 })), async (pairs) => {
        const outcome = await settle(() => model.score(deepFreeze([...pairs]) as never));
        const wrong: string[] = [];
        for (let i = 0; i < pairs.length; i++) {
          const p = pairs[i];
          if (!Array.isArray(p) || p.length !== 2) wrong.push(`pairs[${i}]`);
          else {
            if (!isText(p[0])) wrong.push(`pairs[${i}][0]`);
            if (!isText(p[1])) wrong.push(`pairs[${i}][1]`);
          }
        }
        if (wrong.length > 0) return expectRefusal('score', outcome, wrong);
        expect(outcome.error).toBeUndefined();
        tally('score', false);
        expect(outcome.value).toHaveLength(pairs.length);
        for (const score of outcome.value!) expect(score >= 0 && score <= 1).toBe(true);
      }),
      { numRuns: RUNS.score },
    );
  });

  it('megabyte passages in scripts without ASCII spaces are scored in bounded time', { timeout: 90_000 }, async () => {
    // These miss the tokenizer's prefix shortcut (it cuts at ASCII whitespace), so each costs a full tokenization.
    for (const huge of ['東京都庁'.repeat(250_000), '.,;!'.repeat(250_000)]) {
      const started = performance.now();
      const outcome = await settle(() => model.rank('東京', [huge, 'short']));
      expect(outcome.error).toBeUndefined();
      expectRanking(outcome.value!, 2, 2);
      expect(performance.now() - started).toBeLessThan(HANG_MS);
    }
  });
});

/** Metadata of every odd shape a document store may hand over. */
const metadata: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, {}, [], 'a string', 42),
  fc.constant(Object.create(null) as object),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "constructor": "x"}') as object),
  fc.constant({ relevanceScore: 'already here', [Symbol('s')]: 1, nested: { deep: [1, { deeper: new Map() }] } }),
  fc.constant({ date: new Date(0), big: 10n, fn: () => 1, huge: 'm'.repeat(100_000) }),
  fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }),
);

/** A document, sometimes something else where a document belongs. */
const documentLike: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(text, metadata).map(([pageContent, meta]) => ({ kind: 'document', pageContent, meta })),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(text, metadata).map(([pageContent, meta]) => ({ kind: 'plain', pageContent, meta })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(notText, metadata).map(([pageContent, meta]) => ({ kind: 'plain', pageContent, meta })),
  },
  { weight: 1, arbitrary: notText.map((value) => ({ kind: 'raw', value })) },
);

/** Builds the documents, each with a unique id so the output can be traced to its input. */
function build(specs: unknown[]): unknown[] {
  const docs: unknown[] = [];
  specs.forEach((spec, i) => {
    const s = spec as { kind: string; pageContent?: unknown; meta?: unknown; value?: unknown };
    if (s.kind === 'document') {
      docs[i] = new Document({
        pageContent: s.pageContent as string,
        metadata: s.meta as Record<string, unknown>,
        id: `d${i}`,
      });
    } else if (s.kind === 'plain') docs[i] = { pageContent: s.pageContent, metadata: s.meta, id: `d${i}` };
    else docs[i] = s.value;
  });
  return docs;
}

describe('CrossEncoderReranker', () => {
  let reranker: CrossEncoderReranker;
  beforeAll(() => {
    reranker = new CrossEncoderReranker({ model, topN: 4 });
  });

  it(
    'compressDocuments: a sorted subset of copies with finite scores, or a refusal',
    { timeout: 120_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(maybeText, withHoles(fc.array(documentLike, { maxLength: 7 })), async (query, specs) => {
          const documents = deepFreeze(build(specs));
          const outcome = await settle(() =>
            reranker.compressDocuments(documents as DocumentInterface[], query as string),
          );
          if (documents.length === 0) {
            expect(outcome.value).toEqual([]);
            return tally('compressDocuments', false);
          }
          const wrong: string[] = [];
          if (!isQuery(query)) wrong.push('query');
          for (let i = 0; i < documents.length; i++) {
            const doc = documents[i] as { pageContent?: unknown } | null | undefined;
            if (typeof doc !== 'object' || doc === null || !isText(doc.pageContent)) wrong.push(`documents[${i}]`);
          }
          if (wrong.length > 0) return expectRefusal('compressDocuments', outcome, wrong);
          expect(outcome.error).toBeUndefined();
          tally('compressDocuments', false);
          const result = outcome.value!;
          const ranked = result.map((doc) => {
            const index = Number(String(doc.id).slice(1));
            const input = documents[index] as DocumentInterface;
            expect(doc).not.toBe(input);
            expect(doc.pageContent).toBe(input.pageContent);
            const { relevanceScore, ...rest } = doc.metadata;
            const { relevanceScore: _replaced, ...inputRest } = { ...(input.metadata as object) } as Record<
              string,
              unknown
            >;
            expect(rest).toEqual(inputRest);
            return { index, score: relevanceScore as number };
          });
          expectRanking(ranked, documents.length, Math.min(4, documents.length));
          expect(ranked).toHaveLength(Math.min(4, documents.length));
        }),
        { numRuns: RUNS.compress },
      );
    },
  );

  it(
    'rerank: {index, relevanceScore} best first within topN and minScore, or a refusal',
    { timeout: 120_000 },
    async () => {
      const entry = fc.oneof(
        { weight: 4, arbitrary: documentLike },
        { weight: 3, arbitrary: maybeText.map((value) => ({ kind: 'raw', value })) },
      );
      const minScore = fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 3, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
        { weight: 1, arbitrary: fc.constantFrom(Number.NaN, '0.5', null, Number.NEGATIVE_INFINITY) },
      );
      await fc.assert(
        fc.asyncProperty(
          maybeText,
          withHoles(fc.array(entry, { maxLength: 7 })),
          count,
          minScore,
          async (query, specs, topN, min) => {
            const documents = deepFreeze(build(specs));
            const outcome = await settle(() =>
              reranker.rerank(documents as never, query as string, { topN: topN as number, minScore: min as number }),
            );
            const wrong: string[] = [];
            if (!isQuery(query)) wrong.push('query');
            if (!isCount(topN, 1)) wrong.push('options.topN'); // 0 is refused, as Cohere's top_n 0 is
            if (min !== undefined && (typeof min !== 'number' || Number.isNaN(min))) wrong.push('options.minScore');
            // rerank() takes strings, Documents and any record (rendered as `key: value` lines); anything else, or a
            // record that cannot be rendered, is refused by its index.
            for (let i = 0; i < documents.length; i++) {
              const doc = documents[i] as { pageContent?: unknown } | string | null | undefined;
              if (typeof doc === 'string') continue;
              if (!isRecord(doc)) wrong.push(`documents[${i}]`);
              else if (!isText(doc.pageContent) && !renders(doc)) wrong.push(`documents[${i}]`);
            }
            if (wrong.length > 0) return expectRefusal('rerank', outcome, wrong);
            expect(outcome.error).toBeUndefined();
            tally('rerank', false);
            const ranked = outcome.value!.map((r) => ({ index: r.index, score: r.relevanceScore }));
            const limit = Math.min(documents.length, (topN as number | undefined) ?? 4);
            expectRanking(ranked, documents.length, limit);
            for (const r of ranked) if (typeof min === 'number') expect(r.score).toBeGreaterThanOrEqual(min);
            if (min === undefined) expect(ranked).toHaveLength(limit);
          },
        ),
        { numRuns: RUNS.rerank },
      );
    },
  );
});
