import { abortError, InvalidArgumentError, ModelFormatError } from '../errors.js';
import { planBatches } from '../tokenize/batches.js';
import { PairChatTemplate, type MessageFormat } from '../tokenize/chat-template.js';
import { DecoderPrompts } from '../tokenize/decoder-prompts.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { platform } from '../platform/current.js';
import type { PairTokenizer } from '../tokenize/tokenizer.js';
import { SINGLE_WINDOW } from '../tokenize/windows.js';
import { checkInstruction, describe } from '../validate.js';
import { activate } from './activation.js';
import { finiteScore, pairResult } from './row-scores.js';
import { parseModelConfig, type ModelConfig } from './config.js';
import { commonPrefix, OnnxDecoderForward, type AnswerTokens, type DecoderForward } from './decoder-forward.js';
import { openDecoderSession } from './decoder-session.js';
import { GgufDecoderForward } from './gguf-forward.js';
import { openPairTokenizer, readJsonObject } from './model-files.js';
import {
  defaultMaxBatchTokens,
  resolveActivation,
  type PairModelInfo,
  type PairModelSpec,
  type PairScoreRequest,
  type PairScores,
} from './pair-model.js';

// A causal graph outputs a score for every word of the vocabulary at every position: this bounds one pass's
// output (batch x tokens x vocabulary floats) so a 150k-word vocabulary does not take gigabytes per batch.
const MAX_OUTPUT_FLOATS = 64 * 1024 * 1024;
// The default maxLength of a reranker on a language model, whatever longer context the model has (the reason is in
// CrossEncoderLoadOptions.maxLength's documentation).
export const DEFAULT_DECODER_MAX_LENGTH = 8192;
// The smallest maxLength taken: the score is read at the last token, which needs at least one token before it.
const SMALLEST_MAX_LENGTH = 2;
// llama.cpp runs one prompt at a time: this many tokens of prompts between two checks for a stop.
const GGUF_BATCH_TOKENS = 1024;

/**
 * Whether a model is a reranker on a language model: a `*ForCausalLM` (scored by its next-token logits), or any
 * model whose tokenizer has a chat template (sentence-transformers renders pairs through it, as it does for the
 * single-logit `*ForSequenceClassification` conversions of those rerankers).
 */
export async function isDecoderReranker(spec: PairModelSpec): Promise<boolean> {
  const config = await readJsonObject(spec.configPath);
  if (causalArchitecture(config)) return true;
  return (await readChatTemplate(spec)) !== undefined;
}

/**
 * A reranker on a language model (Qwen3-Reranker and its kin), scored as sentence-transformers 6 scores it: each
 * pair rendered by the model's chat template with the instruction as a system message, left-padded, and scored at
 * the last position as logit("yes") - logit("no") (its `LogitScore`), or by the one logit of a
 * sequence-classification conversion. The activation is then the model's (sigmoid).
 */
export class DecoderModel {
  readonly info: PairModelInfo;
  readonly #forward: DecoderForward;
  readonly #prompts: DecoderPrompts;
  readonly #instruction: string | undefined;
  readonly #config: ModelConfig;

  private constructor(fields: {
    info: PairModelInfo;
    forward: DecoderForward;
    prompts: DecoderPrompts;
    instruction: string | undefined;
    config: ModelConfig;
  }) {
    this.info = fields.info;
    this.#forward = fields.forward;
    this.#prompts = fields.prompts;
    this.#instruction = fields.instruction;
    this.#config = fields.config;
  }

  static async open(spec: PairModelSpec): Promise<DecoderModel> {
    const rawConfig = await readJsonObject(spec.configPath);
    const stConfig =
      spec.sentenceTransformersConfigPath === undefined
        ? {}
        : await readJsonObject(spec.sentenceTransformersConfigPath);
    const config = parseModelConfig(rawConfig, spec.configPath, stConfig);
    const tokenizerConfig =
      spec.tokenizerConfigPath === undefined ? {} : await readJsonObject(spec.tokenizerConfigPath);
    const tokenizer = await openPairTokenizer({
      tokenizerJson: spec.tokenizerJsonPath,
      tokenizerConfig: spec.tokenizerConfigPath,
    });
    const source = await readChatTemplate(spec);
    if (source === undefined) {
      throw new ModelFormatError(
        `${spec.configPath}: this language model has no chat template (chat_template.jinja or tokenizer_config.json's ` +
          '"chat_template") to turn a query and a document into its prompt. Add the template the model was trained with.',
        { file: spec.configPath },
      );
    }
    const format = (await savedMessageFormat(spec)) ?? PairChatTemplate.inferFormat(source.text, config.modelType);
    const template = new PairChatTemplate(source.text, format, specialTokens(tokenizerConfig), source.file);
    const instruction = checkInstruction(spec.instruction, 'options.instruction');
    const prompts = new DecoderPrompts(tokenizer, template);
    const maxLength = resolveDecoderMaxLength(spec.maxLength, tokenizer, config);
    const forward =
      spec.ggufPath === undefined
        ? await openOnnxForward(spec, rawConfig, tokenizer, { prompts, instruction, maxLength })
        : await GgufDecoderForward.open(spec.ggufPath, {
            threads: spec.session.threads,
            maxLength,
            probe: (await prompts.encodePair('query', 'document', instruction, maxLength)).ids,
          });
    try {
      const vocabulary = typeof rawConfig['vocab_size'] === 'number' ? rawConfig['vocab_size'] : 0;
      const defaultTokens = spec.ggufPath === undefined ? defaultMaxBatchTokens(config) : GGUF_BATCH_TOKENS;
      const maxBatchTokens =
        spec.maxBatchTokens ??
        (forward.writesVocabulary && vocabulary > 0
          ? Math.max(1, Math.min(defaultTokens, Math.floor(MAX_OUTPUT_FLOATS / vocabulary)))
          : defaultTokens);
      const info: PairModelInfo = {
        inputs: forward.inputs,
        numLabels: 1,
        maxLength,
        maxBatchTokens,
        activation: resolveActivation(spec.activation, 1, config, 'options.activation'),
      };
      return new DecoderModel({ info, forward, prompts, instruction, config });
    } catch (error) {
      await forward.release();
      throw error;
    }
  }

  /** The prompt ids of one pair with the model's instruction, truncated as the reference truncates it. */
  encode(query: string, passage: string): Promise<AssembledPair> {
    return this.#prompts.encodePair(query, passage, this.#instruction, this.info.maxLength);
  }

  /** Scores pairs in length-sorted batches; the result is in the caller's order. A split document scores as its best window. */
  async score(request: PairScoreRequest): Promise<PairScores> {
    const activation =
      request.activation === undefined
        ? this.info.activation
        : resolveActivation(request.activation, 1, this.#config, 'options.activation');
    const instruction =
      request.instruction === undefined
        ? this.#instruction
        : checkInstruction(request.instruction, 'options.instruction');
    const chunks = request.chunks ?? SINGLE_WINDOW;
    const tokenizeStart = performance.now();
    const encoded = await this.#prompts.encodeWindows(request.pairs, instruction, this.info.maxLength, chunks);
    const tokenizeMs = performance.now() - tokenizeStart;
    const { rows, owners } = encoded;
    const rowScores = new Float64Array(rows.length);
    let inferenceMs = 0;
    let paddedTokens = 0;
    for (const { members, prefix } of this.#groups(request.pairs, rows, owners)) {
      // Planned on whole prompts: each row of a batch holds its own copy of the shared prefix's cache.
      const batches = planBatches(
        members.map((row) => (rows[row] as AssembledPair).ids.length),
        request.batchSize,
        this.info.maxBatchTokens,
      ).map((batch) => batch.map((k) => members[k] as number));
      for (const batch of batches) {
        if (request.shouldStop?.()) throw abortError('Scoring');
        const started = performance.now();
        const { scores, tokens } = await this.#forward.score(rows, batch, prefix);
        inferenceMs += performance.now() - started;
        paddedTokens += tokens;
        batch.forEach((rowIndex, row) => {
          const score = activate(scores.subarray(row, row + 1), 0, activation);
          rowScores[rowIndex] = finiteScore(score, owners[rowIndex] as number);
        });
      }
    }
    return pairResult(rowScores, encoded, request.pairs.length, chunks.maxChunks > 1, {
      paddedTokens,
      tokenizeMs,
      inferenceMs,
    });
  }

  release(): Promise<void> {
    return this.#forward.release();
  }

  /**
   * Rows grouped by query, each with the ids all its rows start with (the system text, instruction and query), which
   * a forward that shares prefixes computes once. One group of all rows, with no prefix, where it does not.
   */
  #groups(pairs: PairScoreRequest['pairs'], rows: readonly AssembledPair[], owners: readonly number[]) {
    const all = rows.map((_, i) => i);
    if (!this.#forward.sharesPrefix) return [{ members: all, prefix: [] as number[] }];
    const byQuery = new Map<string, number[]>();
    for (const row of all) {
      const query = (pairs[owners[row] as number] as readonly [string, string])[0];
      const members = byQuery.get(query);
      if (members === undefined) byQuery.set(query, [row]);
      else members.push(row);
    }
    return [...byQuery.values()].map((members) => ({
      members,
      prefix: members.length < 2 ? [] : commonPrefix(members.map((row) => (rows[row] as AssembledPair).ids)),
    }));
  }
}

/** The exported graph, with the answer tokens a causal one is scored with. */
async function openOnnxForward(
  spec: PairModelSpec,
  rawConfig: Record<string, unknown>,
  tokenizer: PairTokenizer,
  probe: { prompts: DecoderPrompts; instruction: string | undefined; maxLength: number },
): Promise<OnnxDecoderForward> {
  const { prompts, instruction, maxLength } = probe;
  // Known before the graph opens, so a causal graph is cut to their logits as it loads.
  const answer = await answerTokens(spec, tokenizer).catch(() => undefined);
  const graph = await openDecoderSession(
    { onnx: spec.onnxPath, externalData: spec.onnxDataPath },
    spec.session,
    cacheShape(rawConfig),
    answer,
  );
  const forward = new OnnxDecoderForward(graph, tokenizer.padId, spec.onnxPath);
  try {
    if (forward.readsAnswerTokens) forward.useAnswer(answer ?? (await answerTokens(spec, tokenizer)));
    if (forward.sharesPrefix) {
      const probe = await Promise.all(
        ['document', 'a longer document, of a few more words than the first'].map((document) =>
          prompts.encodePair('query', document, instruction, maxLength),
        ),
      );
      await forward.checkSharing(probe);
    }
    return forward;
  } catch (error) {
    await forward.release();
    throw error;
  }
}

function causalArchitecture(config: Record<string, unknown>): boolean {
  const architectures = config['architectures'];
  return (
    Array.isArray(architectures) && typeof architectures[0] === 'string' && architectures[0].endsWith('ForCausalLM')
  );
}

/** `chat_template.jinja` first (transformers 5 saves it there), then `tokenizer_config.json`'s field. */
async function readChatTemplate(spec: PairModelSpec): Promise<{ text: string; file: string } | undefined> {
  const jinja = spec.decoder?.chatTemplate;
  if (jinja !== undefined) return { text: await platform.readText(jinja), file: jinja };
  if (spec.tokenizerConfigPath === undefined) return undefined;
  const declared = (await readJsonObject(spec.tokenizerConfigPath))['chat_template'];
  if (typeof declared === 'string') return { text: declared, file: spec.tokenizerConfigPath };
  // Several named templates: the one transformers picks when none is named.
  if (Array.isArray(declared)) {
    const named = declared.find((t) => (t as { name?: unknown })?.name === 'default') as
      { template?: unknown } | undefined;
    if (typeof named?.template === 'string') return { text: named.template, file: spec.tokenizerConfigPath };
  }
  return undefined;
}

async function savedMessageFormat(spec: PairModelSpec): Promise<MessageFormat | undefined> {
  const path = spec.decoder?.sentenceBertConfig;
  if (path === undefined) return undefined;
  const modality = (await readJsonObject(path))['modality_config'] as Record<string, unknown> | undefined;
  const format = (modality?.['message'] as Record<string, unknown> | undefined)?.['format'];
  return format === 'flat' || format === 'structured' ? format : undefined;
}

/** The tokens sentence-transformers scores with: saved with its `LogitScore`, else "yes" and "no" of the vocabulary. */
async function answerTokens(spec: PairModelSpec, tokenizer: PairTokenizer): Promise<AnswerTokens> {
  const path = spec.decoder?.logitScoreConfig;
  if (path !== undefined) {
    const saved = await readJsonObject(path);
    const yes = saved['true_token_id'];
    const no = saved['false_token_id'];
    if (typeof yes === 'number') return { yes, no: typeof no === 'number' ? no : undefined };
  }
  const yes = tokenizer.tokenId('yes');
  const no = tokenizer.tokenId('no');
  if (yes === undefined || no === undefined) {
    throw new ModelFormatError(
      `${spec.tokenizerJsonPath} has no single "yes" and "no" tokens to score with, and the model saved no ` +
        'LogitScore config (1_LogitScore/config.json) naming other ones. Save the model with sentence-transformers.',
      { file: spec.tokenizerJsonPath },
    );
  }
  return { yes, no };
}

/** The named special tokens a template may read (`eos_token` and the like), as transformers hands them over. */
function specialTokens(tokenizerConfig: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
    const value = tokenizerConfig[name];
    const text = typeof value === 'string' ? value : (value as { content?: unknown } | null | undefined)?.content;
    if (typeof text === 'string') out[name] = text;
  }
  return out;
}

function cacheShape(config: Record<string, unknown>): { heads: number | undefined; headDim: number | undefined } {
  const number = (key: string) => (typeof config[key] === 'number' ? (config[key] as number) : undefined);
  const heads = number('num_key_value_heads') ?? number('num_attention_heads');
  const attentionHeads = number('num_attention_heads');
  const hidden = number('hidden_size');
  const headDim = number('head_dim') ?? (hidden && attentionHeads ? hidden / attentionHeads : undefined);
  return { heads, headDim };
}

function resolveDecoderMaxLength(requested: number | undefined, tokenizer: PairTokenizer, config: ModelConfig): number {
  const limits = [tokenizer.settings.modelMaxLength, config.maxPositions].filter((n): n is number => n !== undefined);
  const longest = limits.length > 0 ? Math.min(...limits) : 512;
  if (requested === undefined) return Math.min(longest, DEFAULT_DECODER_MAX_LENGTH);
  if (!Number.isInteger(requested) || requested < SMALLEST_MAX_LENGTH) {
    throw new InvalidArgumentError(
      'options.maxLength',
      `expected an integer of at least ${SMALLEST_MAX_LENGTH} tokens, got ${describe(requested)}.`,
    );
  }
  return Math.min(requested, longest);
}
