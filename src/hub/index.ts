// What the layers above use of the hub; everything else stays inside this folder.
export { DEFAULT_MODEL_ID, validateRepoPath } from './model-id.js';
export { resolveAndOpen } from './repair.js';
export type { HubOptions, ModelFileSpec, ModelStore, ResolvedModel } from './store.js';
export { validateModelId } from './model-id.js';
