// Which tokenizer can the browser build use? Every candidate that runs without a native addon is compared with the
// Rust `tokenizers` binding (what Node uses, Python's ids by construction) on every tokenizer the project tests: the
// code-point sweep and hostile texts of test/families.test.ts and the 270 golden pairs' texts (`--corpus` adds the
// 8,021 corpus texts of test/tokenizer-corpus-parity.test.ts). Speed is each candidate's time over the Rust
// binding's on the golden texts, alternated rounds in this one process. Bundle sizes come from esbuild (browser,
// ESM, minified), with any WebAssembly counted apart. Writes bench/results/web-tokenizers.{json,md}.
// Needs `npm run models`. Run: npx tsx bench/web-tokenizers.ts [--rounds 5] [--corpus] [--models tiny,fam-roberta]
// [--candidates loadWebTokenizer] [--out web-tokenizers-corpus]
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { createWebTokenizer, type WasmTokenizerClass } from '../src/platform/web-tokenizer.js';
import { CACHE, ROOT } from './workloads.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    corpus: { type: 'boolean', default: false },
    models: { type: 'string' },
    // Names (or their starts) of the candidates to run, e.g. `loadWebTokenizer`; all by default.
    candidates: { type: 'string' },
    // The results' file name under bench/results/, without extension.
    out: { type: 'string', default: 'web-tokenizers' },
  },
});
const rounds = Number(values.rounds);
const MODELS = join(ROOT, 'models');
const requireHere = createRequire(import.meta.url);

// Every model whose tokenizer the tests check; models sharing both tokenizer files are measured once.
const ALL_MODELS = [
  'tiny',
  'minilm-random-head',
  'all-MiniLM-L6-v2',
  'ce-minilm-l6-ict',
  'fam-electra',
  'fam-xlm-roberta',
  'fam-xlm-roberta-2label',
  'fam-deberta-v2',
  'fam-roberta',
  'fam-modernbert',
];
const MODEL_NAMES = values.models === undefined ? ALL_MODELS : values.models.split(',');

/** A candidate loaded for one model: ids of texts with no special tokens, no truncation, no padding. */
interface Encoder {
  encode(texts: readonly string[]): Promise<number[][]>;
}
interface Candidate {
  name: string;
  /** Packages to bundle for the size report (the first is the candidate itself). */
  packages: string[];
  version: string;
  load(dir: string): Promise<Encoder>;
}

/** The tokenizer file with the saved truncation and padding dropped: the engine cuts and pads pairs itself. */
function plainTokenizerJson(dir: string): string {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  return JSON.stringify({ ...json, truncation: null, padding: null });
}

/** The installed folder of a package, in the root install or the bench workspace's own. */
function resolvePackageDir(pkg: string): string {
  const dir = [join(ROOT, 'bench', 'node_modules', pkg), join(ROOT, 'node_modules', pkg)].find((d) =>
    existsSync(join(d, 'package.json')),
  );
  if (dir === undefined) throw new Error(`${pkg} is not installed: run \`npm ci\`.`);
  return dir;
}

function versionOf(pkg: string): string {
  return (JSON.parse(readFileSync(join(resolvePackageDir(pkg), 'package.json'), 'utf8')) as { version: string })
    .version;
}

const rust: Candidate = {
  name: 'tokenizers (Rust, napi)',
  packages: ['tokenizers'],
  version: versionOf('tokenizers'),
  async load(dir) {
    const tokenizer = RustTokenizer.fromString(plainTokenizerJson(dir));
    return {
      encode: async (texts) =>
        (await Promise.all(texts.map((t) => tokenizer.encode(t, null, { addSpecialTokens: false })))).map((e) =>
          e.getIds(),
        ),
    };
  },
};

/**
 * The Rust library compiled with Emscripten (tokenizers-cpp's web build). Its one file is UMD in a package marked
 * `"type": "module"`, which Node's ESM loader cannot evaluate; a CommonJS copy runs the same code here.
 */
function emscriptenClass(pkg: string): WasmTokenizerClass {
  mkdirSync(CACHE, { recursive: true });
  const copy = join(CACHE, `${pkg.replace(/[@/]/g, '_')}-${versionOf(pkg)}.cjs`);
  if (!existsSync(copy)) copyFileSync(join(resolvePackageDir(pkg), 'lib', 'index.js'), copy);
  return (requireHere(copy) as { Tokenizer: WasmTokenizerClass }).Tokenizer;
}

function emscriptenCandidate(pkg: string): Candidate {
  return {
    name: `${pkg} (Rust, WASM)`,
    packages: [pkg],
    version: versionOf(pkg),
    async load(dir) {
      const bytes = new TextEncoder().encode(plainTokenizerJson(dir));
      const tokenizer = await emscriptenClass(pkg).fromJSON(bytes.buffer);
      return { encode: async (texts) => texts.map((t) => Array.from(tokenizer.encode(t))) };
    },
  };
}

/** The browser build's adapter (src/platform/web-tokenizer.ts) on the chosen WebAssembly tokenizer. */
const adapter: Candidate = {
  name: 'loadWebTokenizer (src/platform, on @mlc-ai/web-tokenizers)',
  packages: [],
  version: versionOf('@mlc-ai/web-tokenizers'),
  async load(dir) {
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    const binding = await createWebTokenizer(json, emscriptenClass('@mlc-ai/web-tokenizers'));
    return { encode: (texts) => binding.encodeTexts(texts) };
  },
};

const tokenizersJs: Candidate = {
  name: '@huggingface/tokenizers (JS)',
  packages: ['@huggingface/tokenizers'],
  version: versionOf('@huggingface/tokenizers'),
  async load(dir) {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const config = existsSync(join(dir, 'tokenizer_config.json'))
      ? JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'))
      : {};
    const tokenizer = new Tokenizer(JSON.parse(plainTokenizerJson(dir)), config);
    return { encode: async (texts) => texts.map((t) => tokenizer.encode(t, { add_special_tokens: false }).ids) };
  },
};

const transformersJs: Candidate = {
  name: '@huggingface/transformers AutoTokenizer (JS)',
  packages: ['@huggingface/transformers'],
  version: versionOf('@huggingface/transformers'),
  async load(dir) {
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = `${MODELS}/`;
    const tokenizer = await AutoTokenizer.from_pretrained(dir.slice(MODELS.length + 1));
    return { encode: async (texts) => texts.map((t) => tokenizer.encode(t, { add_special_tokens: false })) };
  },
};

const ALL_CANDIDATES = [
  adapter,
  emscriptenCandidate('@mlc-ai/web-tokenizers'),
  emscriptenCandidate('@agnai/web-tokenizers'),
  tokenizersJs,
  transformersJs,
];
const CANDIDATES =
  values.candidates === undefined
    ? ALL_CANDIDATES
    : ALL_CANDIDATES.filter((c) => values.candidates?.split(',').some((name) => c.name.startsWith(name)));

// ---- texts ---------------------------------------------------------------------------------------------------

interface TextSet {
  name: string;
  texts: string[];
  /** How to name one text of the set in the report. */
  describe(i: number): string;
}

function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run models\`.`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The code points of one sweep block, as test/families.test.ts and tools/families.py make them. */
function sweepPoints(block: number, size: number): number[] {
  const points: number[] = [];
  for (let cp = block * size; cp < (block + 1) * size; cp++) if (cp < 0xd800 || cp > 0xdfff) points.push(cp);
  return points;
}
const alone = (points: number[]) => points.map((cp) => String.fromCodePoint(cp)).join(' ');
const inside = (points: number[]) => points.map((cp) => `a${String.fromCodePoint(cp)}b`).join(' ');
const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

const SURROGATES = ['a\ud800b', 'x\udc00', '\ud83d', 'emoji cut in half \ud83d and \ude00 here', '\udbff\udfff ok'];

function textSets(): TextSet[] {
  const pairs = readJson<{ pairs: [string, string][] }>(join(MODELS, 'golden', 'tiny.json')).pairs;
  const golden = [...new Set(pairs.flat())];
  const family = readJson<{ hostile: { texts: string[]; long_passage: string }; sweep: { block: number } }>(
    join(MODELS, 'fam-electra', 'tokenizer-reference.json'),
  );
  const hostile = [...family.hostile.texts, family.hostile.long_passage];
  const block = family.sweep.block;
  const sweep: string[] = [];
  for (let b = 0; b < 0x110000 / block; b++) sweep.push(alone(sweepPoints(b, block)), inside(sweepPoints(b, block)));
  const sets: TextSet[] = [
    {
      name: 'sweep',
      texts: sweep,
      describe: (i) => `${hex(Math.floor(i / 2) * block)}.. ${i % 2 ? 'in words' : 'alone'}`,
    },
    { name: 'hostile', texts: hostile, describe: (i) => `hostile #${i}` },
    { name: 'golden', texts: golden, describe: (i) => `golden text #${i}` },
    // Not in the Node tests (Python cannot hold them), but a JavaScript string can: the Rust binding reads each
    // lone surrogate as U+FFFD.
    { name: 'surrogates', texts: SURROGATES, describe: (i) => `lone surrogate text #${i}` },
  ];
  if (values.corpus) {
    const corpus = readJson<{ texts: string[] }>(join(MODELS, 'golden', 'corpus-tokens.json')).texts;
    sets.push({ name: 'corpus', texts: corpus, describe: (i) => `corpus text #${i}` });
  }
  return sets;
}

// ---- comparison ----------------------------------------------------------------------------------------------

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A short, escaped view of a text. */
function show(text: string, max = 70): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}

/** Ids around the first position where two encodings part. */
function idsAround(ours: readonly number[], theirs: readonly number[]): string {
  let k = 0;
  while (k < ours.length && k < theirs.length && ours[k] === theirs[k]) k++;
  const from = Math.max(0, k - 2);
  return `at id ${k}: rust [${ours.slice(from, k + 4).join(',')}] vs [${theirs.slice(from, k + 4).join(',')}] (lengths ${ours.length}/${theirs.length})`;
}

/** For a sweep block that differs, the first code point whose own text (alone or in a word) differs. */
async function firstSweepPoint(index: number, block: number, rustEnc: Encoder, enc: Encoder): Promise<string> {
  const points = sweepPoints(Math.floor(index / 2), block);
  const texts = points.map((cp) => (index % 2 ? inside([cp]) : alone([cp])));
  const [a, b] = [await rustEnc.encode(texts), await enc.encode(texts)];
  const k = texts.findIndex((_, i) => !same(a[i] as number[], b[i] as number[]));
  if (k < 0) return 'every code point of the block agrees alone; only the whole block differs';
  return `${hex(points[k] as number)} ${show(texts[k] as string)}: rust [${(a[k] as number[]).join(',')}] vs [${(b[k] as number[]).join(',')}]`;
}

interface SetResult {
  set: string;
  compared: number;
  differing: number;
  first?: string;
}
interface Row {
  candidate: string;
  version: string;
  tokenizer: string;
  models: string[];
  kind: string;
  error?: string;
  sets: SetResult[];
  /** Median time over the Rust binding's, golden texts, alternated rounds. */
  speed?: number;
  /** One pass over every text set, over the Rust binding's pass. */
  fullPassSpeed?: number;
}

function median(list: number[]): number {
  const s = [...list].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function timeOnce(enc: Encoder, texts: readonly string[]): Promise<number> {
  const t = performance.now();
  await enc.encode(texts);
  return performance.now() - t;
}

function tokenizerKind(dir: string): string {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<
    string,
    { type?: string } | null
  >;
  return ['normalizer', 'pre_tokenizer', 'model'].map((part) => json[part]?.type ?? 'none').join(' / ');
}

// ---- run -----------------------------------------------------------------------------------------------------

const sets = textSets();
const block = readJson<{ sweep: { block: number } }>(join(MODELS, 'fam-electra', 'tokenizer-reference.json')).sweep
  .block;
const groups = new Map<string, string[]>();
for (const model of MODEL_NAMES) {
  const dir = join(MODELS, model);
  const files = ['tokenizer.json', 'tokenizer_config.json'].map((f) =>
    existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : Buffer.alloc(0),
  );
  const key = createHash('sha256')
    .update(files[0] as Buffer)
    .update('\0')
    .update(files[1] as Buffer)
    .digest('hex');
  groups.set(key, [...(groups.get(key) ?? []), model]);
}

const started = new Date().toISOString();
const load = os.loadavg().map((l) => l.toFixed(1));
console.log(
  `${sets.map((s) => `${s.texts.length} ${s.name}`).join(', ')} texts; ${groups.size} distinct tokenizers; load ${load}`,
);
const rows: Row[] = [];
for (const models of groups.values()) {
  const dir = join(MODELS, models[0] as string);
  const kind = tokenizerKind(dir);
  const rustEnc = await rust.load(dir);
  const reference = new Map<string, number[][]>();
  let rustFull = 0;
  for (const set of sets) {
    const t = performance.now();
    reference.set(set.name, await rustEnc.encode(set.texts));
    rustFull += performance.now() - t;
  }
  const golden = sets.find((s) => s.name === 'golden')?.texts as string[];
  const loaded: [Candidate, Encoder][] = [];
  for (const candidate of CANDIDATES) {
    const row: Row = {
      candidate: candidate.name,
      version: candidate.version,
      tokenizer: models[0] as string,
      models,
      kind,
      sets: [],
    };
    rows.push(row);
    let enc: Encoder;
    try {
      enc = await candidate.load(dir);
      await enc.encode(['warm up']);
    } catch (cause) {
      row.error = `fails to load: ${String(cause).split('\n')[0]?.slice(0, 160)}`;
      console.log(`${models[0]} | ${candidate.name} | ${row.error}`);
      continue;
    }
    loaded.push([candidate, enc]);
    let full = 0;
    for (const set of sets) {
      const expected = reference.get(set.name) as number[][];
      let got: number[][];
      const t = performance.now();
      try {
        got = await enc.encode(set.texts);
      } catch (cause) {
        row.sets.push({
          set: set.name,
          compared: set.texts.length,
          differing: set.texts.length,
          first: `throws: ${String(cause).slice(0, 160)}`,
        });
        full = Number.NaN;
        continue;
      }
      full += performance.now() - t;
      const differing = set.texts.flatMap((_, i) => (same(expected[i] as number[], got[i] as number[]) ? [] : [i]));
      const result: SetResult = { set: set.name, compared: set.texts.length, differing: differing.length };
      const i = differing[0];
      if (i !== undefined) {
        result.first =
          set.name === 'sweep'
            ? `${set.describe(i)}; ${await firstSweepPoint(i, block, rustEnc, enc)}`
            : `${set.describe(i)} ${show(set.texts[i] as string)} ${idsAround(expected[i] as number[], got[i] as number[])}`;
      }
      row.sets.push(result);
    }
    row.fullPassSpeed = full / rustFull;
    const summary = row.sets.map((s) => `${s.set} ${s.differing}/${s.compared}`).join(', ');
    console.log(`${models[0]} | ${candidate.name} | differing: ${summary}`);
    for (const s of row.sets) if (s.first !== undefined) console.log(`    first ${s.set}: ${s.first}`);
  }
  // Speed on the golden texts: every loaded candidate and the Rust binding in turn, each round.
  const times = new Map<string, number[]>([['rust', []], ...loaded.map(([c]) => [c.name, []] as [string, number[]])]);
  for (let r = 0; r < rounds; r++) {
    times.get('rust')?.push(await timeOnce(rustEnc, golden));
    for (const [c, enc] of loaded) times.get(c.name)?.push(await timeOnce(enc, golden));
  }
  const rustMs = median(times.get('rust') as number[]);
  for (const [c] of loaded) {
    const row = rows.find((x) => x.candidate === c.name && x.tokenizer === models[0]) as Row;
    row.speed = median(times.get(c.name) as number[]) / rustMs;
  }
  console.log(
    `${models[0]} | speed on ${golden.length} golden texts, time over rust (${rustMs.toFixed(1)} ms): ` +
      loaded
        .map(
          ([c]) =>
            `${c.name} ${rows.find((x) => x.candidate === c.name && x.tokenizer === models[0])?.speed?.toFixed(2)}`,
        )
        .join(', '),
  );
}

// ---- bundle sizes --------------------------------------------------------------------------------------------

interface Size {
  candidate: string;
  /** The bundle as written, base64 WebAssembly included. */
  bundleBytes?: number;
  jsBytes?: number;
  jsGzip?: number;
  wasmBytes?: number;
  wasmHow: string;
  bundler: string;
}

/** Bytes an app bundle gains from importing the candidate, WebAssembly embedded as base64 counted apart. */
async function bundleSize(candidate: Candidate): Promise<Size> {
  const pkg = candidate.packages[0] as string;
  const named = pkg === '@huggingface/transformers' ? 'AutoTokenizer' : 'Tokenizer';
  const base = { candidate: candidate.name, wasmHow: 'none', bundler: 'esbuild: bundles as is' };
  const run = (external: string[]) =>
    build({
      stdin: { contents: `export { ${named} } from '${pkg}';`, resolveDir: join(ROOT, 'bench'), loader: 'js' },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      external,
    });
  let result;
  try {
    result = await run([]);
  } catch (cause) {
    // Node built-ins the browser never reaches (an Emscripten or ONNX Runtime Node branch) must be named external.
    const missing = [...String(cause).matchAll(/Could not resolve "([^"]+)"/g)].map((m) => m[1] as string);
    result = await run(missing);
    base.bundler = `esbuild: fails until ${missing.map((m) => `"${m}"`).join(', ')} marked external`;
  }
  const js = result.outputFiles[0]?.contents as Uint8Array;
  const text = new TextDecoder().decode(js);
  const embedded = [...text.matchAll(/data:application\/(?:octet-stream|wasm);base64,([A-Za-z0-9+/=]+)/g)];
  const wasmBytes = embedded.reduce((n, m) => n + Buffer.from(m[1] as string, 'base64').length, 0);
  const dataUriChars = embedded.reduce((n, m) => n + (m[1] as string).length, 0);
  const size: Size = {
    ...base,
    bundleBytes: js.length,
    jsBytes: js.length - dataUriChars,
    jsGzip: gzipSync(js).length,
  };
  if (wasmBytes > 0) Object.assign(size, { wasmBytes, wasmHow: 'embedded in the JS as base64' });
  return size;
}

const sizes: Size[] = [];
for (const candidate of CANDIDATES) {
  if (candidate.packages.length === 0) continue;
  try {
    sizes.push(await bundleSize(candidate));
  } catch (cause) {
    sizes.push({ candidate: candidate.name, wasmHow: '?', bundler: `esbuild fails: ${String(cause).split('\n')[0]}` });
  }
}

// ---- report --------------------------------------------------------------------------------------------------

const kb = (n: number | undefined) => (n === undefined ? '-' : `${(n / 1024).toFixed(0)} KiB`);
const lines = [
  '# Browser tokenizer candidates against the Rust binding',
  '',
  `Run ${started}, Node ${process.version}, load average ${load} (2 CPUs), ${rounds} alternated speed rounds. ` +
    `Reference: \`tokenizers\` ${rust.version} (the Rust library through its Node binding). Texts per tokenizer: ` +
    sets.map((s) => `${s.texts.length} ${s.name}`).join(', ') +
    '. "speed" is the candidate\'s time over the Rust binding\'s on the golden texts (median of rounds; the Rust ' +
    'binding encodes on its thread pool); "full pass" the same ratio for one pass over every text set. ' +
    'Generated by `npx tsx bench/web-tokenizers.ts`.',
  '',
  '| candidate | tokenizer (models) | kind | ' +
    sets.map((s) => `${s.name} differing`).join(' | ') +
    ' | speed | full pass |',
  '| --- | --- | --- | ' + sets.map(() => '---').join(' | ') + ' | --- | --- |',
  ...rows.map((r) => {
    const cells = sets.map((s) => {
      const hit = r.sets.find((x) => x.set === s.name);
      return hit === undefined ? '-' : `${hit.differing} / ${hit.compared}`;
    });
    return (
      `| ${r.candidate} ${r.version} | ${r.models.join(', ')} | ${r.kind} | ` +
      (r.error === undefined
        ? cells.join(' | ')
        : `${r.error} | ${sets
            .slice(1)
            .map(() => '')
            .join(' | ')}`) +
      ` | ${r.speed?.toFixed(2) ?? '-'} | ${r.fullPassSpeed?.toFixed(2) ?? '-'} |`
    );
  }),
  '',
  '## First differing example',
  '',
  ...rows.flatMap((r) =>
    r.sets.filter((s) => s.first !== undefined).map((s) => `- ${r.candidate}, ${r.tokenizer}, ${s.set}: ${s.first}`),
  ),
  '',
  '## Bundle size (esbuild, browser, ESM, minified)',
  '',
  '| candidate | bundle as written | JS without the WASM | WASM | bundle gzipped | how the WASM is found | bundler |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...sizes.map(
    (s) =>
      `| ${s.candidate} | ${kb(s.bundleBytes)} | ${kb(s.jsBytes)} | ${kb(s.wasmBytes)} | ${kb(s.jsGzip)} | ` +
      `${s.wasmHow} | ${s.bundler} |`,
  ),
  '',
];
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', `${values.out}.md`), lines.join('\n'));
writeFileSync(
  join(ROOT, 'bench', 'results', `${values.out}.json`),
  `${JSON.stringify({ started, node: process.version, load, rounds, reference: rust.version, rows, sizes }, null, 2)}\n`,
);
console.log(lines.join('\n'));
