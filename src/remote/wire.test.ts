import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedAnswer, readRerankAnswer, rerankRequestBody, serverErrorText } from './wire.js';

describe('readRerankAnswer', () => {
  it('puts scores back in the order sent, whatever order the server lists them in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 40 }),
        fc.infiniteStream(fc.nat()),
        fc.constantFrom('tei' as const, 'cohere' as const),
        (scores, randoms, protocol) => {
          const order = scores.map((_, index) => index);
          const it = randoms[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = (it.next().value as number) % (i + 1);
            [order[i], order[j]] = [order[j] as number, order[i] as number];
          }
          const entries = order.map((index) =>
            protocol === 'tei' ? { index, score: scores[index] } : { index, relevance_score: scores[index] },
          );
          const body = protocol === 'tei' ? entries : { results: entries };
          expect(readRerankAnswer(protocol, body, scores.length)).toEqual(scores);
        },
      ),
    );
  });

  it.each([
    ['not an array', { results: [] }, 'tei'],
    ['no results', [], 'cohere'],
    ['too few results', [{ index: 0, score: 1 }], 'tei'],
    [
      'an index twice',
      [
        { index: 0, score: 1 },
        { index: 0, score: 2 },
      ],
      'tei',
    ],
    [
      'an index out of range',
      [
        { index: 0, score: 1 },
        { index: 2, score: 2 },
      ],
      'tei',
    ],
    [
      'a fractional index',
      [
        { index: 0, score: 1 },
        { index: 0.5, score: 2 },
      ],
      'tei',
    ],
    [
      'a string score',
      [
        { index: 0, score: 1 },
        { index: 1, score: '2' },
      ],
      'tei',
    ],
    [
      'a null score',
      {
        results: [
          { index: 0, relevance_score: 1 },
          { index: 1, relevance_score: null },
        ],
      },
      'cohere',
    ],
    [
      'a TEI key on the Cohere shape',
      {
        results: [
          { index: 0, score: 1 },
          { index: 1, score: 2 },
        ],
      },
      'cohere',
    ],
  ] as const)('refuses an answer with %s', (_, body, protocol) => {
    expect(() => readRerankAnswer(protocol, body, 2)).toThrow(MalformedAnswer);
  });

  it('never quotes document text from an answer that echoes it', () => {
    const secret = 'the patient record of Jane Doe';
    const body = [{ index: 0, score: secret, text: secret }];
    expect(() => readRerankAnswer('tei', body, 1)).toThrow(/expected a finite number/);
    try {
      readRerankAnswer('tei', body, 1);
    } catch (error) {
      expect((error as Error).message).not.toContain('Jane');
    }
  });
});

describe('rerankRequestBody', () => {
  it('speaks each protocol', () => {
    expect(rerankRequestBody('tei', 'q', ['a', 'b'], 'm')).toEqual({
      query: 'q',
      texts: ['a', 'b'],
      raw_scores: false,
      truncate: true,
      return_text: false,
    });
    expect(rerankRequestBody('cohere', 'q', ['a'], 'm')).toEqual({
      model: 'm',
      query: 'q',
      documents: ['a'],
      top_n: 1,
      return_documents: false,
    });
    expect(rerankRequestBody('cohere', 'q', ['a'], undefined)).not.toHaveProperty('model');
  });
});

describe('serverErrorText', () => {
  it('reads TEI, Cohere and FastAPI error bodies, and clips plain text', () => {
    expect(serverErrorText('{"error":"batch too large","error_type":"validation"}')).toBe('batch too large');
    expect(serverErrorText('{"message":"invalid api token"}')).toBe('invalid api token');
    expect(serverErrorText('{"detail":[{"msg":"field required"}]}')).toBe('[{"msg":"field required"}]');
    expect(serverErrorText('')).toBeUndefined();
    expect(serverErrorText('x'.repeat(1000))?.length).toBe(301);
  });
});
