// One reranker, three frameworks: the bundled plant-care notes ranked for one question by the Vercel AI SDK's
// rerank(), a LlamaIndex.TS node postprocessor and Mastra's rerankWithScorer, all on the same local model. Each
// prints its order and scores. The AI SDK and Mastra give the model the same `title: …\nbody: …` text, so their
// scores are equal; LlamaIndex renders a node's metadata its own way, so its scores differ a little.
//
//   npm run example:frameworks
//   npm run example:frameworks -- --query "how often should I water a cactus"
//   npm run example:frameworks -- --model Xenova/ms-marco-MiniLM-L-6-v2   a hub reranker (needs internet once)
//
// The default model is models/ce-minilm-l6-ict, which `npm run models` assembles from ../shared/models.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { QueryResult } from '@mastra/core/vector';
import { rerankWithScorer } from '@mastra/rag';
import { rerank } from 'ai';
import { MetadataMode, TextNode, type NodeWithScore } from 'llamaindex';
import { createCrossEncoder } from '../src/ai-sdk/index.js';
import { CrossEncoder } from '../src/index.js';
import { CrossEncoderNodePostprocessor } from '../src/llamaindex/index.js';
import { CrossEncoderRelevanceScorer } from '../src/mastra/index.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const DEFAULT_MODEL = path.join(repoRoot, 'models/ce-minilm-l6-ict');
const { values } = parseArgs({
  options: {
    query: { type: 'string', default: 'what should I do about aphids on my plants' },
    model: { type: 'string' },
    top: { type: 'string', default: '3' },
  },
});
const modelId = values.model ?? DEFAULT_MODEL;
if (values.model === undefined && !existsSync(path.join(DEFAULT_MODEL, 'onnx', 'model.onnx'))) {
  console.error(`${DEFAULT_MODEL} is missing: run \`npm run models\`, or pass --model <hub id or folder>.`);
  process.exit(1);
}
const query = values.query;
const topN = Number(values.top);

// The notes as records: the file name as a title, its text as the body.
const folder = path.join(repoRoot, 'examples/data/docs');
const notes = await Promise.all(
  (await readdir(folder)).sort().map(async (file) => ({
    title: file.replace(/\.\w+$/, ''),
    body: (await readFile(path.join(folder, file), 'utf8')).trim(),
  })),
);

// One engine shared by the three adapters: loaded once, disposed here.
const engine = await CrossEncoder.load(modelId);
const show = (framework: string, rows: { title: string; score: number }[]) => {
  console.log(`\n${framework}`);
  rows.forEach((row, i) => console.log(`  ${i + 1}. ${row.score.toFixed(4)}  ${row.title}`));
};
console.log(`Reranker: ${modelId}\nQuery: ${query}`);
try {
  // Vercel AI SDK: object documents, the model reading title and body.
  const provider = createCrossEncoder({ scorer: engine });
  const { ranking } = await rerank({
    model: provider.rerankingModel(path.basename(modelId), { rankFields: ['title', 'body'] }),
    query,
    documents: notes,
    topN,
  });
  show(
    "Vercel AI SDK: rerank() from 'ai'",
    ranking.map((r) => ({ title: r.document.title, score: r.score })),
  );

  // LlamaIndex.TS: the notes as nodes, title in the metadata the embedding (and so the reranker) reads.
  const nodes: NodeWithScore[] = notes.map((note) => ({
    node: new TextNode({ text: note.body, metadata: { title: note.title } }),
    score: 0,
  }));
  const postprocessor = new CrossEncoderNodePostprocessor({ model: engine, topN });
  const kept = await postprocessor.postprocessNodes(nodes, query);
  show(
    'LlamaIndex.TS: CrossEncoderNodePostprocessor',
    kept.map((n) => ({ title: String(n.node.metadata['title']), score: n.score ?? Number.NaN })),
  );
  console.log(`  (the model read: ${JSON.stringify(kept[0]?.node.getContent(MetadataMode.EMBED).slice(0, 60))}…)`);

  // Mastra: results as a vector store returns them, text in metadata.text; the cross-encoder's score alone.
  const results: QueryResult[] = notes.map((note, i) => ({
    id: note.title,
    score: 1 - i / notes.length,
    metadata: { text: `title: ${note.title}\nbody: ${note.body}` },
  }));
  const reranked = await rerankWithScorer({
    results,
    query,
    scorer: new CrossEncoderRelevanceScorer({ model: engine }),
    options: { topK: topN, weights: { semantic: 1, vector: 0, position: 0 } },
  });
  show(
    "Mastra: rerankWithScorer from '@mastra/rag'",
    reranked.map((r) => ({ title: r.result.id, score: r.details.semantic })),
  );
} finally {
  await engine.dispose();
}
