import { InvalidArgumentError } from '../errors.js';

export const DEFAULT_MODEL_ID = 'Xenova/ms-marco-MiniLM-L-6-v2';
export const DEFAULT_REVISION = 'main';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION = /^[A-Za-z0-9._/-]{1,128}$/;
const ID_FORM =
  '`name` or `owner/name` made of letters, digits, `.`, `_` and `-` (at most 96 characters each, not starting with `.` or `-`, no `..`)';
const REVISION_FORM =
  'a branch, tag or commit hash of letters, digits, `.`, `_`, `-` and `/` (at most 128 characters, no `..`, no leading `/`)';
const PATH_FORM =
  'a relative POSIX path inside the repository such as `onnx/model.onnx` (no `..`, no leading `/`, no backslashes, no %-escapes, no control characters)';

export const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value));

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

/** URL the hub serves one file of one revision from; it redirects large (LFS) files to a CDN. */
export function hubFileUrl(endpoint: string, id: string, revision: string, file: string): string {
  const encodedPath = validateRepoPath(file).split('/').map(encodeURIComponent).join('/');
  return `${endpoint.replace(/\/+$/, '')}/${validateModelId(id)}/resolve/${encodeURIComponent(validateRevision(revision))}/${encodedPath}`;
}
