// Counters and histograms for `/metrics` in the Prometheus text format, kept by hand: a few numbers do not need
// a client library.

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.#bounds.length; i++)
      if (value <= (this.#bounds[i] as number)) this.#counts[i] = (this.#counts[i] as number) + 1;
  }

  render(name: string, labels = ''): string[] {
    const sep = labels === '' ? '' : `${labels},`;
    const lines = this.#bounds.map((bound, i) => `${name}_bucket{${sep}le="${bound}"} ${this.#counts[i]}`);
    lines.push(`${name}_bucket{${sep}le="+Inf"} ${this.#count}`);
    const plain = labels === '' ? '' : `{${labels}}`;
    lines.push(`${name}_sum${plain} ${this.#sum}`, `${name}_count${plain} ${this.#count}`);
    return lines;
  }
}

/** What the server counts. */
export class ServerMetrics {
  readonly #requests = new Map<string, number>();
  #pairs = 0;
  readonly #latency = new Histogram(LATENCY_BUCKETS_S);
  readonly #batchPairs = new Histogram(BATCH_BUCKETS);
  readonly #batchRequests = new Histogram(BATCH_BUCKETS);

  /** One answered request: its route and status. */
  request(route: string, status: number, seconds: number): void {
    const key = `route="${route}",status="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    if (status < 400) this.#latency.observe(seconds);
  }

  /** One call into the engine: how many requests it merged and how many pairs it scored. */
  batch(requests: number, pairs: number): void {
    this.#pairs += pairs;
    this.#batchRequests.observe(requests);
    this.#batchPairs.observe(pairs);
  }

  render(queue: { depth: number; inFlight: number }): string {
    const lines = [
      '# HELP lce_requests_total Requests answered, by route and HTTP status.',
      '# TYPE lce_requests_total counter',
      ...[...this.#requests].map(([labels, n]) => `lce_requests_total{${labels}} ${n}`),
      '# HELP lce_pairs_total (query, text) pairs scored.',
      '# TYPE lce_pairs_total counter',
      `lce_pairs_total ${this.#pairs}`,
      '# HELP lce_request_duration_seconds Time from a rerank request read to its answer, successful ones.',
      '# TYPE lce_request_duration_seconds histogram',
      ...this.#latency.render('lce_request_duration_seconds'),
      '# HELP lce_batch_pairs Pairs per engine call.',
      '# TYPE lce_batch_pairs histogram',
      ...this.#batchPairs.render('lce_batch_pairs'),
      '# HELP lce_batch_requests Requests merged into one engine call.',
      '# TYPE lce_batch_requests histogram',
      ...this.#batchRequests.render('lce_batch_requests'),
      '# HELP lce_queue_depth Requests waiting for the engine.',
      '# TYPE lce_queue_depth gauge',
      `lce_queue_depth ${queue.depth}`,
      '# HELP lce_requests_in_flight Rerank requests being read, queued or scored.',
      '# TYPE lce_requests_in_flight gauge',
      `lce_requests_in_flight ${queue.inFlight}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}
