import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodePlatform } from '../platform/node.js';
import { PairTokenizer } from './tokenizer.js';
import { FastWordPiece } from './wordpiece-fast.js';
import { modelDir } from '../../test/helpers/models.js';

// The fast WordPiece path must give exactly the ids of the Rust tokenizer on any text (parity of both with the
// Rust tokenizer is in parity.test.ts). Texts are built from pieces that stress where the two paths meet: ASCII
// words and punctuation, every kind of whitespace, non-ASCII letters and marks, control and invisible characters,
// literal special tokens, and over-long words.

const piece = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'the',
      'Tower',
      'tokenization',
      'telecommunications',
      'xqzv',
      'EIFFEL',
      'don',
      'e',
      '42',
      'x1y2',
    ),
  },
  { weight: 3, arbitrary: fc.constantFrom(...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~') },
  { weight: 3, arbitrary: fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', '\u000b', '\u000c', '\u00a0', '\u3000') },
  { weight: 2, arbitrary: fc.constantFrom('é', 'Café', 'naïve', 'ß', 'İ', 'ΣΟΦΊΑ', '東京', '𠀀', '🍕', 'e\u0301') },
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\u0007', '\u007f', '\u00ad', '\u200b', '\ufeff', '\ufffd') },
  { weight: 1, arbitrary: fc.constantFrom('[SEP]', '[sep]', '[CLS]x', '[MASK', 'a'.repeat(100), 'b'.repeat(101)) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
);
const text = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));

/** The pair tokenizer on the Rust library's binding, with or without the fast path. */
function rustTokenizer(json: Record<string, unknown>, fastPath = true): Promise<PairTokenizer> {
  return PairTokenizer.load(nodePlatform.loadTokenizer, JSON.stringify(json), {}, 'tokenizer.json', { fastPath });
}

async function tokenizerJson(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(modelDir('tiny'), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
}

function withChanges(json: Record<string, unknown>, change: (copy: Record<string, any>) => void) {
  const copy = structuredClone(json) as Record<string, any>;
  change(copy);
  return copy;
}

async function expectSameIds(fast: PairTokenizer, general: PairTokenizer, numRuns: number) {
  await fc.assert(
    fc.asyncProperty(text, async (sample) => {
      expect((await fast.encodeText(sample)).ids).toEqual((await general.encodeText(sample)).ids);
    }),
    { numRuns },
  );
}

describe('fast WordPiece path', () => {
  let json: Record<string, unknown>;
  beforeAll(async () => {
    json = await tokenizerJson();
  });

  it('gives the ids of the Rust tokenizer on any text (uncased vocabulary)', async () => {
    const fast = await rustTokenizer(json);
    expect(fast.usesFastPath).toBe(true);
    await expectSameIds(fast, await rustTokenizer(json, false), 3000);
  });

  it('gives the ids of the Rust tokenizer when the normalizer keeps case', async () => {
    const cased = withChanges(json, (copy) => {
      copy['normalizer'].lowercase = false;
    });
    await expectSameIds(await rustTokenizer(cased), await rustTokenizer(cased, false), 1000);
  });

  it('honours a shorter word limit', async () => {
    const changed = withChanges(json, (copy) => {
      copy['model'].max_input_chars_per_word = 6;
    });
    await expectSameIds(await rustTokenizer(changed), await rustTokenizer(changed, false), 500);
  });

  it('hands a text holding an added token to the Rust tokenizer whole', async () => {
    const fast = await rustTokenizer(json);
    const general = await rustTokenizer(json, false);
    for (const sample of ['a[SEP]b', 'x [CLS] y [sep]', '[MASK][MASK]', 'naïve [UNK] café']) {
      expect((await fast.encodeText(sample)).ids).toEqual((await general.encodeText(sample)).ids);
    }
    expect((await fast.encodeText('a[SEP]b')).ids).toContain(102);
  });

  it('memoizes words without letting one text change the ids of another', async () => {
    const fast = await rustTokenizer(json);
    const first = (await fast.encodeText('tokenization of tokenization')).ids;
    const again = (await fast.encodeText('tokenization of tokenization')).ids;
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
  });

  it('stays off for pipelines it does not implement', () => {
    const variants: ((copy: Record<string, any>) => void)[] = [
      (copy) => (copy['pre_tokenizer'] = { type: 'Whitespace' }),
      (copy) => (copy['normalizer'] = { type: 'Sequence', normalizers: [copy['normalizer']] }),
      (copy) => (copy['normalizer'] = null),
      (copy) => (copy['model'].type = 'BPE'),
      (copy) => (copy['model'].unk_token = '[NOT-IN-VOCAB]'),
      (copy) => copy['added_tokens'].push({ id: 5, content: 'new york', special: false, normalized: true }),
    ];
    for (const change of variants) {
      expect(FastWordPiece.fromTokenizerJson(withChanges(json, change))).toBeUndefined();
    }
    expect(FastWordPiece.fromTokenizerJson(json)).toBeInstanceOf(FastWordPiece);
  });
});
