import type { ExitGate } from './exit-gate.js';
import type { WireError } from './wire-error.js';
import type { Activation, TextPair } from '../types.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import type { ChunkSettings } from '../tokenize/windows.js';
import type { PairModelInfo, PairModelSpec, PairScores } from './pair-model.js';

/** What the scoring worker is started with. */
export interface WorkerStart {
  spec: PairModelSpec;
  /** Linux nice value for the worker and the ONNX Runtime threads it starts; 0 leaves the priority alone. */
  nice: number;
  /** Shared with the thread that started it, so an exit waits for the worker to leave the model. */
  gate?: ExitGate;
}

/** Messages the calling thread sends to the scoring worker. */
export type ToWorker =
  | {
      type: 'score';
      id: number;
      pairs: readonly TextPair[];
      batchSize: number;
      activation: Activation | undefined;
      chunks: ChunkSettings;
      instruction?: string | undefined;
    }
  | { type: 'encode'; id: number; query: string; passage: string }
  | { type: 'cancel'; id: number }
  | { type: 'release' };

/** Messages the scoring worker sends back. */
export type FromWorker =
  | { type: 'ready'; info: PairModelInfo }
  | { type: 'failed'; error: WireError }
  | { type: 'scores'; id: number; result: PairScores }
  | { type: 'encoded'; id: number; pair: AssembledPair }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'released' };
