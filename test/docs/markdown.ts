// Reads the project's documentation the way the docs tests need it: which Markdown files there are, their fenced
// code blocks with the marker comment written just before each, and their links and headings.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../helpers/models.js';

/** README.md and every guide under docs/, as paths relative to the repository root. */
export function docFiles(): string[] {
  const guides = readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...guides.sort()];
}

export function readDoc(file: string): string {
  return readFileSync(join(REPO_ROOT, file), 'utf8');
}

export interface CodeBlock {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** Line of the opening fence, from 1. */
  line: number;
  lang: string;
  /**
   * The `<!-- … -->` comment on the line before the fence (blank lines between allowed), trimmed: `run`,
   * `run: <setup>` or `not run: <why>`; undefined when there is none.
   */
  marker: string | undefined;
  code: string;
}

/** Every fenced code block of a file, in order. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readDoc(file).split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([\w-]*)/.exec(lines[i] as string);
    if (!open) continue;
    const fence = open[1] as string;
    let end = i + 1;
    while (end < lines.length && !(lines[end] as string).startsWith(fence)) end++;
    let before = i - 1;
    while (before >= 0 && (lines[before] as string).trim() === '') before--;
    const comment = /^<!--(.*)-->$/.exec((lines[before] ?? '').trim());
    blocks.push({
      file,
      line: i + 1,
      lang: open[2] ?? '',
      marker: comment?.[1]?.trim(),
      code: lines.slice(i + 1, end).join('\n') + '\n',
    });
    i = end;
  }
  return blocks;
}

/** The text of a file outside its code fences and inline code spans, line numbers kept. */
export function prose(file: string): string {
  let inFence = false;
  return readDoc(file)
    .split('\n')
    .map((line) => {
      if (/^`{3,}/.test(line)) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : line.replace(/`[^`]*`/g, '``');
    })
    .join('\n');
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
export function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let inFence = false;
  for (const line of readDoc(file).split('\n')) {
    if (/^`{3,}/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*#*$/.exec(line);
    if (!heading) continue;
    const text = (heading[1] as string).replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Where a repository-relative file sits, for messages. */
export function where(file: string, line: number): string {
  return `${relative(REPO_ROOT, join(REPO_ROOT, file))}:${line}`;
}
