import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairTokenizer } from './helpers/parity.js';

// Long passages are tokenized from a prefix; it must always be a true prefix of the full encoding.

const word = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
  fc.constantFrom('東京', 'naïve', '🇯🇵', 'don’t', 'e.g.', '\u00ad', '\u200b', 'a'.repeat(120), '[SEP]', '\t', '\n'),
);
const separator = fc.constantFrom(' ', '  ', '\n', '\t', ' \r\n ', '');

describe('prefix tokenization of long texts', () => {
  it('yields a prefix of the full encoding, longer than the limit, or the full encoding', async () => {
    const tokenizer = await pairTokenizer('tiny');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(word, separator), { minLength: 1500, maxLength: 4000 }),
        fc.integer({ min: 1, max: 300 }),
        async (parts, limit) => {
          const text = parts.map(([w, s]) => w + s).join('');
          const full = (await tokenizer.encodeText(text)).ids;
          const fast = await tokenizer.encodeText(text, limit);
          if (fast.complete) expect(fast.ids).toEqual(full);
          else {
            expect(fast.ids.length).toBeGreaterThan(limit);
            expect(fast.ids).toEqual(full.slice(0, fast.ids.length));
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('truncates a pair the same whether or not the prefix path is taken', async () => {
    const tokenizer = await pairTokenizer('tiny');
    const passage = 'alpha beta gamma, delta! '.repeat(5000);
    const query = 'greek letters '.repeat(400);
    for (const maxLength of [8, 17, 128, 512]) {
      const budget = maxLength - tokenizer.addedTokens;
      const q = (await tokenizer.encodeText(query)).ids;
      const p = (await tokenizer.encodeText(passage)).ids;
      const { ids } = await tokenizer.encodePair(query, passage, maxLength, 'longest_first');
      expect(ids).toHaveLength(maxLength);
      // Both sides overflow: the longer one (the passage) keeps the odd token.
      const queryKeeps = Math.floor(budget / 2);
      expect(ids.slice(1, 1 + queryKeeps)).toEqual(q.slice(0, queryKeeps));
      expect(ids.slice(2 + queryKeeps, -1)).toEqual(p.slice(0, budget - queryKeeps));
    }
  });
});
