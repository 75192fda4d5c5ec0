import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { cachePathFor, missingMarkerPath, revisionCacheDir } from './cache-paths.js';
import { hubFileUrl, validateModelId, validateRepoPath, validateRevision } from './model-id.js';

const CACHE = path.resolve('/tmp/lce-cache-root');
const inside = (p: string) => p.startsWith(CACHE + path.sep);

describe('validation', () => {
  it.each(['Xenova/ms-marco-MiniLM-L-6-v2', 'bert-base-uncased', 'a/b', 'o_1/n.2-x'])('accepts id %s', (id) => {
    expect(validateModelId(id)).toBe(id);
  });

  it.each([
    '',
    '/',
    'a/',
    '/a',
    'a/b/c',
    '../x',
    'a/..',
    'a/b..c',
    '.a/b',
    '-a/b',
    'a/.b',
    'a b/c',
    'a\\b',
    'ä/b',
    'x'.repeat(97),
  ])('rejects id %j naming the parameter and the accepted form', (id) => {
    const error = (() => {
      try {
        validateModelId(id);
      } catch (e) {
        return e;
      }
    })() as InvalidArgumentError;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.parameter).toBe('model');
    expect(error.message).toMatch(/owner\/name/);
  });

  it.each(['main', 'v1.0', 'refs/pr/1', 'a'.repeat(40), 'release_2-x'])('accepts revision %s', (rev) => {
    expect(validateRevision(rev)).toBe(rev);
  });

  it.each(['', '.', '..', 'a/../b', '/main', 'main/', 'a//b', 'a/.hidden', 'a b', 'x'.repeat(129), 'a%2Fb', 'a\\b'])(
    'rejects revision %j',
    (rev) => expect(() => validateRevision(rev)).toThrow(InvalidArgumentError),
  );

  it.each(['config.json', 'onnx/model.onnx', '.gitattributes', 'a/b/c..d.txt'])('accepts path %s', (p) => {
    expect(validateRepoPath(p)).toBe(p);
  });

  it.each([
    '',
    '/etc/passwd',
    '../x',
    'a/../../x',
    'a/./b',
    'a//b',
    'a/',
    'a\\b',
    '..\\x',
    'a%2Fb',
    '%2e%2e/x',
    'a\u0000b',
    'C:/x',
    'c:x',
  ])('rejects path %j', (p) => expect(() => validateRepoPath(p)).toThrow(InvalidArgumentError));

  it('lays the cache out as <owner>/<name>/<revision>/<file>', () => {
    expect(cachePathFor(CACHE, 'o/n', 'main', 'onnx/model.onnx')).toBe(
      path.join(CACHE, 'o', 'n', 'main', 'onnx', 'model.onnx'),
    );
    expect(revisionCacheDir(CACHE, 'o/n', 'refs/pr/1')).toBe(path.join(CACHE, 'o', 'n', 'refs%2Fpr%2F1'));
    expect(revisionCacheDir(CACHE, 'bert-base-uncased', 'main')).toBe(
      path.join(CACHE, '@canonical', 'bert-base-uncased', 'main'),
    );
    expect(missingMarkerPath(CACHE, 'o/n', 'main', 'a.json')).toBe(
      path.join(CACHE, 'o', 'n', '.missing', 'main', 'a.json'),
    );
  });

  it('builds hub resolve URLs with the revision encoded as one segment', () => {
    expect(hubFileUrl('https://hub.example/', 'o/n', 'refs/pr/1', 'onnx/my model.onnx')).toBe(
      'https://hub.example/o/n/resolve/refs%2Fpr%2F1/onnx/my%20model.onnx',
    );
  });
});

// Strings built from the fragments path traversal attacks are made of, mixed with arbitrary unicode.
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '..',
        '.',
        '/',
        '\\',
        '%2e',
        '%2E%2e',
        '%2F',
        '%2f',
        '%5c',
        '%00',
        '\u0000',
        '~',
        'C:',
        '//',
        '/etc',
        '\u2215',
        '\uff0e\uff0e',
        '..\\',
        '@canonical',
        '.missing',
      ),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.constantFrom('a', 'owner', 'name', 'main', 'model.onnx'),
    ),
    { maxLength: 10 },
  )
  .map((parts) => parts.join(''));

function insideOrRejected(make: () => string): boolean {
  try {
    return inside(make());
  } catch (error) {
    return error instanceof InvalidArgumentError;
  }
}

describe('cache paths under hostile input', () => {
  it('either throw InvalidArgumentError or stay inside the cache dir', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, (id, revision, file) =>
        [
          () => cachePathFor(CACHE, id, revision, file),
          () => cachePathFor(CACHE, 'o/n', revision, file),
          () => cachePathFor(CACHE, 'o/n', 'main', file),
          () => cachePathFor(CACHE, id, 'main', 'f'),
          () => missingMarkerPath(CACHE, 'o/n', revision, file),
          () => revisionCacheDir(CACHE, id, revision),
        ].every(insideOrRejected),
      ),
      { numRuns: 3000 },
    );
  });

  it('never yields a URL that normalises out of the repo resolve path', () => {
    fc.assert(
      fc.property(hostile, hostile, (revision, file) => {
        let url: string;
        try {
          url = hubFileUrl('https://hub.example', 'o/n', revision, file);
        } catch (error) {
          return error instanceof InvalidArgumentError;
        }
        const { pathname } = new URL(url);
        const revSegment = encodeURIComponent(revision);
        return (
          pathname.startsWith(`/o/n/resolve/${revSegment}/`) &&
          pathname.split('/').length === 5 + file.split('/').length
        );
      }),
      { numRuns: 3000 },
    );
  });
});
