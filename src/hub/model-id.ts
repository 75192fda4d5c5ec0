import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';

export const DEFAULT_MODEL_ID = 'Xenova/ms-marco-MiniLM-L-6-v2';
export const DEFAULT_REVISION = 'main';

// Cache folder used for owner-less ("canonical") ids such as `bert-base-uncased`.
// `@` is not allowed in an owner name, so it cannot collide with a real owner.
const CANONICAL_OWNER_DIR = '@canonical';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION = /^[A-Za-z0-9._/-]{1,128}$/;
const ID_FORM =
  '`name` or `owner/name` made of letters, digits, `.`, `_` and `-` (at most 96 characters each, not starting with `.` or `-`, no `..`)';
const REVISION_FORM =
  'a branch, tag or commit hash of letters, digits, `.`, `_`, `-` and `/` (at most 128 characters, no `..`, no leading `/`)';
const PATH_FORM =
  'a relative POSIX path inside the repository such as `onnx/model.onnx` (no `..`, no leading `/`, no backslashes, no %-escapes, no control characters)';

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/** Checks a hub id (`owner/name` or `name`) and returns it unchanged. */
export function validateModelId(id: unknown, parameter = 'model'): string {
  const segments = typeof id === 'string' ? id.split('/') : [];
  const ok =
    segments.length >= 1 && segments.length <= 2 && segments.every((s) => SEGMENT.test(s) && !s.includes('..'));
  if (!ok) throw new InvalidArgumentError(parameter, `expected a hub id, ${ID_FORM}; got ${show(id)}.`);
  return id as string;
}

/** Checks a git revision and returns it unchanged. */
export function validateRevision(revision: unknown, parameter = 'options.revision'): string {
  // Git refuses ref components that are empty or start with `.`; refusing them too
  // rules out `.`/`..` and keeps `.missing` free for the cache's own markers.
  const ok =
    typeof revision === 'string' &&
    REVISION.test(revision) &&
    revision.split('/').every((s) => s !== '' && !s.startsWith('.')) &&
    !revision.includes('..');
  if (!ok) throw new InvalidArgumentError(parameter, `expected ${REVISION_FORM}; got ${show(revision)}.`);
  return revision as string;
}

/** Checks a file path inside a repository and returns it unchanged. */
export function validateRepoPath(file: unknown, parameter = 'file'): string {
  const ok =
    typeof file === 'string' &&
    file.length > 0 &&
    file.length <= 1024 &&
    !file.startsWith('/') &&
    !/^[A-Za-z]:/.test(file) && // a Windows drive, absolute or drive-relative
    !/[\\\u0000-\u001f\u007f]/.test(file) &&
    !/%[0-9A-Fa-f]{2}/.test(file) &&
    file.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
  if (!ok) throw new InvalidArgumentError(parameter, `expected ${PATH_FORM}; got ${show(file)}.`);
  return file as string;
}

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
