import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../src/index.js';
import { analyzeEnglish, porterStem } from './analyzer.js';
import { Bm25Index } from './bm25.js';

describe('porterStem', () => {
  // Examples from Porter's 1980 paper and the reference vocabulary/output lists.
  const examples: Record<string, string> = {
    caresses: 'caress',
    ponies: 'poni',
    ties: 'ti',
    caress: 'caress',
    cats: 'cat',
    feed: 'feed',
    agreed: 'agre',
    plastered: 'plaster',
    bled: 'bled',
    motoring: 'motor',
    sing: 'sing',
    conflated: 'conflat',
    troubled: 'troubl',
    sized: 'size',
    hopping: 'hop',
    tanned: 'tan',
    falling: 'fall',
    hissing: 'hiss',
    fizzed: 'fizz',
    failing: 'fail',
    filing: 'file',
    happy: 'happi',
    sky: 'sky',
    relational: 'relat',
    conditional: 'condit',
    rational: 'ration',
    valenci: 'valenc',
    hesitanci: 'hesit',
    digitizer: 'digit',
    conformabli: 'conform',
    radicalli: 'radic',
    differentli: 'differ',
    vileli: 'vile',
    analogousli: 'analog',
    vietnamization: 'vietnam',
    predication: 'predic',
    operator: 'oper',
    feudalism: 'feudal',
    decisiveness: 'decis',
    hopefulness: 'hope',
    callousness: 'callous',
    formaliti: 'formal',
    sensitiviti: 'sensit',
    sensibiliti: 'sensibl',
    triplicate: 'triplic',
    formative: 'form',
    formalize: 'formal',
    electriciti: 'electr',
    electrical: 'electr',
    hopeful: 'hope',
    goodness: 'good',
    revival: 'reviv',
    allowance: 'allow',
    inference: 'infer',
    airliner: 'airlin',
    gyroscopic: 'gyroscop',
    adjustable: 'adjust',
    defensible: 'defens',
    irritant: 'irrit',
    replacement: 'replac',
    adjustment: 'adjust',
    dependent: 'depend',
    adoption: 'adopt',
    homologou: 'homolog',
    communism: 'commun',
    activate: 'activ',
    angulariti: 'angular',
    homologous: 'homolog',
    effective: 'effect',
    bowdlerize: 'bowdler',
    probate: 'probat',
    rate: 'rate',
    cease: 'ceas',
    controll: 'control',
    roll: 'roll',
    generalizations: 'gener',
    oscillators: 'oscil',
    connections: 'connect',
    connecting: 'connect',
    relativity: 'rel',
    happiness: 'happi',
    university: 'univers',
    abilities: 'abil',
    able: 'abl',
    accompanied: 'accompani',
    knightly: 'knightli',
    running: 'run',
    argument: 'argument',
    archaeology: 'archaeolog',
    is: 'is',
    a: 'a',
  };

  it.each(Object.entries(examples))('%s → %s', (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });
});

describe('analyzeEnglish', () => {
  it('lowercases, drops possessives and stopwords, splits on non-alphanumerics, stems', () => {
    expect(analyzeEnglish("The cat's Running-shoes are in the U.S.A.; COVID-19 tests")).toEqual([
      'cat',
      'run',
      'shoe',
      'u',
      's',
      'covid',
      '19',
      'test',
    ]);
  });
});

describe('Bm25Index', () => {
  const split = (text: string) => text.split(' ').filter(Boolean);
  const docs = [
    { id: 'd1', text: 'apple banana apple' }, // length 3
    { id: 'd2', text: 'banana cherry' }, // length 2
    { id: 'd3', text: 'cherry cherry cherry date' }, // length 4
  ];
  const index = Bm25Index.build(docs, { analyzer: split }); // N = 3, avgdl = 3

  it('matches the formula computed by hand', () => {
    expect(index.avgdl).toBe(3);
    // apple: df = 1, idf = ln(1 + 2.5 / 1.5); d1: tf = 2, dl = 3 → norm = 0.9 · (0.6 + 0.4) = 0.9
    const idfApple = Math.log(1 + 2.5 / 1.5);
    expect(index.idf('apple')).toBeCloseTo(0.980829253, 9);
    expect(index.search('apple', 10)).toEqual([{ id: 'd1', score: (idfApple * 2) / (2 + 0.9) }]);
    expect(index.search('apple', 10)[0]!.score).toBeCloseTo(0.676434, 6);

    // cherry: df = 2, idf = ln(1.6) = 0.470004; d3: tf 3, dl 4 → norm = 0.9 · (0.6 + 1.6 / 3) = 1.02 → 0.470004 · 3 / 4.02
    const idfCherry = Math.log(1 + 1.5 / 2.5);
    const d3 = (idfCherry * 3) / (3 + 0.9 * (0.6 + (0.4 * 4) / 3));
    const d2 = (idfCherry * 1) / (1 + 0.9 * (0.6 + (0.4 * 2) / 3));
    const hits = index.search('cherry', 10);
    expect(hits.map((h) => h.id)).toEqual(['d3', 'd2']);
    expect(hits[0]!.score).toBeCloseTo(d3, 12);
    expect(hits[1]!.score).toBeCloseTo(d2, 12);
    expect(hits[0]!.score).toBeCloseTo(0.350749, 6);
  });

  it('sums over query terms, counting repeated terms, and ignores unknown terms', () => {
    const one = index.search('banana', 10);
    const twice = index.search('banana banana', 10);
    expect(twice.map((h) => h.score)).toEqual(one.map((h) => 2 * h.score));
    const both = index.search('apple cherry kiwi', 10);
    expect(both.find((h) => h.id === 'd1')!.score).toBeCloseTo(index.search('apple', 1)[0]!.score, 12);
    expect(index.search('kiwi', 10)).toEqual([]);
  });

  it('breaks ties by id descending (trec_eval order) and cuts at k', () => {
    const tied = Bm25Index.build(
      [
        { id: 'a', text: 'x y' },
        { id: 'c', text: 'x y' },
        { id: 'b', text: 'x y' },
        { id: 'z', text: 'q r' },
      ],
      { analyzer: split },
    );
    expect(tied.search('x', 10).map((h) => h.id)).toEqual(['c', 'b', 'a']);
    expect(tied.search('x', 2).map((h) => h.id)).toEqual(['c', 'b']);
  });

  it('takes k1 and b as options', () => {
    const flat = Bm25Index.build(docs, { analyzer: split, k1: 1.2, b: 0 });
    const idfCherry = Math.log(1 + 1.5 / 2.5);
    expect(flat.search('cherry', 1)[0]!.score).toBeCloseTo((idfCherry * 3) / (3 + 1.2), 12);
  });

  it('uses the English analyzer by default', () => {
    const english = Bm25Index.build([{ id: 'd', text: 'The runners were running' }]);
    expect(english.search('run', 5).map((h) => h.id)).toEqual(['d']);
  });

  it('rejects bad input', () => {
    expect(() =>
      Bm25Index.build([
        { id: 'a', text: '' },
        { id: 'a', text: '' },
      ]),
    ).toThrow(InvalidArgumentError);
    expect(() => Bm25Index.build([], { b: 2 })).toThrow(InvalidArgumentError);
    expect(() => index.search('apple', 0)).toThrow(InvalidArgumentError);
  });
});
