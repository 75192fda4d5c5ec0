// Child process of process-exit.test.ts: loads a model, starts a long call and exits with code 3 while it runs,
// `delay` ms after the call began (by then the worker is inside ONNX Runtime or llama.cpp).
import { CrossEncoder } from '../../../src/index.js';

const [dir = '', delay = '1000', pairCount = '8000'] = process.argv.slice(2);
const model = await CrossEncoder.load(dir, { batchSize: 4 });
const words = 'paris capital france river seine city museum bread cheese wine tower history'.split(' ');
const text = (i: number) => Array.from({ length: 200 }, (_, w) => words[(i * 7 + w) % words.length]).join(' ');
const pairs = Array.from({ length: Number(pairCount) }, (_, i): [string, string] => ['capital of france?', text(i)]);
void model.score(pairs).then(() => process.stdout.write('finished before the exit\n'));
process.stdout.write('scoring\n');
setTimeout(() => process.exit(3), Number(delay));
