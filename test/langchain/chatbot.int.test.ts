import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

// models/minilm's scoring head is untrained, so its order says nothing yet. The chatbot is therefore asked to keep
// every candidate (--k 3 --top 3): the real bi-encoder picks the candidates, and the test checks the end-to-end path
// (folder → vector store → reranker → offline answer with citations and scores), not ranking quality.
describe('examples/chatbot.ts (offline mode, bundled documents)', () => {
  it('answers a --question from the right file and lists sources with relevance scores', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        tsx,
        'examples/chatbot.ts',
        '--offline',
        '--k',
        '3',
        '--top',
        '3',
        '--question',
        'what are the small black flies in the soil',
      ],
      { env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' } },
    );
    expect(stdout).toContain('Answering offline (extractive)');
    const answer = /^A: (.*)$/m.exec(stdout)?.[1] ?? '';
    expect(answer).toMatch(/^Fungus gnats .*\[pests\.txt\]/);
    const sources = [...stdout.matchAll(/^\s+\d\. (\S+)\s+relevance (\d\.\d{4})$/gm)];
    expect(sources).toHaveLength(3);
    expect(sources.map((m) => m[1])).toContain('pests.txt');
    const scores = sources.map((m) => Number(m[2]));
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('reads questions from stdin lines when no --question is given', async () => {
    const child = run(process.execPath, [tsx, 'examples/chatbot.ts', '--offline', '--k', '3', '--top', '3'], {});
    child.child.stdin?.end('How long until cuttings grow roots in water?\nWhich window gives the most light?\n');
    const { stdout } = await child;
    const answers = [...stdout.matchAll(/^A: (.*)$/gm)].map((m) => m[1]);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toContain('[propagation.md]');
    expect(answers[1]).toContain('[light.md]');
  });
});
