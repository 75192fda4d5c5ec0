import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { documentText, renderRecord, validateRankFields } from './render.js';

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

describe('validateRankFields and documentText', () => {
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

  it('passes strings through and renders records', () => {
    expect(documentText('plain', undefined, 'd')).toBe('plain');
    expect(documentText({ q: 1 }, undefined, 'd')).toBe('q: 1');
    expect(() => documentText(42, undefined, 'documents[3]')).toThrow(/documents\[3\].*a number/);
    expect(() => documentText(['a'], undefined, 'documents[0]')).toThrow(/documents\[0\]/);
  });
});
