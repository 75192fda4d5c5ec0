import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { noDistilled } from '../helpers/models.js';

const run = promisify(execFile);
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

// The example's default run: the bundled notes, three questions whose answering file is known, reranked by
// models/ce-minilm-l6-ict (assembled by `npm run models` from ../shared/models).
describe.skipIf(noDistilled())('examples/two-stage-search.ts (bundled notes, default reranker)', () => {
  it('reranking puts the relevant note first for every question', async () => {
    const { stdout } = await run(process.execPath, [tsx, 'examples/two-stage-search.ts'], {});
    expect(stdout).toContain('Reranker: ');
    expect(stdout).toContain('ce-minilm-l6-ict');
    const blocks = stdout.split(/^Query /m).slice(1);
    expect(blocks).toHaveLength(3);
    for (const block of blocks) {
      const after = block.split('after: cross-encoder reranking')[1] ?? '';
      const first = /^\s+(✔?)\s+1\. rerank (\d\.\d{4})/m.exec(after);
      expect(first, block).not.toBeNull();
      expect(first?.[1], `relevant note not first after reranking:\n${block}`).toBe('✔');
    }
  });
});

// Needs only the embedding model: with or without a reranker, --queries caps the bundled questions too.
describe('examples/two-stage-search.ts --queries', () => {
  it('asks only as many bundled questions as --queries says', async () => {
    const { stdout } = await run(process.execPath, [tsx, 'examples/two-stage-search.ts', '--queries', '1'], {});
    expect(stdout.split(/^Query /m).slice(1)).toHaveLength(1);
    expect(stdout).toContain('Query q1: ');
  });
});
