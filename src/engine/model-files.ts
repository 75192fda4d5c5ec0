import { CrossEncoderError, ModelNotFoundError } from '../errors.js';
import { platform } from '../platform/current.js';
import { PairTokenizer, parseJsonObject } from '../tokenize/tokenizer.js';

/** Reads a JSON file of a model that must hold an object; names the file in every failure. */
export async function readJsonObject(location: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await platform.readText(location);
  } catch (cause) {
    // The web store's download and offline errors already say what to do.
    if (CrossEncoderError.isInstance(cause)) throw cause;
    throw new ModelNotFoundError(`${location} could not be read: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
  return parseJsonObject(text, location);
}

/** Where a tokenizer's files are; `tokenizerConfig` (`tokenizer_config.json`) may be absent. */
export interface TokenizerFiles {
  tokenizerJson: string;
  tokenizerConfig?: string | undefined;
}

/** A model's pair tokenizer on this platform's binding, from its `tokenizer.json` and `tokenizer_config.json`. */
export async function openPairTokenizer(
  files: TokenizerFiles,
  options: { fastPath?: boolean } = {},
): Promise<PairTokenizer> {
  let text: string;
  try {
    text = await platform.readText(files.tokenizerJson);
  } catch (cause) {
    if (CrossEncoderError.isInstance(cause)) throw cause;
    throw new ModelNotFoundError(`${files.tokenizerJson} could not be read: ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
  }
  const config = files.tokenizerConfig === undefined ? {} : await readJsonObject(files.tokenizerConfig);
  return PairTokenizer.load(platform.loadTokenizer, text, config, files.tokenizerJson, options);
}
