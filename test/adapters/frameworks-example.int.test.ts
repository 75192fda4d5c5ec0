import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { noDistilled } from '../helpers/models.js';

const run = promisify(execFile);
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

// The example's default run: the bundled notes, one question about aphids, models/ce-minilm-l6-ict behind all three
// frameworks (assembled by `npm run models` from ../shared/models).
describe.skipIf(noDistilled())('examples/frameworks.ts (bundled notes, default reranker)', () => {
  it('each framework puts the pests note first; the AI SDK and Mastra give the same scores', async () => {
    const { stdout } = await run(process.execPath, [tsx, 'examples/frameworks.ts'], {});
    const blocks = stdout.split(/\n\n/).filter((block) => /^\S.*\n\s+1\. /.test(block));
    expect(blocks.map((block) => block.split('\n')[0])).toEqual([
      "Vercel AI SDK: rerank() from 'ai'",
      'LlamaIndex.TS: CrossEncoderNodePostprocessor',
      "Mastra: rerankWithScorer from '@mastra/rag'",
    ]);
    for (const block of blocks) expect(block).toMatch(/^\s+1\. \d\.\d{4}\s+pests$/m);
    const rows = (block: string) => block.split('\n').filter((line) => /^\s+\d\. /.test(line));
    expect(rows(blocks[2] as string)).toEqual(rows(blocks[0] as string));
  });
});
