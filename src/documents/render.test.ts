import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_MAX_RECORD_DEPTH, renderRecord, validateRankFields } from './render.js';

describe('renderRecord', () => {
  it('renders every field as a key: value line, nested records and lists indented, never [object Object]', () => {
    const record = {
      title: 'Trail shoe',
      price: 129.5,
      inStock: true,
      discontinued: null,
      tags: ['running', 'trail'],
      maker: { name: 'Acme', country: 'NZ' },
      sizes: [{ eu: 42, us: 9 }, { eu: 43 }],
      grid: [
        [1, 2],
        [3, 4],
      ],
      released: new Date('2024-05-01T00:00:00.000Z'),
      notes: 'line one\nline two',
      empty: {},
      none: [],
      skipped: undefined,
      method: () => 1,
    };
    const text = renderRecord(record, undefined, 'documents[0]');
    expect(text).toBe(
      [
        'title: Trail shoe',
        'price: 129.5',
        'inStock: true',
        'discontinued: null',
        'tags:',
        '  - running',
        '  - trail',
        'maker:',
        '  name: Acme',
        '  country: NZ',
        'sizes:',
        '  - eu: 42',
        '    us: 9',
        '  - eu: 43',
        'grid:',
        '  - - 1',
        '    - 2',
        '  - - 3',
        '    - 4',
        'released: 2024-05-01T00:00:00.000Z',
        'notes: line one',
        '  line two',
        'empty: {}',
        'none: []',
      ].join('\n'),
    );
    expect(text).not.toContain('[object');
  });

  it('renders Maps, Sets and objects with their own text form by their content', () => {
    const text = renderRecord(
      { m: new Map([['a', 1]]), s: new Set(['x']), url: new URL('https://example.com/a') },
      undefined,
      'd',
    );
    expect(text).toBe('m:\n  a: 1\ns:\n  - x\nurl: https://example.com/a');
  });

  it('keeps only rankFields, in the order given, leaving out fields the record lacks', () => {
    const record = { body: 'Grippy sole.', title: 'Trail shoe', price: 129.5, meta: { sku: 'T-1' } };
    expect(renderRecord(record, ['title', 'missing', 'body'], 'd')).toBe('title: Trail shoe\nbody: Grippy sole.');
    expect(renderRecord(record, ['meta'], 'd')).toBe('meta:\n  sku: T-1');
    expect(renderRecord(record, (r) => `${String(r['title'])} - ${String(r['body'])}`, 'd')).toBe(
      'Trail shoe - Grippy sole.',
    );
  });

  it('refuses a function that returns no text, and a record that contains itself, naming the document', () => {
    expect(() => renderRecord({ a: 1 }, (() => 3) as never, 'documents[2]')).toThrow(/documents\[2\]/);
    const looped: Record<string, unknown> = { name: 'loop' };
    looped['self'] = { again: looped };
    const error = (() => {
      try {
        renderRecord(looped, undefined, 'documents[1]');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/documents\[1\]\.self\.again.*refers to itself/);
  });

  it('does not modify the record', () => {
    const record = Object.freeze({ a: Object.freeze({ b: 1 }), c: Object.freeze([1]) });
    expect(renderRecord(record, undefined, 'd')).toBe('a:\n  b: 1\nc:\n  - 1');
  });
});

describe('validateRankFields', () => {
  it('accepts a list of distinct names or a function, and refuses anything else by name', () => {
    expect(validateRankFields(undefined, 'rankFields')).toBeUndefined();
    expect(validateRankFields(['a', 'b'], 'rankFields')).toEqual(['a', 'b']);
    const fn = () => '';
    expect(validateRankFields(fn, 'rankFields')).toBe(fn);
    expect(() => validateRankFields([], 'rankFields')).toThrow(/rankFields/);
    expect(() => validateRankFields('title', 'rankFields')).toThrow(/rankFields.*non-empty array/);
    expect(() => validateRankFields(['a', ''], 'rankFields')).toThrow(/rankFields\[1\]/);
    expect(() => validateRankFields(['a', 'a'], 'rankFields')).toThrow(/named twice/);
  });
});

/** `depth` lists, one inside the other, around one word. */
function nestedLists(depth: number): unknown {
  let value: unknown = 'deep';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
}

describe('renderRecord bounds', () => {
  it('renders records nested to the default depth and refuses deeper ones with a typed error, not a stack overflow', () => {
    expect(renderRecord({ a: nestedLists(DEFAULT_MAX_RECORD_DEPTH) }, undefined, 'd')).toMatch(/- deep$/);
    for (const depth of [DEFAULT_MAX_RECORD_DEPTH + 1, 20_000]) {
      const error = thrown(() => renderRecord({ a: nestedLists(depth) }, undefined, 'documents[4]'));
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect(error.message).toMatch(/^documents\[4\]: the record nests deeper than 64 levels/);
    }
    expect(() => renderRecord({ a: nestedLists(5) }, undefined, 'd', { maxDepth: 4 })).toThrow(/deeper than 4/);
  });

  it('stops rendering as soon as the text would pass maxChars, before reading the rest of the record', () => {
    let read = 0;
    const record: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++) {
      Object.defineProperty(record, `field${i}`, {
        enumerable: true,
        get: () => {
          read++;
          return { nested: 'x'.repeat(50) };
        },
      });
    }
    const error = thrown(() => renderRecord(record, undefined, 'documents[0]', { maxChars: 500 }));
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/^documents\[0\]: the record's text would be longer than 500 characters/);
    expect(read).toBeLessThan(20);
    // A text of exactly maxChars passes: the bound is on the rendered text, newlines included.
    const fits = renderRecord({ a: 'x', b: ['y', 'z'] }, undefined, 'd');
    expect(renderRecord({ a: 'x', b: ['y', 'z'] }, undefined, 'd', { maxChars: fits.length })).toBe(fits);
    expect(() => renderRecord({ a: 'x', b: ['y', 'z'] }, undefined, 'd', { maxChars: fits.length - 1 })).toThrow(
      /longer than/,
    );
  });

  it('counts the indentation a deep multi-line value gains before building it', () => {
    const deep = nestedLists(40) as unknown[];
    let inner = deep;
    while (Array.isArray(inner[0])) inner = inner[0] as unknown[];
    inner[0] = 'line\n'.repeat(1000); // 5,000 characters that would render to over 85,000
    expect(() => renderRecord({ a: deep }, undefined, 'd', { maxChars: 10_000 })).toThrow(/longer than 10000/);
    expect(renderRecord({ a: deep }, undefined, 'd').length).toBeGreaterThan(80_000);
  });

  it('bounds the text a rankFields function returns too', () => {
    expect(() => renderRecord({ a: 1 }, () => 'x'.repeat(11), 'd', { maxChars: 10 })).toThrow(/longer than 10/);
  });
});
