// How close node-llama-cpp's ranking context comes to the reference on the tiny Qwen3 reranker converted to GGUF
// (tools/gguf_export.py models/fam-qwen3 --out-dir models-big/gguf/fam-qwen3). For each golden pair of
// models/golden-decoders/fam-qwen3.json (maxLength 512, only pairs the reference did not truncate) it compares
// 1. the prompt ids llama.cpp builds (from the GGUF's own "rerank" template, or from the reference's template passed as
//    a custom one) with the reference's ids;
// 2. rank()'s score with sigmoid(reference logit), the same activation sentence-transformers applies;
// 3. the score of the reference's own ids fed straight to the context, which isolates the weights' format from the
//    tokenization. An instruction goes in only as part of a whole custom template: the context has no option for it.
// Writes bench/results/decoder-gguf-parity.{json,md}.
// Usage: tsx bench/decoder-gguf-parity.ts [--dir models/fam-qwen3/gguf] [--formats f32,q8_0] [--threads 2]
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, type LlamaRankingContext, type Token } from 'node-llama-cpp';
import { ROOT } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string', default: join('models', 'fam-qwen3', 'gguf') },
    threads: { type: 'string', default: '2' },
    formats: { type: 'string', default: 'f32,q8_0' },
  },
});
const log = (m: string) => process.stderr.write(`[gguf-parity] ${m}\n`);

interface GoldenRun {
  logits: number[];
  ids: number[][];
}
interface Golden {
  default_instruction: string;
  custom_instruction: string;
  pairs: [string, string][];
  by_max_length: Record<string, { default: GoldenRun; custom: GoldenRun }>;
}
const golden = JSON.parse(await readFile(join(ROOT, 'models', 'golden-decoders', 'fam-qwen3.json'), 'utf8')) as Golden;
const goldenMaxLength = 512;
const reference = golden.by_max_length[String(goldenMaxLength)] as { default: GoldenRun; custom: GoldenRun };
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));

// The reference's prompt in node-llama-cpp's template syntax. The context tokenizes the template's text, the query and
// the document apart, so the space after "<Query>:" and "<Document>:" moves into the texts ("Ġex" stays one token, as
// when the whole prompt is tokenized). The final newline goes as Jinja drops it when rendering the file.
const chatTemplate = await readFile(join(ROOT, 'models', 'fam-qwen3', 'chat_template.jinja'), 'utf8');
type RankingTemplate = `${string}{{query}}${string}{{document}}${string}`;
const alignedTemplate = (instruction: string) =>
  chatTemplate
    .slice(chatTemplate.indexOf('<|im_start|>system'))
    .replace(/\n$/, '')
    .replace('{{ ns.instruction }}', instruction)
    .replace(' {{ ns.query }}', '{{query}}')
    .replace(' {{ ns.document }}', '{{document}}') as RankingTemplate;
const variants = [
  { name: 'builtin template', instruction: 'default', template: undefined, space: '' },
  {
    name: 'aligned template',
    instruction: 'default',
    template: alignedTemplate(golden.default_instruction),
    space: ' ',
  },
  { name: 'aligned template', instruction: 'custom', template: alignedTemplate(golden.custom_instruction), space: ' ' },
] as const;

/** The context's internals used to read its prompt and to score given ids (node-llama-cpp 3.21.1). */
interface RankingInternals {
  _getEvaluationInput(query: Token[], document: Token[]): Token[];
  _evaluateRankingForInput(input: Token[]): Promise<number>;
}

const llama = await getLlama({ gpu: false, build: 'never' });
const results: Record<string, unknown>[] = [];
for (const format of (args.formats as string).split(',')) {
  const model = await llama.loadModel({ modelPath: join(ROOT, args.dir as string, `model-${format}.gguf`) });
  const builtin = model.fileInfo.metadata?.tokenizer?.['chat_template.rerank'];
  for (const { name, instruction, template, space } of variants) {
    const context: LlamaRankingContext = await model.createRankingContext({
      contextSize: 1024,
      threads: Number(args.threads),
      ...(template === undefined ? {} : { template }),
    });
    const internals = context as unknown as RankingInternals;
    const run = reference[instruction];
    const stats = { pairs: 0, sameIds: 0, maxScoreDiff: 0, maxLogitDiff: 0, maxScoreDiffOwnIds: 0 };
    const firstMismatch: { pair: number; ours: number[]; llama: number[] }[] = [];
    for (const [i, [query, document]] of golden.pairs.entries()) {
      const ids = run.ids[i] as number[];
      if (ids.length >= goldenMaxLength) continue; // truncated by the reference; llama.cpp never truncates
      const tokenize = (text: string) => model.tokenize(text, false, 'trimLeadingSpace');
      const prompt = internals._getEvaluationInput(tokenize(space + query), tokenize(space + document));
      const expected = sigmoid(run.logits[i] as number);
      const score = await context.rank(space + query, space + document);
      const ownIds = await internals._evaluateRankingForInput(ids as Token[]);
      stats.pairs += 1;
      const same = prompt.length === ids.length && prompt.every((t, k) => t === ids[k]);
      if (same) stats.sameIds += 1;
      else if (firstMismatch.length < 2) firstMismatch.push({ pair: i, ours: ids, llama: prompt.map(Number) });
      stats.maxScoreDiff = Math.max(stats.maxScoreDiff, Math.abs(score - expected));
      // Scores come back as float32 probabilities: the logit is only recoverable short of 0 and 1.
      if (ownIds > 1e-6 && ownIds < 1 - 1e-6)
        stats.maxLogitDiff = Math.max(stats.maxLogitDiff, Math.abs(logit(ownIds) - (run.logits[i] as number)));
      stats.maxScoreDiffOwnIds = Math.max(stats.maxScoreDiffOwnIds, Math.abs(ownIds - expected));
    }
    await context.dispose();
    log(`${format} ${name} ${instruction}: ${JSON.stringify(stats)}`);
    results.push({ format, template: name, instruction, ...stats, firstMismatch });
  }
  await model.dispose();
  if (builtin !== undefined) log(`builtin rerank template: ${JSON.stringify(builtin)}`);
}

await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(
  join(ROOT, 'bench', 'results', 'decoder-gguf-parity.json'),
  `${JSON.stringify({ goldenMaxLength, results }, null, 2)}\n`,
);
const row = (r: Record<string, unknown>) =>
  `| ${String(r['format'])} | ${String(r['template'])} | ${String(r['instruction'])} | ${String(r['pairs'])} | ${String(r['sameIds'])} | ` +
  `${(r['maxScoreDiff'] as number).toExponential(1)} | ${(r['maxScoreDiffOwnIds'] as number).toExponential(1)} | ` +
  `${(r['maxLogitDiff'] as number).toExponential(1)} |`;
await writeFile(
  join(ROOT, 'bench', 'results', 'decoder-gguf-parity.md'),
  [
    '# fam-qwen3 in GGUF through node-llama-cpp ranking context, against sentence-transformers',
    '',
    `Golden pairs at maxLength ${goldenMaxLength} that the reference did not truncate. Score = rank()'s value ` +
      '(a probability, softmax over the yes/no head in llama.cpp) against sigmoid(yes - no) of the reference.',
    '',
    '| GGUF | template | instruction | pairs | same prompt ids | max abs diff, rank() | max abs diff, reference ids | max abs logit diff, reference ids |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(row),
    '',
  ].join('\n'),
);
