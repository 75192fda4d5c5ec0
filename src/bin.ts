#!/usr/bin/env node
// The `langchain-cross-encoder` command: `serve` runs the HTTP server, anything else goes to `eval`.
import { runCli } from './eval/cli.js';
import { OnnxEmbeddings } from './langchain/embeddings.js';
import { CrossEncoder } from './scoring/cross-encoder.js';
import { runServe } from './serve/cli.js';

const argv = process.argv.slice(2);
if (argv[0] === 'serve') {
  process.exitCode = await runServe(argv.slice(1), {
    loadScorer: (model, { variant, threads }) =>
      CrossEncoder.load(model, { variant, ...(threads === undefined ? {} : { threads }) }),
    stdout: process.stdout,
    stderr: process.stderr,
  });
} else {
  process.exitCode = await runCli(argv, {
    loadScorer: (model, { variant }) => CrossEncoder.load(model, { variant }),
    loadEmbeddings: async (model, { variant }) => {
      const embeddings = new OnnxEmbeddings({ model, variant });
      await embeddings.warmup();
      return embeddings;
    },
    stdout: process.stdout,
    stderr: process.stderr,
  });
}
