import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { show, validateModelId, validateRepoPath, validateRevision } from './model-id.js';

// Where the Node model cache keeps each file. Owner-less ("canonical") ids such as `bert-base-uncased` go under this
// folder: `@` is not allowed in an owner name, so it cannot collide with a real owner.
const CANONICAL_OWNER_DIR = '@canonical';

/**
 * Resolves `segments` under `root` and proves the result is strictly inside it,
 * whatever validation let through: the last line of defence against traversal.
 */
export function containedPath(root: string, ...segments: string[]): string {
  const base = path.resolve(root);
  const full = path.resolve(base, ...segments);
  const rel = path.relative(base, full);
  const prefix = base.endsWith(path.sep) ? base : base + path.sep;
  if (
    rel === '' ||
    rel === '..' ||
    rel.startsWith('..' + path.sep) ||
    path.isAbsolute(rel) ||
    !full.startsWith(prefix)
  ) {
    throw new InvalidArgumentError('file', `path ${show(segments.join('/'))} escapes ${base}.`);
  }
  return full;
}

/** Folder name of a revision: `/` becomes `%2F`, so `refs/pr/1` and `refs-pr-1` never share a folder. */
function revisionDirName(revision: string): string {
  return validateRevision(revision).replaceAll('/', '%2F');
}

function repoSegments(id: string): [string, string] {
  const [first, second] = validateModelId(id).split('/') as [string, string | undefined];
  return second === undefined ? [CANONICAL_OWNER_DIR, first] : [first, second];
}

/** `<cacheDir>/<owner>/<name>/<revision>`: the local snapshot of one revision (owner-less ids go under `@canonical`). */
export function revisionCacheDir(cacheDir: string, id: string, revision: string): string {
  return containedPath(cacheDir, ...repoSegments(id), revisionDirName(revision));
}

/** `<cacheDir>/<owner>/<name>/<revision>/<file>`, proven to lie inside `cacheDir`. */
export function cachePathFor(cacheDir: string, id: string, revision: string, file: string): string {
  const fileSegments = validateRepoPath(file).split('/');
  return containedPath(cacheDir, ...repoSegments(id), revisionDirName(revision), ...fileSegments);
}

/**
 * `<cacheDir>/<owner>/<name>/.missing/<revision>/<file>`: marks an optional file the
 * hub answered 404 for, so later loads skip the request. Kept beside, not inside,
 * the revision folder so the snapshot holds only repository files; revisions cannot
 * start with `.`, so the name never clashes with one.
 */
export function missingMarkerPath(cacheDir: string, id: string, revision: string, file: string): string {
  const fileSegments = validateRepoPath(file).split('/');
  return containedPath(cacheDir, ...repoSegments(id), '.missing', revisionDirName(revision), ...fileSegments);
}

/**
 * `<cacheDir>/<owner>/<name>/.meta/<revision>/<file>.json`: what a download wrote (size, SHA-256, URL), so a cached
 * file can later be told apart from a damaged one. Beside the snapshot, like `.missing`.
 */
export function downloadRecordPath(cacheDir: string, id: string, revision: string, file: string): string {
  const fileSegments = validateRepoPath(file).split('/');
  const last = `${fileSegments.pop() as string}.json`;
  return containedPath(cacheDir, ...repoSegments(id), '.meta', revisionDirName(revision), ...fileSegments, last);
}
