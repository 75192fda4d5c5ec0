import { MissingDependencyError } from '../errors.js';

/** Imports a binding on first use; a missing one is named, with what to do, instead of a bare module error. */
export async function importBinding<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    throw new MissingDependencyError(
      name,
      `${name} could not be loaded (${(cause as Error)?.message ?? cause}). The local engine needs it: install it ` +
        `with \`npm i ${name}\` beside this package, or score over a rerank server with RemoteScorer ` +
        '(langchain-cross-encoder/remote needs no binding).',
      { cause },
    );
  }
}
