import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import {
  DatasetFormatError,
  defaultRelevanceThreshold,
  listRuns,
  loadDataset,
  passageText,
  readCorpus,
  readQrels,
  readTrecRun,
} from './datasets.js';

// The shared evaluation data lives next to the repository (../shared/data from its root).
const DATA = process.env.EVAL_DATA_DIR ?? fileURLToPath(new URL('../../shared/data', import.meta.url));
const HAS_DATA = existsSync(join(DATA, 'README.md'));
if (!HAS_DATA) console.warn(`datasets.test: skipping real-data tests, no evaluation data at ${DATA}`);

const dir = mkdtempSync(join(tmpdir(), 'eval-datasets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('passageText', () => {
  it('joins title and text with a space, as BEIR does', () => {
    expect(passageText({ title: 'Title', text: 'Body.' })).toBe('Title Body.');
    expect(passageText({ title: '', text: ' Body. ' })).toBe('Body.');
    expect(passageText({ title: 'Only', text: '' })).toBe('Only');
  });

  it('does not repeat a title the text already starts with (Cranfield)', () => {
    expect(passageText({ title: 'wing flow .', text: 'wing flow . the study' })).toBe('wing flow . the study');
  });
});

describe('readers on small files', () => {
  it('read corpus records, with or without title, numeric ids, BOM and CRLF', async () => {
    const path = file(
      'corpus.jsonl',
      '\uFEFF{"_id": 1, "text": "a"}\r\n\r\n{"_id": "x", "title": "T", "text": "b", "metadata": {}}\r\n',
    );
    const docs = [];
    for await (const doc of readCorpus(path)) docs.push(doc);
    expect(docs).toEqual([
      { id: '1', title: '', text: 'a' },
      { id: 'x', title: 'T', text: 'b' },
    ]);
  });

  it('name the file and line of malformed input', async () => {
    const path = file('bad.jsonl', '{"_id": "1", "text": "a"}\n{"_id": "2", "text": 3}\n');
    const read = async () => {
      for await (const _ of readCorpus(path)) void _;
    };
    await expect(read()).rejects.toThrow(DatasetFormatError);
    await expect(read()).rejects.toThrow(`${path}:2: "text" must be a string`);
    const broken = file('broken.jsonl', '{"_id": "1", "text": "a"\n');
    await expect(
      (async () => {
        for await (const _ of readCorpus(broken)) void _;
      })(),
    ).rejects.toThrow(/broken\.jsonl:1: invalid JSON/);
  });

  it('read BEIR and TREC qrels and reject non-integer or repeated judgments', async () => {
    const beir = await readQrels(file('q.tsv', 'query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td1\t-1\n'));
    expect(beir).toEqual(
      new Map([
        [
          'q1',
          new Map([
            ['d1', 2],
            ['d2', 0],
          ]),
        ],
        ['q2', new Map([['d1', -1]])],
      ]),
    );
    const trec = await readQrels(file('q.txt', 'q1 0 d1 1\nq1 0 d2 3\n'));
    expect(trec.get('q1')).toEqual(
      new Map([
        ['d1', 1],
        ['d2', 3],
      ]),
    );
    await expect(readQrels(file('q3.tsv', 'q1\td1\t1.5\n'))).rejects.toThrow(/q3\.tsv:1: judgment must be an integer/);
    await expect(readQrels(file('q4.tsv', 'q1\td1\t1\nq1\td1\t2\n'))).rejects.toThrow(/q4\.tsv:2: duplicate judgment/);
  });

  it('read a TREC run in rank order and reject malformed lines and duplicates', async () => {
    const run = await readTrecRun(file('r.trec', 'q1 Q0 b 2 5.0 t\nq1 Q0 a 1 9.5 t\nq2 Q0 c 1 1 t\n'));
    expect(run.get('q1')).toEqual([
      { id: 'a', rank: 1, score: 9.5 },
      { id: 'b', rank: 2, score: 5 },
    ]);
    await expect(readTrecRun(file('r2.trec', 'q1 Q0 a 1 x t\n'))).rejects.toThrow(
      /r2\.trec:1: score must be a finite number/,
    );
    await expect(readTrecRun(file('r3.trec', 'q1 Q0 a 1\n'))).rejects.toThrow(/r3\.trec:1: expected 6 fields/);
    await expect(readTrecRun(file('r4.trec', 'q1 Q0 a 1 2 t\nq1 Q0 a 2 1 t\n'))).rejects.toThrow(
      /r4\.trec:2: document a appears twice/,
    );
  });

  it('report a missing dataset file', async () => {
    await expect(loadDataset(join(dir, 'nowhere'))).rejects.toThrow(/no corpus file/);
  });

  it('pick the relevance threshold per dataset', () => {
    expect(defaultRelevanceThreshold('trec-dl-2019-passage')).toBe(2);
    expect(defaultRelevanceThreshold('scifact')).toBe(1);
    expect(defaultRelevanceThreshold('cranfield')).toBe(1);
  });
});

describe.skipIf(!HAS_DATA)('readers on the shared data', () => {
  it.each([
    ['scifact', 5183, 300, 300, 0],
    ['cranfield', 1400, 225, 225, 0],
    ['trec-dl-2019-passage', 12529, 43, 43, 5],
    ['trec-dl-2021-passage', 7113, 53, 53, 2],
  ])('%s has the counts its PROVENANCE.md states', async (name, docs, queries, judged, runs) => {
    const dataset = await loadDataset(join(DATA, name));
    expect(dataset.corpus.size).toBe(docs);
    expect(dataset.queries.size).toBe(queries);
    expect(dataset.qrels.size).toBe(judged);
    expect(listRuns(dataset.dir)).toHaveLength(runs);
    const judgments = [...dataset.qrels.values()].reduce((n, m) => n + m.size, 0);
    expect(judgments).toBe(
      { scifact: 339, cranfield: 1837, 'trec-dl-2019-passage': 9260, 'trec-dl-2021-passage': 10828 }[name],
    );
  });

  it('reads every DL19 run with 100 candidates for each of the 43 queries', async () => {
    for (const path of listRuns(join(DATA, 'trec-dl-2019-passage'))) {
      const run = await readTrecRun(path);
      expect(run.size).toBe(43);
      for (const entries of run.values()) {
        expect(entries).toHaveLength(100);
        expect(entries.map((e) => e.rank)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      }
    }
  });
});
