// Peak memory of one long prompt on a reranker on a language model at real size (models-big/qwen3-0.6b-shape, built
// by tools/decoder_speed_model.py): ours (the graph cut at load, long prompts in 512-token pieces over the cache) or
// the graph as exported run whole by raw ONNX Runtime (`--runner floor`), one runner per process so each peak is its
// own. The document is DL19 passages joined until the prompt holds `--tokens` tokens. Reports the resident memory
// after loading, the peak while scoring, and the weights' size on disk; appends a row to
// bench/results/decoder-memory.{json,md}.
// Usage: tsx bench/decoder-memory.ts [--runner ours|floor] [--tokens 8192] [--threads 2]
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CrossEncoder } from '../src/index.js';
import { buildDecoderFeeds, openDecoderSession, runDecoder } from '../src/engine/decoder-session.js';
import { loadDl19, ROOT } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'qwen3-0.6b-shape' },
    runner: { type: 'string', default: 'ours' },
    tokens: { type: 'string', default: '8192' },
    threads: { type: 'string', default: '2' },
  },
});
const dir = join(ROOT, 'models-big', args.model as string);
if (!existsSync(join(dir, 'config.json'))) throw new Error(`no ${dir}: see bench/README.md`);
const tokens = Number(args.tokens);
const threads = Number(args.threads);
const mib = (bytes: number) => bytes / 2 ** 20;
const weights = (
  await Promise.all((await readdir(join(dir, 'onnx'))).map(async (f) => (await stat(join(dir, 'onnx', f))).size))
).reduce((a, b) => a + b, 0);

const model = await CrossEncoder.load(dir, { maxLength: tokens, threads, activation: 'none', worker: false });
const items = await loadDl19();
const query = items[0]?.query as string;
let document = '';
for (const item of items) {
  for (const passage of item.passages) {
    document += `${passage} `;
    if (document.length > tokens * 6) break;
  }
  if (document.length > tokens * 6) break;
}
const prompt = await model.encode(query, document);
const started = performance.now();
let loadedRss: number;
if (args.runner === 'floor') {
  await model.dispose();
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
  const graph = await openDecoderSession(
    { onnx: join(dir, 'onnx', 'model.onnx') },
    { threads },
    { heads: config['num_key_value_heads'], headDim: config['head_dim'] },
  );
  loadedRss = process.memoryUsage().rss;
  await runDecoder(graph, buildDecoderFeeds([prompt.ids], graph, 0));
  await graph.session.release();
} else {
  loadedRss = process.memoryUsage().rss;
  await model.score([[query, document]]);
  await model.dispose();
}
const result = {
  model: args.model,
  runner: args.runner,
  promptTokens: prompt.ids.length,
  threads,
  weightsMiB: mib(weights),
  loadedRssMiB: mib(loadedRss),
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  seconds: (performance.now() - started) / 1000,
  loadavg: loadavg(),
};
process.stderr.write(`[decoder-memory] ${JSON.stringify(result)}\n`);
const file = join(ROOT, 'bench', 'results', 'decoder-memory.json');
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
const rows = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as (typeof result)[]) : [];
const kept = rows.filter((r) => !(r.runner === result.runner && r.promptTokens === result.promptTokens));
kept.push(result);
await writeFile(file, `${JSON.stringify(kept, null, 2)}\n`);
await writeFile(
  join(ROOT, 'bench', 'results', 'decoder-memory.md'),
  [
    `# One long prompt on ${args.model} (fp32): peak resident memory`,
    '',
    'One process per row; weights are the ONNX files on disk. Ours: the graph cut at load, the prompt in 512-token ' +
      'pieces over the cache. Floor: the graph as exported, the prompt whole, raw ONNX Runtime.',
    '',
    '| runner | prompt tokens | weights MiB | RSS after load MiB | peak RSS MiB | peak - weights MiB | seconds | load average |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...kept.map(
      (r) =>
        `| ${r.runner} | ${r.promptTokens} | ${r.weightsMiB.toFixed(0)} | ${r.loadedRssMiB.toFixed(0)} | ` +
        `${r.peakRssMiB.toFixed(0)} | ${(r.peakRssMiB - r.weightsMiB).toFixed(0)} | ${r.seconds.toFixed(0)} | ` +
        `${r.loadavg.map((x) => x.toFixed(1)).join(' ')} |`,
    ),
    '',
  ].join('\n'),
);
