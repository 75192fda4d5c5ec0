import {
  CallbackManager,
  type CallbackManagerForRetrieverRun,
  type Callbacks,
} from '@langchain/core/callbacks/manager';
import { AsyncLocalStorageProviderSingleton } from '@langchain/core/singletons';

/**
 * Starts the reranker's child retriever run. Without callbacks handed over, the run joins the runnable it is
 * called from (a `tool()`, a `RunnableLambda`, an agent's node): @langchain/core keeps that run's config in its
 * async context, as a retriever called there finds it. Outside any run, and without tracing, there is no run.
 */
export async function startRun(
  callbacks: Callbacks | undefined,
  query: string,
  metadata: Record<string, unknown>,
): Promise<CallbackManagerForRetrieverRun | undefined> {
  const ambient = callbacks === undefined ? AsyncLocalStorageProviderSingleton.getRunnableConfig() : undefined;
  const manager = CallbackManager.configure(
    callbacks ?? (ambient?.callbacks as Callbacks | undefined),
    undefined,
    ambient?.tags,
    undefined,
    ambient?.metadata,
  );
  return manager?.handleRetrieverStart(
    { lc: 1, type: 'not_implemented', id: ['langchain_cross_encoder', 'CrossEncoderReranker'] },
    query,
    undefined,
    undefined,
    undefined,
    metadata,
    'CrossEncoderReranker',
  );
}
