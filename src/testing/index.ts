export { FakeScorer, wordOverlapScore, words, type FakeScoreFunction, type FakeScorerOptions } from './fake-scorer.js';
