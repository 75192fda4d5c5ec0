import type { Activation } from '../types.js';

/** The concrete function applied to a row of logits to get one score. */
export type ResolvedActivation = Exclude<Activation, 'auto'>;

function sigmoid(x: number): number {
  // Split by sign so large magnitudes neither overflow nor lose precision.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * One score from one row of logits. `column` is the relevance column: 0 for a single-logit model, 1 for a
 * two-class (irrelevant, relevant) model. Softmax uses the whole row; sigmoid and none use the column alone.
 */
export function activate(row: ArrayLike<number>, column: number, activation: ResolvedActivation): number {
  const logit = row[column] as number;
  switch (activation) {
    case 'none':
      return logit;
    case 'sigmoid':
      return sigmoid(logit);
    case 'softmax': {
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < row.length; i++) max = Math.max(max, row[i] as number);
      let sum = 0;
      for (let i = 0; i < row.length; i++) sum += Math.exp((row[i] as number) - max);
      return Math.exp(logit - max) / sum;
    }
  }
}
