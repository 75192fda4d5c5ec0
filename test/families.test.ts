import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder } from '../src/index.js';
import type { PairTokenizer } from '../src/tokenize/tokenizer.js';
import { FAMILY_MODELS as FAMILIES, modelDir, noGolden, readGolden } from './helpers/models.js';
import { pairTokenizer } from './helpers/parity.js';

// Every popular reranker family, built tiny by tools/families.py with a tokenizer trained through the family's own
// pipeline, against what Python wrote: ids from the Rust `tokenizers` library (the file's own pipeline) and logits
// from sentence-transformers. Where transformers' tokenizer itself departs from tokenizer.json, sentence-transformers
// scores other ids than the file gives, so those pairs are left out of the logit comparison (and counted).
// The hostile texts and the code-point sweep need only the model: their reference is written into the model's
// folder when `npm run models` builds it. The golden pairs come from ../shared/data.

/** `tokenizer-reference.json` in a family model's folder. */
interface FamilyReference {
  model: string;
  hostile: {
    texts: string[];
    ids: number[][];
    long_passage: string;
    truncated: Record<'longest_first' | 'only_second', Record<string, (number[] | null)[]>>;
  };
  sweep: { block: number; digests: string[] };
}

/** `models/golden/<family>.json`, built from the evaluation data. */
interface FamilyGolden {
  model: string;
  num_labels: number;
  pairs: [string, string][];
  tokenization: { by_max_length: Record<string, number[][]>; only_second_32: (number[] | null)[] };
  transformers_departs: Record<string, number[]>;
  logits: number[] | number[][];
  logits_32: number[] | number[][];
}

const HOSTILE_QUERIES = (reference: FamilyReference) => [
  'short query',
  reference.hostile.texts[0],
  reference.hostile.texts[8],
];

async function readReference(name: string): Promise<FamilyReference> {
  const file = join(modelDir(name), 'tokenizer-reference.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run models\` to rebuild the family models.`);
  return JSON.parse(await readFile(file, 'utf8')) as FamilyReference;
}

/** 32-bit FNV-1a over token ids, as tools/families.py computes it. */
function fnv1a(ids: readonly number[]): string {
  let h = 0x811c9dc5;
  for (const id of ids) h = Math.imul(h ^ id, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** The texts of one sweep block: every code point alone, and inside a word (surrogates have no text). */
function sweepTexts(block: number, size: number): [string, string] {
  const points: number[] = [];
  for (let cp = block * size; cp < (block + 1) * size; cp++) if (cp < 0xd800 || cp > 0xdfff) points.push(cp);
  return [
    points.map((cp) => String.fromCodePoint(cp)).join(' '),
    points.map((cp) => `a${String.fromCodePoint(cp)}b`).join(' '),
  ];
}

/** The relevance logit of a golden row: the only one, or the second class of two. */
function relevance(row: number | number[]): number {
  return Array.isArray(row) ? (row[1] as number) : row;
}

for (const name of FAMILIES) {
  // Heavy by design (a million code points per family): generous limits for a busy CI machine.
  describe(`${name}: token-exact on hostile texts and every code point`, { timeout: 900_000 }, () => {
    let reference: FamilyReference;
    let tokenizer: PairTokenizer;
    beforeAll(async () => {
      reference = await readReference(name);
      tokenizer = await pairTokenizer(name);
    }, 120_000);

    it('gives the Rust tokenizer ids for emoji sequences, invisible characters, scripts and repeats', async () => {
      const ours = await Promise.all(reference.hostile.texts.map((text) => tokenizer.encodeText(text)));
      reference.hostile.texts.forEach((text, i) =>
        expect({ text, ids: ours[i]?.ids }).toEqual({ text, ids: reference.hostile.ids[i] }),
      );
    });

    it('truncates a long passage of them like the Rust tokenizer at every length from 8 to 512', async () => {
      for (const strategy of ['longest_first', 'only_second'] as const) {
        for (const [maxLength, expected] of Object.entries(reference.hostile.truncated[strategy])) {
          const queries = HOSTILE_QUERIES(reference) as string[];
          const ours = await tokenizer.encodePairs(
            queries.map((q) => [q, reference.hostile.long_passage] as const),
            Number(maxLength),
            strategy,
          );
          expected.forEach((ids, i) => {
            if (ids === null) return; // Python refuses a query that alone overflows; we cut it instead
            expect({ strategy, maxLength, i, ids: ours[i]?.ids }).toEqual({ strategy, maxLength, i, ids });
          });
        }
      }
    });

    it('gives the Rust tokenizer ids for every code point, alone and inside a word', async () => {
      const { block, digests } = reference.sweep;
      if (digests.length === 0) {
        // A two-label model built with its sibling's tokenizer: the sibling's sweep covers it.
        const sibling = name.replace(/-2label$/, '');
        const [mine, theirs] = await Promise.all(
          [name, sibling].map((model) => readFile(join(modelDir(model), 'tokenizer.json'), 'utf8')),
        );
        expect(mine).toBe(theirs);
        return;
      }
      const blocks = digests.length / 2;
      const differing: string[] = [];
      for (let start = 0; start < blocks; start += 256) {
        const texts = [];
        for (let b = start; b < Math.min(blocks, start + 256); b++) texts.push(...sweepTexts(b, block));
        const ours = await Promise.all(texts.map((text) => tokenizer.encodeText(text)));
        ours.forEach((encoded, k) => {
          const index = start * 2 + k;
          if (fnv1a(encoded.ids) !== digests[index]) {
            const first = Math.floor(index / 2) * block;
            differing.push(`U+${first.toString(16)}.. (${index % 2 === 0 ? 'alone' : 'inside words'})`);
          }
        });
      }
      expect(differing).toEqual([]);
    });
  });
}

const skip = noGolden();
for (const name of FAMILIES) {
  describe.skipIf(skip)(`${name}: token-exact and score-exact on the golden pairs`, { timeout: 900_000 }, () => {
    let golden: FamilyGolden;
    let tokenizer: PairTokenizer;
    beforeAll(async () => {
      golden = await readGolden<FamilyGolden>(name);
      tokenizer = await pairTokenizer(name);
    }, 120_000);

    it('gives the Rust tokenizer ids for every golden pair at max_length 32 and 512, and only_second at 32', async () => {
      for (const maxLength of [32, 512]) {
        const ours = await tokenizer.encodePairs(golden.pairs, maxLength, 'longest_first');
        const expected = golden.tokenization.by_max_length[String(maxLength)] as number[][];
        const differing = ours.flatMap((pair, i) => (sameIds(pair.ids, expected[i]) ? [] : [i]));
        expect({ maxLength, differing }).toEqual({ maxLength, differing: [] });
      }
      const onlySecond = await tokenizer.encodePairs(golden.pairs, 32, 'only_second');
      const compared = golden.tokenization.only_second_32.flatMap((ids, i) => (ids === null ? [] : [i]));
      expect(compared.length).toBeGreaterThan(150);
      expect(compared.filter((i) => !sameIds(onlySecond[i]?.ids, golden.tokenization.only_second_32[i]))).toEqual([]);
    });

    it('scores every pair within 1e-4 of sentence-transformers where transformers follows tokenizer.json', async () => {
      for (const [maxLength, logits, departs] of [
        [512, golden.logits, golden.transformers_departs['512'] ?? []],
        [32, golden.logits_32, golden.transformers_departs['32'] ?? []],
      ] as const) {
        const model = await CrossEncoder.load(modelDir(name), { worker: false, maxLength });
        try {
          const ours = await model.score(golden.pairs, { activation: 'none' });
          const skipped = new Set(departs);
          const errors = golden.pairs.flatMap((_, i) =>
            skipped.has(i) ? [] : [Math.abs((ours[i] as number) - relevance(logits[i] as number | number[]))],
          );
          expect(errors.length).toBeGreaterThan(200);
          expect({ maxLength, worst: Math.max(...errors) < 1e-4 ? 'ok' : Math.max(...errors) }).toEqual({
            maxLength,
            worst: 'ok',
          });
        } finally {
          await model.dispose();
        }
      }
    });
  });
}

function sameIds(a: readonly number[] | undefined, b: readonly number[] | null | undefined): boolean {
  return a !== undefined && b !== undefined && b !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}
