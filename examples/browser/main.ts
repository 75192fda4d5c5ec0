// The example page's main thread: it starts the search worker and renders what the worker posts (both rankings
// and their timings). No model runs here. What it rendered is also kept on `globalThis.exampleResults`, which the
// browser test reads.
import type { QueryResult, WorkerMessage } from './messages.js';

const results: { ready?: Extract<WorkerMessage, { type: 'ready' }>; queries: QueryResult[]; totalMs?: number } = {
  queries: [],
};
(globalThis as unknown as { exampleResults: typeof results }).exampleResults = results;

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const ms = (n: number) => `${n.toFixed(0)} ms`;

function element(tag: string, text?: string, className?: string): HTMLElement {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

function rankingTable(caption: string, rows: { cells: string[]; relevant: boolean }[], header: string[]): HTMLElement {
  const table = element('table');
  table.append(element('caption', caption));
  const head = element('tr');
  for (const h of ['', '#', ...header]) head.append(element('th', h));
  table.append(head);
  rows.forEach(({ cells, relevant }, i) => {
    const row = element('tr', undefined, relevant ? 'relevant' : undefined);
    row.append(element('td', relevant ? '✔' : ''), element('td', String(i + 1)));
    for (const cell of cells) row.append(element('td', cell));
    table.append(row);
  });
  return table;
}

function renderQuery(result: QueryResult, top: number): void {
  const section = element('section');
  section.append(element('h2', `${result.id}: ${result.text}`));
  const pair = element('div', undefined, 'pair');
  pair.append(
    rankingTable(
      `Vector search: top ${Math.min(top, result.candidates.length)} of ${result.candidates.length} (${ms(result.firstStageMs)})`,
      result.candidates.slice(0, top).map((d) => ({
        cells: [d.cosine.toFixed(4), d.id, d.snippet],
        relevant: d.id === result.relevant,
      })),
      ['cosine', 'note', 'text'],
    ),
    rankingTable(
      `Reranked: those ${result.candidates.length} by the cross-encoder (${ms(result.secondStageMs)})`,
      result.reranked.map((d) => ({
        cells: [(d.score as number).toFixed(4), `#${d.was}`, d.id, d.snippet],
        relevant: d.id === result.relevant,
      })),
      ['score', 'was', 'note', 'text'],
    ),
  );
  section.append(pair);
  $('results').append(section);
}

const worker = new Worker(new URL('./search-worker.js', import.meta.url), { type: 'module' });
worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'status':
      $('status').textContent = message.text;
      break;
    case 'ready':
      results.ready = message;
      $('status').textContent = 'Searching…';
      $('setup').textContent =
        `Embeddings: ${message.embeddings} (loaded in ${ms(message.loadMs.embeddings)}; ${message.documents} notes ` +
        `embedded in ${ms(message.indexMs)}). Reranker: ${message.reranker} (loaded in ${ms(message.loadMs.reranker)}) — ` +
        message.rerankerNote;
      break;
    case 'query':
      results.queries.push(message.result);
      renderQuery(message.result, message.result.reranked.length);
      break;
    case 'done':
      results.totalMs = message.totalMs;
      $('status').textContent = `Done in ${ms(message.totalMs)}, all of it in a Web Worker. ✔ = the note that answers.`;
      document.title = 'done';
      worker.terminate();
      break;
    case 'error':
      $('status').textContent = `Failed: ${message.message}`;
      document.title = 'failed';
      worker.terminate();
      break;
  }
});
worker.addEventListener('error', (event) => {
  $('status').textContent = `The search worker failed to start: ${event.message || 'see the console'}`;
  document.title = 'failed';
});
