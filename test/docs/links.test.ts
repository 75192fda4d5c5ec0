// Every relative link in README.md and the guides under docs/ points at a file or folder of the repository, and
// every #anchor at a heading of its target, so moving a section cannot leave a dead link behind.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/models.js';
import { anchors, docFiles, prose, where } from './markdown.js';

interface Link {
  file: string;
  line: number;
  target: string;
}

function links(file: string): Link[] {
  const found: Link[] = [];
  prose(file)
    .split('\n')
    .forEach((text, i) => {
      for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        found.push({ file, line: i + 1, target: match[1] as string });
      }
    });
  return found;
}

/** Why a link is broken, or undefined when it resolves. */
function broken(link: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return undefined; // https:, mailto: and other absolute URLs
  const [path = '', anchor] = link.target.split('#', 2);
  const target = path === '' ? link.file : normalize(join(dirname(link.file), decodeURIComponent(path)));
  if (target.startsWith('..')) return `${link.target} leaves the repository`;
  const absolute = join(REPO_ROOT, target);
  if (!existsSync(absolute)) return `${link.target}: ${target} does not exist`;
  if (anchor === undefined) return undefined;
  if (!target.endsWith('.md') || statSync(absolute).isDirectory())
    return `${link.target}: an anchor on a non-Markdown target`;
  return anchors(target).has(anchor)
    ? undefined
    : `${link.target}: ${target} has no heading with the anchor #${anchor}`;
}

describe('links in README.md and docs/', () => {
  const files = docFiles();

  it('finds the documentation', () => {
    expect(files).toContain('README.md');
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files)('%s: every relative link and anchor resolves', (file) => {
    const failures = links(file)
      .map((link) => [link, broken(link)] as const)
      .filter(([, why]) => why !== undefined)
      .map(([link, why]) => `${where(link.file, link.line)} ${why}`);
    expect(failures).toEqual([]);
  });

  it('the checker itself tells a dead link and a dead anchor from good ones', () => {
    const at = { file: 'README.md', line: 1 };
    expect(broken({ ...at, target: 'docs/serving.md#under-overload' })).toBeUndefined();
    expect(broken({ ...at, target: '#quick-start' })).toBeUndefined();
    expect(broken({ ...at, target: 'https://example.com/x' })).toBeUndefined();
    expect(broken({ ...at, target: 'docs/no-such-guide.md' })).toMatch(/does not exist/);
    expect(broken({ ...at, target: '#no-such-heading' })).toMatch(/no heading/);
    expect(broken({ ...at, target: 'docs/serving.md#no-such-heading' })).toMatch(/no heading/);
  });
});
