import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { noDistilled } from '../helpers/models.js';

const run = promisify(execFile);
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

// The chatbot's default reranker is models/ce-minilm-l6-ict, assembled by `npm run models` from ../shared/models.
const skip = noDistilled();

async function ask(question: string): Promise<string> {
  const { stdout } = await run(process.execPath, [tsx, 'examples/chatbot.ts', '--offline', '--question', question], {
    env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
  });
  return stdout;
}

const cited = (stdout: string) =>
  [...(/^A: (.*)$/m.exec(stdout)?.[1] ?? '').matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);
const sources = (stdout: string) => [...stdout.matchAll(/^\s+\d\. (\S+)\s+relevance (\d\.\d{4})$/gm)];

describe.skipIf(skip)('examples/chatbot.ts (offline mode, bundled documents)', () => {
  it('answers "How often should I water a cactus?" from watering.md, ranked first', async () => {
    const stdout = await ask('How often should I water a cactus?');
    expect(cited(stdout)).toContain('watering.md');
    expect(cited(stdout).every((file) => file === 'watering.md')).toBe(true);
    expect(sources(stdout)[0]?.[1]).toBe('watering.md');
  });

  it('answers "When should I repot?" from repotting.md, ranked first', async () => {
    const stdout = await ask('When should I repot?');
    expect(cited(stdout)).toContain('repotting.md');
    expect(cited(stdout).every((file) => file === 'repotting.md')).toBe(true);
    expect(sources(stdout)[0]?.[1]).toBe('repotting.md');
  });

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
