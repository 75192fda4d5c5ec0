// The peers of bench/decoder-speed.ts that are not ours: transformers.js used by hand on the same ONNX file, and
// node-llama-cpp's ranking context on the same weights in GGUF (tools/gguf_export.py). Each scores one query's
// candidates and says how many prompt tokens it ran. Both load only when asked, so a run without them needs neither.
import { readFile } from 'node:fs/promises';
import type { Token } from 'node-llama-cpp';
import { join } from 'node:path';
import { planBatches } from '../src/tokenize/batches.js';

/** One query's scores as probabilities (sigmoid of yes - no), with the raw logits where the runner has them. */
export interface PeerScores {
  probabilities: number[];
  logits?: number[];
  /** Prompt tokens run, padding excluded. */
  tokens: number;
  /** The runner's own prompt ids, in candidate order. */
  ids: number[][];
}

export interface DecoderPeer {
  name: string;
  /** `rows` are ours's prompt ids for the same pairs, for runners fed those instead of text. */
  score(query: string, passages: readonly string[], rows: readonly { ids: readonly number[] }[]): Promise<PeerScores>;
  dispose(): Promise<void>;
}

export interface PeerConfig {
  dir: string;
  variant: 'fp32' | 'int8';
  threads: number;
  maxLength: number;
  /** Pairs per batch at most, and padded tokens per batch at most, as ours plans its batches. */
  batchSize: number;
  maxBatchTokens: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * transformers.js by hand, as a careful user reproduces sentence-transformers: the model's chat template (read from
 * chat_template.jinja, which transformers.js does not pick up itself) rendered by its Jinja, its tokenizer, the prompt
 * cut at maxLength with the template's fixed tail written back, left padding, and the causal LM's logits at the last
 * position: logit("yes") - logit("no"). Batches follow ours's plan, so only the runtime around the session differs.
 */
export async function openTransformersJsDecoder(config: PeerConfig): Promise<DecoderPeer> {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = '';
  const chatTemplate = await readFile(join(config.dir, 'chat_template.jinja'), 'utf8');
  const answer = JSON.parse(await readFile(join(config.dir, '1_LogitScore', 'config.json'), 'utf8')) as {
    true_token_id: number;
    false_token_id: number;
  };
  const tokenizer = await tf.AutoTokenizer.from_pretrained(config.dir);
  const model = await tf.AutoModelForCausalLM.from_pretrained(config.dir, {
    dtype: config.variant === 'int8' ? 'q8' : 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: config.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' },
  });
  const padId = tokenizer.pad_token_id ?? 0;
  const encode = (query: string, document: string) => {
    const messages = [
      { role: 'query', content: query },
      { role: 'document', content: document },
    ];
    const text = tokenizer.apply_chat_template(messages, { tokenize: false, chat_template: chatTemplate }) as string;
    return tokenizer.encode(text, { add_special_tokens: false });
  };
  // The template's fixed tail: what two renders with different documents end with.
  const a = encode('q', '0');
  const b = encode('q', '1 2 3 4');
  let tailLength = 0;
  while (tailLength < a.length && a[a.length - 1 - tailLength] === b[b.length - 1 - tailLength]) tailLength++;
  const tail = a.slice(a.length - tailLength);

  return {
    name: `transformers.js ${config.variant}`,
    async score(query, passages) {
      const ids = passages.map((passage) => {
        const full = encode(query, passage);
        if (full.length < config.maxLength) return full;
        const kept = full.slice(0, config.maxLength);
        kept.splice(kept.length - tail.length, tail.length, ...tail);
        return kept;
      });
      const logits = new Array<number>(passages.length).fill(0);
      const batches = planBatches(
        ids.map((row) => row.length),
        config.batchSize,
        config.maxBatchTokens,
      );
      for (const batch of batches) {
        const width = Math.max(...batch.map((i) => (ids[i] as number[]).length));
        const inputIds = new BigInt64Array(batch.length * width).fill(BigInt(padId));
        const mask = new BigInt64Array(batch.length * width);
        batch.forEach((i, row) => {
          const tokens = ids[i] as number[];
          const offset = row * width + width - tokens.length;
          tokens.forEach((id, t) => {
            inputIds[offset + t] = BigInt(id);
            mask[offset + t] = 1n;
          });
        });
        const dims = [batch.length, width];
        const output = (await model({
          input_ids: new tf.Tensor('int64', inputIds, dims),
          attention_mask: new tf.Tensor('int64', mask, dims),
        })) as { logits: { data: Float32Array; dims: number[] } };
        const vocabulary = output.logits.dims[2] as number;
        batch.forEach((i, row) => {
          const last = (row * width + width - 1) * vocabulary;
          logits[i] =
            (output.logits.data[last + answer.true_token_id] as number) -
            (output.logits.data[last + answer.false_token_id] as number);
        });
      }
      return {
        logits,
        probabilities: logits.map(sigmoid),
        tokens: ids.reduce((n, row) => n + row.length, 0),
        ids,
      };
    },
    async dispose() {
      await model.dispose();
    },
  };
}

/**
 * node-llama-cpp's ranking context on a GGUF file, with `prompt`:
 * - "ours": ours's prompt ids. The template "{{query}}{{document}}" adds nothing, the query slot gets the ids all of
 *   this query's prompts share and the document slot the rest, so prompts and their truncation are exactly ours and
 *   rankAll's scores compare one to one.
 * - "own": the texts through the GGUF's own "rerank" template, as a user calls it. It tokenizes the template, query
 *   and document apart, applies no NFC, and never truncates: the context is sized for whole DL19 passages
 *   (bench/decoder-gguf-parity.ts shows how its prompts differ from the reference's).
 * rankAll evaluates one pair at a time on one sequence.
 */
export async function openLlamaRanking(
  config: PeerConfig & { gguf: string; label: string; prompt: 'ours' | 'own' },
): Promise<DecoderPeer> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  // CPU only, the prebuilt binary (never a build from source, which needs the network), warnings kept quiet.
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: config.gguf });
  const own = config.prompt === 'own';
  // Sized to fit whole DL19 passages (a longer prompt throws). A larger context costs time per token: on the 0.6B
  // shape, Q8_0 ran 1.01x the floor's prompt tokens/s with 4096 and 1.15x with 1024.
  const contextSize = own ? 1024 : config.maxLength + 1;
  const context = await model.createRankingContext({
    contextSize,
    batchSize: Math.min(contextSize, 1024),
    threads: config.threads,
    ...(own ? {} : { template: '{{query}}{{document}}' as const }),
  });
  return {
    name: `node-llama-cpp ${config.label}${own ? ' (own template)' : ''}`,
    async score(query, passages, rows) {
      if (own) {
        const probabilities = await context.rankAll(query, [...passages]);
        const tokens = passages.reduce((n, passage) => n + context.calculateInputLength(query, passage), 0);
        return { probabilities, tokens, ids: [] };
      }
      const first = rows[0]?.ids ?? [];
      let shared = first.length - 1;
      for (const row of rows)
        for (let k = 0; k < shared; k++)
          if (row.ids[k] !== first[k]) {
            shared = k;
            break;
          }
      const probabilities = await context.rankAll(
        first.slice(0, shared) as Token[],
        rows.map((row) => row.ids.slice(shared) as Token[]),
      );
      return {
        probabilities,
        tokens: rows.reduce((n, row) => n + row.ids.length, 0),
        ids: rows.map((row) => row.ids.slice()),
      };
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
