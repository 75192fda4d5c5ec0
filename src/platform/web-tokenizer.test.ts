import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { describe, expect, it } from 'vitest';
import { CrossEncoderError, DisposedError, InvalidArgumentError, ModelFormatError } from '../errors.js';
import { PairTokenizer } from '../tokenize/tokenizer.js';
import { MODELS_DIR, modelDir } from '../../test/helpers/models.js';
import {
  createWebTokenizer,
  loadWebTokenizer,
  type TokenizerBinding,
  type WasmTokenizerClass,
} from './web-tokenizer.js';

// The browser tokenizer against the Rust binding Node uses, on the same files: every id must agree. The tiny model
// always runs; each family's test model runs when `npm run models` built it (bench/web-tokenizers.ts runs the full
// code-point sweep of every family; here the Basic Multilingual Plane and every plane's first block).

// fam-qwen3: the byte-level BPE with Qwen2's splitting regex that the rerankers on a language model use.
const FAMILIES = ['fam-electra', 'fam-xlm-roberta', 'fam-deberta-v2', 'fam-roberta', 'fam-modernbert', 'fam-qwen3'];

const TEXTS = [
  'what is the boiling point of water at altitude?',
  'The Eiffel Tower, completed in 1889, is 330 m (1,083 ft) tall.',
  'Ünïcödé àccents, ß, İstanbul, ΣΊΣΥΦΟΣ, Ǆ digraph, ﬁ ligature, e\u0301 combining',
  '👨‍👩‍👧‍👦 family, 👩🏽‍💻 coder, 🏳️‍🌈 flag',
  '日本語のテキスト、中文文本, 한국어 텍스트, العربية, हिन्दी क्‍ष, ශ්‍රී',
  '\ufeffBOM, zero\u200bwidth, soft\u00adhyphen, \u202eRLO\u202c, tabs\tand\nnewlines\r\n',
  '[CLS] <s> </s> <pad> [SEP] <mask> [MASK] [UNK] <unk> literal special tokens',
  '  leading, trailing   and    runs of spaces  ',
  '',
  ' ',
  'a'.repeat(300),
  'x'.repeat(20) + ' supercalifragilisticexpialidocious '.repeat(200),
  // Lone surrogates, which a string can hold: the Rust binding reads each as U+FFFD.
  'a\ud800b c\udc00 \ud83d',
];

/** Every code point of a block alone and inside a word, as test/families.test.ts sweeps them. */
function sweepTexts(from: number, to: number): string[] {
  const points: number[] = [];
  for (let cp = from; cp < to; cp++) if (cp < 0xd800 || cp > 0xdfff) points.push(cp);
  const texts: string[] = [];
  for (let i = 0; i < points.length; i += 256) {
    const block = points.slice(i, i + 256);
    texts.push(block.map((cp) => String.fromCodePoint(cp)).join(' '));
    texts.push(block.map((cp) => `a${String.fromCodePoint(cp)}b`).join(' '));
  }
  return texts;
}
const SWEEP = [
  ...sweepTexts(0, 0x10000),
  ...Array.from({ length: 16 }, (_, plane) => sweepTexts((plane + 1) * 0x10000, (plane + 1) * 0x10000 + 256)).flat(),
];

function rustTokenizer(json: string): RustTokenizer {
  const tokenizer = RustTokenizer.fromString(json);
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  return tokenizer;
}

async function rustIds(tokenizer: RustTokenizer, texts: readonly string[]): Promise<number[][]> {
  const encodings = await Promise.all(texts.map((t) => tokenizer.encode(t, null, { addSpecialTokens: false })));
  return encodings.map((e) => e.getIds());
}

/** The texts whose ids differ, with both encodings, so a failure shows what parted. */
async function differences(json: string, texts: readonly string[]): Promise<unknown[]> {
  const web = await loadWebTokenizer(json);
  const [theirs, ours] = [await rustIds(rustTokenizer(json), texts), await web.encodeTexts(texts)];
  return texts.flatMap((text, i) =>
    JSON.stringify(theirs[i]) === JSON.stringify(ours[i])
      ? []
      : [{ text: text.slice(0, 80), rust: theirs[i], web: ours[i] }],
  );
}

/** Every vocabulary and added token, and a few names no tokenizer has, looked up both ways. */
function tokenLookupDifferences(json: string, web: TokenizerBinding): unknown[] {
  const rust = rustTokenizer(json);
  const file = JSON.parse(json) as {
    model: { vocab: Record<string, number> | [string, number][] };
    added_tokens: { content: string }[];
  };
  const vocab = Array.isArray(file.model.vocab)
    ? file.model.vocab.map(([piece]) => piece)
    : Object.keys(file.model.vocab);
  const names = [...vocab, ...file.added_tokens.map((t) => t.content), 'no-such-token-anywhere', '', '[cls]'];
  return names.flatMap((name) => {
    const expected = rust.tokenToId(name) ?? undefined;
    const got = web.tokenToId(name);
    return expected === got ? [] : [{ name, rust: expected, web: got }];
  });
}

const tinyJson = readFileSync(join(modelDir('tiny'), 'tokenizer.json'), 'utf8');

describe('the browser tokenizer on the tiny model', () => {
  it('gives the Rust binding ids for mixed scripts, emoji, invisible characters, long and empty texts', async () => {
    expect(await differences(tinyJson, TEXTS)).toEqual([]);
  });

  it('gives the Rust binding ids for every code point of the BMP and the first block of each plane', async () => {
    expect(await differences(tinyJson, SWEEP)).toEqual([]);
  }, 120_000);

  it('adds no special tokens and ignores the truncation and padding saved in the file', async () => {
    const web = await loadWebTokenizer(tinyJson);
    const [ids] = await web.encodeTexts(['word '.repeat(600)]);
    expect(ids).toHaveLength(600);
    expect(ids).not.toContain(web.tokenToId('[CLS]'));
    expect(ids).not.toContain(web.tokenToId('[PAD]'));
  });

  it('looks tokens up like the Rust binding, added tokens included', async () => {
    const web = await loadWebTokenizer(tinyJson);
    expect(web.tokenToId('[SEP]')).toBe(102);
    expect(tokenLookupDifferences(tinyJson, web)).toEqual([]);
  });
});

describe('the browser tokenizer refuses what it cannot do exactly', () => {
  const tiny = JSON.parse(tinyJson) as Record<string, unknown>;
  const variant = (change: Record<string, unknown>) => JSON.stringify({ ...tiny, ...change });

  it.each([
    [
      'a model it was not measured on',
      { model: { type: 'WordLevel', vocab: {}, unk_token: '[UNK]' } },
      'model "WordLevel"',
    ],
    [
      'a pre-tokenizer it was not measured on',
      { pre_tokenizer: { type: 'Digits', individual_digits: true } },
      'pre_tokenizer "Digits"',
    ],
    [
      'an unmeasured part inside a Sequence',
      { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'NFKD' }] } },
      'normalizer "NFKD"',
    ],
    [
      'a Split it was not measured on (a literal pattern, another behavior, an inverted match)',
      {
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated', invert: false },
            { type: 'Split', pattern: { String: ' ' }, behavior: 'Removed', invert: false },
          ],
        },
      },
      'pre_tokenizer "Split" other than an isolating regex',
    ],
    ['a model without a type', { model: { vocab: {} } }, 'a model without a type'],
  ])('refuses %s with a ModelFormatError naming it', async (_, change, named) => {
    const error = await loadWebTokenizer(variant(change)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect(CrossEncoderError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(named);
    expect((error as Error).message).toContain('Use the Node entry');
  });

  it('refuses text that is not JSON, or not an object', async () => {
    await expect(loadWebTokenizer('{"model":')).rejects.toBeInstanceOf(ModelFormatError);
    await expect(loadWebTokenizer('[1, 2]')).rejects.toThrow(/should hold a JSON object/);
  });

  it('names the argument at fault for input of the wrong type', async () => {
    await expect(loadWebTokenizer({} as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    const web = await loadWebTokenizer(tinyJson);
    await expect(web.encodeTexts(['fine', 3] as unknown as string[])).rejects.toThrow(/texts: should be an array/);
  });
});

describe('the browser tokenizer’s WebAssembly memory', () => {
  it('is freed when the tokenizer is disposed, once, and a disposed tokenizer refuses to encode', async () => {
    let freed = 0;
    const wasm: WasmTokenizerClass = {
      fromJSON: async () => ({ encode: () => Int32Array.from([1]), dispose: () => void freed++ }),
    };
    const web = await createWebTokenizer(JSON.parse(tinyJson) as Record<string, unknown>, wasm);
    expect(await web.encodeTexts(['a'])).toEqual([[1]]);
    web.dispose?.();
    web.dispose?.();
    expect(freed).toBe(1);
    await expect(web.encodeTexts(['a'])).rejects.toBeInstanceOf(DisposedError);
  });

  it('is freed with the pair tokenizer that holds it, and when the tokenizer file is refused after loading', async () => {
    const real = await loadWebTokenizer(tinyJson);
    const pair = await PairTokenizer.load(async () => real, tinyJson, {});
    pair.dispose();
    await expect(real.encodeTexts(['a'])).rejects.toBeInstanceOf(DisposedError);
    let freed = 0;
    const binding: TokenizerBinding = {
      encodeTexts: async () => [],
      tokenToId: () => undefined,
      dispose: () => void freed++,
    };
    // A tokenizer.json with no pair template the engine can build fails after the binding was made.
    const noModel = JSON.stringify({ ...JSON.parse(tinyJson), post_processor: { type: 'Unknown' } });
    await expect(PairTokenizer.load(async () => binding, noModel, {})).rejects.toThrow();
    expect(freed).toBe(1);
  });
});

for (const name of FAMILIES) {
  const file = join(MODELS_DIR, name, 'tokenizer.json');
  const missing = existsSync(file)
    ? undefined
    : `skipped: ${file} is not built; run \`npm run models\` to check ${name}.`;
  if (missing !== undefined) console.warn(missing);
  describe.skipIf(missing !== undefined)(`the browser tokenizer on ${name}`, () => {
    it('gives the Rust binding ids for the test texts and the code-point sweep', async () => {
      const json = readFileSync(file, 'utf8');
      expect(await differences(json, [...TEXTS, ...SWEEP])).toEqual([]);
    }, 300_000);

    it('looks every token up like the Rust binding', async () => {
      const json = readFileSync(file, 'utf8');
      expect(tokenLookupDifferences(json, await loadWebTokenizer(json))).toEqual([]);
    }, 60_000);
  });
}
