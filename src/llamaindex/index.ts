// The LlamaIndex.TS entry (`langchain-cross-encoder/llamaindex`): a node postprocessor for query engines.
export { CrossEncoderNodePostprocessor, type CrossEncoderNodePostprocessorOptions } from './node-postprocessor.js';
