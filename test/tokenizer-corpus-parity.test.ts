import { beforeAll, describe, expect, it } from 'vitest';
import { readGolden } from './helpers/models.js';
import { pairTokenizer } from './helpers/parity.js';

// Token ids of thousands of real texts (the first documents of every corpus in ../shared/data and all their queries)
// against the Rust `tokenizers` library. The fast WordPiece path takes the ASCII stretches and the general tokenizer
// the rest, so both must agree with Rust here.

interface CorpusGolden {
  texts: string[];
  sources: string[];
  ids: number[][];
}

let golden: CorpusGolden;
beforeAll(async () => {
  golden = await readGolden<CorpusGolden>('corpus-tokens');
});

describe('tokenizer parity on real corpora', () => {
  it('covers documents and queries of every dataset, many with non-ASCII text', () => {
    expect(golden.texts.length).toBeGreaterThanOrEqual(8000);
    expect(new Set(golden.sources).size).toBe(8);
    const nonAscii = golden.texts.filter((text) => /[^\t\n\r\x20-\x7e]/.test(text)).length;
    expect(nonAscii).toBeGreaterThan(1000);
  });

  it('gives the ids of the Rust tokenizer for every text', async () => {
    const tokenizer = await pairTokenizer('tiny');
    expect(tokenizer.usesFastPath).toBe(true);
    const encoded = await Promise.all(golden.texts.map((text) => tokenizer.encodeText(text)));
    const mismatches = golden.texts
      .map((_, i) => ({
        i,
        source: golden.sources[i],
        same: sameIds(encoded[i]?.ids ?? [], golden.ids[i]),
      }))
      .filter((row) => !row.same);
    expect(mismatches.slice(0, 5)).toEqual([]);
  });
});

function sameIds(actual: readonly number[], expected: readonly number[] | undefined): boolean {
  return expected !== undefined && actual.length === expected.length && actual.every((id, k) => id === expected[k]);
}
