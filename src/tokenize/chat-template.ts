import { Template } from '@huggingface/jinja';
import { ModelFormatError } from '../errors.js';

/**
 * How messages hand their text to the template: `flat` as a string (`content`), `structured` as a list of typed
 * parts (`content[0].text`). sentence-transformers decides it per model and saves it in `sentence_bert_config.json`.
 */
export type MessageFormat = 'flat' | 'structured';

/** A chat message as the template reads it. */
type Message = { role: string; content: string | { type: 'text'; text: string }[] };

// What sentence-transformers 6 looks for in a template to decide it wants typed parts, and the model types it knows.
const STRUCTURED_PATTERNS = ['content[0]', '.type', "'type'", '"type"', 'item.type', 'message.content['];
const FLAT_MODEL_TYPES = new Set(['apertus', 'deepseek_v3', 'gpt_oss', 'seed_oss']);

/**
 * A model's chat template rendering one (query, document) pair the way sentence-transformers does for a reranker
 * on a language model: the pair becomes two messages with the roles `query` and `document`, an instruction goes
 * first as a `system` message, and the Jinja template is rendered with the tokenizer's special tokens, as
 * transformers' `apply_chat_template` renders it (trailing newline dropped, blocks trimmed).
 */
export class PairChatTemplate {
  readonly #template: Template;
  readonly #format: MessageFormat;
  readonly #context: Record<string, string>;

  /**
   * `source` is the Jinja text; `specialTokens` the tokenizer's named special tokens (`eos_token` and the like),
   * which templates may read. `file` is named in errors.
   */
  constructor(source: string, format: MessageFormat, specialTokens: Record<string, string>, file: string) {
    try {
      this.#template = new Template(source);
    } catch (cause) {
      throw new ModelFormatError(
        `${file}: the chat template could not be parsed (${(cause as Error).message}). Fix or replace the template.`,
        { file, cause },
      );
    }
    this.#format = format;
    this.#context = { ...specialTokens };
  }

  /**
   * The format sentence-transformers gives messages when the model did not save one: `flat` for the model types
   * it knows, else `structured` when the template reads typed parts, else `flat`.
   */
  static inferFormat(source: string, modelType: string | undefined): MessageFormat {
    if (modelType !== undefined && FLAT_MODEL_TYPES.has(modelType)) return 'flat';
    return STRUCTURED_PATTERNS.some((pattern) => source.includes(pattern)) ? 'structured' : 'flat';
  }

  /** The prompt of one pair. An empty or missing instruction leaves the template's own default in place. */
  render(query: string, document: string, instruction: string | undefined): string {
    const messages: Message[] = [];
    if (instruction) messages.push(this.#message('system', instruction));
    messages.push(this.#message('query', query), this.#message('document', document));
    return this.#template.render({ ...this.#context, messages, add_generation_prompt: false });
  }

  #message(role: string, text: string): Message {
    return { role, content: this.#format === 'flat' ? text : [{ type: 'text', text }] };
  }
}
