import { ModelFormatError } from '../errors.js';
import type { FailedFileVerdict, HubOptions, ModelFileSpec, ModelStore, ResolvedModel } from './store.js';

/**
 * Resolves a model's files from `store` and opens them with `open`. A cached hub file that fails to parse is checked against
 * what was downloaded; a damaged copy is removed and downloaded once more, so a corrupt cache heals itself instead
 * of failing every load. `onnxFile` names the graph, whose external weights are checked with it.
 */
export async function resolveAndOpen<T>(
  store: ModelStore,
  model: string,
  files: readonly ModelFileSpec[],
  onnxFile: string,
  options: HubOptions,
  open: (resolved: ResolvedModel) => Promise<T>,
): Promise<{ resolved: ResolvedModel; opened: T }> {
  let resolved = await store.resolve(model, files, options);
  try {
    return { resolved, opened: await open(resolved) };
  } catch (error) {
    const verdict = await inspectFailure(store, error, resolved, onnxFile, options);
    if (verdict !== 'removed') throw explainCachedFailure(error, verdict);
    resolved = await store.resolve(model, files, options);
    return { resolved, opened: await open(resolved) };
  }
}

/** Checks the cached copies behind a load failure: the file it names, and an ONNX file's external weights. */
async function inspectFailure(
  store: ModelStore,
  error: unknown,
  resolved: ResolvedModel,
  onnxFile: string,
  options: HubOptions,
): Promise<FailedFileVerdict> {
  if (!(error instanceof ModelFormatError) || error.file === undefined) return 'not-cached';
  const suspects = [error.file];
  const weights = resolved.files.get(`${onnxFile}_data`);
  if (error.file === resolved.files.get(onnxFile) && weights !== undefined) suspects.push(weights);
  const verdicts: FailedFileVerdict[] = [];
  for (const file of suspects) verdicts.push(await store.inspectFailed(resolved, file, options));
  if (verdicts.includes('removed')) return 'removed';
  if (verdicts.includes('unverified')) return 'unverified';
  return verdicts.every((v) => v === 'as-served') ? 'as-served' : 'not-cached';
}

/** Adds what the cache check learnt to the message of a file that failed to parse. */
function explainCachedFailure(error: unknown, verdict: FailedFileVerdict): unknown {
  if (!(error instanceof ModelFormatError) || error.file === undefined) return error;
  if (verdict === 'as-served') {
    return new ModelFormatError(
      `${error.message} (The cached copy is exactly what the hub served, so downloading it again will not help.)`,
      { file: error.file, cause: error },
    );
  }
  if (verdict === 'unverified') {
    return new ModelFormatError(
      `${error.message} (This is a cached download that could not be checked offline: delete ${error.file} and ` +
        'load once online to download it again.)',
      { file: error.file, cause: error },
    );
  }
  return error;
}
