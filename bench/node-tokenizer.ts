// Could the WebAssembly build of the Rust tokenizer (@mlc-ai/web-tokenizers, what /web uses) replace the native
// `tokenizers` addon on Node? Same model (minilm-random-head: the MiniLM-L6 cross-encoder's architecture and size, fp32), same documents, one process, worker off: the ids
// of every text compared, then whole rank() calls timed with each tokenizer in alternated rounds (the ratio is the
// WASM build's time over the native one's; a ratio, not a time, since the machine is shared).
// Run: npx tsx bench/node-tokenizer.ts [--rounds 7] [--docs 100]
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tokenizer } from 'tokenizers';
import { CrossEncoder } from '../src/index.js';
import { nodePlatform } from '../src/platform/node.js';
import { createWebTokenizer, type WasmTokenizerClass } from '../src/platform/web-tokenizer.js';
import { MODELS_DIR } from '../test/helpers/models.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, docs: { type: 'string', default: '100' } },
});
const model = join(MODELS_DIR, 'minilm-random-head');
const json = readFileSync(join(model, 'tokenizer.json'), 'utf8');
const words = readFileSync(join(MODELS_DIR, '..', 'README.md'), 'utf8')
  .split(/\s+/)
  .filter(Boolean);
const docs = Array.from({ length: Number(values.docs) }, (_, i) =>
  words.slice((i * 37) % (words.length - 200), ((i * 37) % (words.length - 200)) + 60 + (i % 5) * 30).join(' '),
);
const query = 'how do I rerank documents locally on Node?';

// The package's file refers to `require` and `__filename` while its package.json declares ES modules, so plain
// Node cannot import it (ReferenceError: require is not defined in ES module scope): read as CommonJS here.
const requireHere = createRequire(import.meta.url);
const copy = join(mkdtempSync(join(tmpdir(), 'lce-wasm-tok-')), 'web-tokenizers.cjs');
copyFileSync(requireHere.resolve('@mlc-ai/web-tokenizers'), copy);
const wasmClass = (requireHere(copy) as { Tokenizer: WasmTokenizerClass }).Tokenizer;
const loadWebTokenizer = (text: string) => createWebTokenizer(JSON.parse(text) as Record<string, unknown>, wasmClass);

// Ids, text by text.
const native = Tokenizer.fromString(json);
// As the engine loads it (src/platform/node.ts): the file's own truncation and padding are for whole inputs.
native.disableTruncation();
native.disablePadding();
const wasm = await loadWebTokenizer(json);
const wasmIds = await wasm.encodeTexts([query, ...docs]);
let differing = 0;
for (const [i, text] of [query, ...docs].entries()) {
  const ids = (await native.encode(text, null, { addSpecialTokens: false })).getIds();
  if (JSON.stringify(ids) !== JSON.stringify(wasmIds[i])) differing++;
}

const nativeLoad = nodePlatform.loadTokenizer;
const encoders = {
  native: await CrossEncoder.load(model, { worker: false }),
  wasm: await (async () => {
    nodePlatform.loadTokenizer = loadWebTokenizer;
    try {
      return await CrossEncoder.load(model, { worker: false });
    } finally {
      nodePlatform.loadTokenizer = nativeLoad;
    }
  })(),
};
const times: Record<keyof typeof encoders, number[]> = { native: [], wasm: [] };
let worst = 0;
for (let round = 0; round < Number(values.rounds); round++) {
  const results: Record<string, { index: number; score: number }[]> = {};
  for (const name of (round % 2 === 0 ? ['native', 'wasm'] : ['wasm', 'native']) as (keyof typeof encoders)[]) {
    const start = performance.now();
    results[name] = await encoders[name].rank(query, docs);
    times[name].push(performance.now() - start);
  }
  const wasmScores = new Map(results['wasm']!.map((r) => [r.index, r.score]));
  for (const r of results['native']!) worst = Math.max(worst, Math.abs(r.score - (wasmScores.get(r.index) ?? NaN)));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    texts: docs.length + 1,
    differing_ids: differing,
    worst_score_difference: worst,
    native_ms_median: Math.round(median(times.native)),
    wasm_ms_median: Math.round(median(times.wasm)),
    wasm_over_native: +(median(times.wasm) / median(times.native)).toFixed(3),
    ratios_per_round: times.wasm.map((t, i) => +(t / times.native[i]!).toFixed(3)),
  }),
);
for (const encoder of Object.values(encoders)) await encoder.dispose();
