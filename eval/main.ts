#!/usr/bin/env node
// The evaluation tool's command: `npm run eval -- --data <dir> [options]`. It lives beside the published package
// and loads models through the package's public entry only.
import { CrossEncoder, OnnxEmbeddings } from '../src/index.js';
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  loadScorer: (model, { variant }) => CrossEncoder.load(model, { variant }),
  loadEmbeddings: async (model, { variant }) => {
    const embeddings = new OnnxEmbeddings({ model, variant });
    await embeddings.warmup();
    return embeddings;
  },
  stdout: process.stdout,
  stderr: process.stderr,
});
