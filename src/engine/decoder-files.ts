import type { ResolvedModel } from '../hub/index.js';

/** Files only a reranker on a language model reads; each may be absent. Plain data, so it crosses to a worker. */
export interface DecoderFiles {
  /** `chat_template.jinja`, where transformers 5 saves the template. */
  chatTemplate: string | undefined;
  /** `sentence_bert_config.json`: the message format sentence-transformers chose. */
  sentenceBertConfig: string | undefined;
  /** `1_LogitScore/config.json`: the answer tokens sentence-transformers scores with. */
  logitScoreConfig: string | undefined;
}

/** The optional files of {@link DecoderFiles}, as paths inside a model. */
export const DECODER_FILES = ['chat_template.jinja', 'sentence_bert_config.json', '1_LogitScore/config.json'] as const;

/** The decoder files a resolved model holds. */
export function decoderFiles(resolved: ResolvedModel): DecoderFiles {
  return {
    chatTemplate: resolved.files.get('chat_template.jinja'),
    sentenceBertConfig: resolved.files.get('sentence_bert_config.json'),
    logitScoreConfig: resolved.files.get('1_LogitScore/config.json'),
  };
}
