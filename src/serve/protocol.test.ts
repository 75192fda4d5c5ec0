import { describe, expect, it } from 'vitest';
import { HttpError } from './http-error.js';
import { parseRerankBody, rerankAnswer } from './protocol.js';

const limits = { maxTexts: 3, maxTextChars: 20 };

function refusal(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('parseRerankBody', () => {
  it('reads TEI and Cohere-style bodies', () => {
    expect(parseRerankBody('tei', { query: 'q', texts: ['a', 'b'], raw_scores: true }, limits)).toEqual({
      query: 'q',
      texts: ['a', 'b'],
      topN: 2,
      returnText: false,
      rawScores: true,
    });
    expect(
      parseRerankBody(
        'cohere-v1',
        { query: 'q', documents: ['a', { text: 'b' }], top_n: 1, return_documents: true },
        limits,
      ),
    ).toEqual({ query: 'q', texts: ['a', 'b'], topN: 1, returnText: true, rawScores: false });
    expect(parseRerankBody('cohere-v2', { model: 'x', query: 'q', documents: ['a'], top_n: 9 }, limits).topN).toBe(1);
  });

  it.each([
    ['a non-object body', 'tei', [1, 2]],
    ['a missing query', 'tei', { texts: ['a'] }],
    ['a numeric query', 'tei', { query: 1, texts: ['a'] }],
    ['an empty query', 'cohere-v2', { query: ' ', documents: ['a'] }],
    ['texts that are not an array', 'tei', { query: 'q', texts: 'a' }],
    ['no texts', 'tei', { query: 'q', texts: [] }],
    ['a null text', 'tei', { query: 'q', texts: ['a', null] }],
    ['an object text on TEI', 'tei', { query: 'q', texts: [{ text: 'a' }] }],
    ['too many texts', 'tei', { query: 'q', texts: ['a', 'b', 'c', 'd'] }],
    ['a text too long', 'cohere-v1', { query: 'q', documents: ['x'.repeat(21)] }],
    ['a zero top_n', 'cohere-v1', { query: 'q', documents: ['a'], top_n: 0 }],
    ['a string flag', 'tei', { query: 'q', texts: ['a'], return_text: 'yes' }],
    ['a numeric instruction', 'cohere-v2', { query: 'q', documents: ['a'], instruction: 3 }],
    ['an instruction too long', 'tei', { query: 'q', texts: ['a'], instruction: 'x'.repeat(21) }],
  ] as const)('answers 422 to %s', (_, route, body) => {
    const error = refusal(() => parseRerankBody(route, body, limits));
    expect(error.status).toBe(422);
    expect(error.type).toBe('validation');
  });

  it('reads record documents through rank_fields, or as key: value lines, and keeps { text } as it was', () => {
    const wide = { maxTexts: 3, maxTextChars: 200 };
    const records = [{ title: 'Trail shoe', body: 'Waterproof.', price: 129 }, { text: 'plain' }, 'a string'];
    const all = parseRerankBody('cohere-v1', { query: 'q', documents: records }, wide);
    expect(all.texts).toEqual(['title: Trail shoe\nbody: Waterproof.\nprice: 129', 'plain', 'a string']);
    expect(all.records).toEqual(new Map([[0, records[0]]]));
    const picked = parseRerankBody(
      'cohere-v2',
      { query: 'q', documents: records, rank_fields: ['body', 'text', 'title'] },
      wide,
    );
    expect(picked.texts).toEqual(['body: Waterproof.\ntitle: Trail shoe', 'text: plain', 'a string']);
    // With return_documents a record comes back as it was sent.
    const answer = rerankAnswer('cohere-v2', { ...picked, returnText: true }, [0.9, 0.1, 0.5], 'm') as {
      results: unknown[];
    };
    expect(answer.results).toEqual([
      { index: 0, relevance_score: 0.9, document: records[0] },
      { index: 2, relevance_score: 0.5, document: { text: 'a string' } },
      { index: 1, relevance_score: 0.1, document: records[1] },
    ]);
  });

  it.each([
    ['a string', 'title'],
    ['an empty array', []],
    ['a number in it', ['title', 3]],
    ['a name twice', ['secret-field', 'secret-field']],
  ])('answers 422 to rank_fields as %s, without echoing it', (_, rankFields) => {
    const error = refusal(() =>
      parseRerankBody('cohere-v1', { query: 'q', documents: [{ t: 'a' }], rank_fields: rankFields }, limits),
    );
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/rank_fields/);
    expect(error.message).not.toContain('secret');
  });

  it('reads an instruction on every route, and leaves it unset when absent or null', () => {
    expect(parseRerankBody('tei', { query: 'q', texts: ['a'], instruction: 'judge' }, limits).instruction).toBe(
      'judge',
    );
    expect(parseRerankBody('cohere-v1', { query: 'q', documents: ['a'], instruction: 'j' }, limits).instruction).toBe(
      'j',
    );
    expect(
      parseRerankBody('cohere-v2', { query: 'q', documents: ['a'], instruction: null }, limits),
    ).not.toHaveProperty('instruction', expect.anything());
  });

  it('never echoes the text it refuses', () => {
    const error = refusal(() =>
      parseRerankBody('tei', { query: 'q', texts: ['secret text here that is long'] }, limits),
    );
    expect(error.message).not.toContain('secret');
    expect(error.message).toContain('texts[0]');
  });
});

describe('rerankAnswer', () => {
  const job = { query: 'q', texts: ['a', 'b', 'c'], topN: 2, returnText: true, rawScores: false };
  it('ranks best first, ties in input order, cut to top_n', () => {
    expect(rerankAnswer('tei', job, [0.2, 0.9, 0.9], 'm')).toEqual([
      { index: 1, score: 0.9, text: 'b' },
      { index: 2, score: 0.9, text: 'c' },
    ]);
    const cohere = rerankAnswer('cohere-v2', { ...job, returnText: false }, [0.2, 0.9, 0.5], 'm') as {
      results: unknown[];
    };
    expect(cohere.results).toEqual([
      { index: 1, relevance_score: 0.9 },
      { index: 2, relevance_score: 0.5 },
    ]);
  });
});

describe('refusals that say what to change', () => {
  const limits = { maxTexts: 10, maxTextChars: 100 };
  const message = (route: 'tei' | 'cohere-v2', body: unknown) => {
    try {
      parseRerankBody(route, body, limits);
    } catch (error) {
      return (error as HttpError).message;
    }
    throw new Error('expected a refusal');
  };

  it('points a body of the other family to its route', () => {
    expect(message('tei', { query: 'q', documents: ['a'] })).toMatch(/send Cohere-style .* to \/v2\/rerank/);
    expect(message('cohere-v2', { query: 'q', texts: ['a'] })).toMatch(/send TEI-style .* to \/rerank/);
    expect(message('tei', { query: 'q' })).toBe('"texts" must be an array, got nothing');
  });

  it('shows a wrong number, never a wrong text', () => {
    expect(message('cohere-v2', { query: 'q', documents: ['a'], top_n: -2 })).toMatch(/got number -2/);
    expect(message('cohere-v2', { query: 'q', documents: ['a'], top_n: 'secret text' })).not.toContain('secret');
  });
});
