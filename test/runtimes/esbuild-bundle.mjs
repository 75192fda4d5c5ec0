// An esbuild bundle of a small Node app on the package's main entry, laid out the way the bundling guide
// (docs/runtimes-and-bundlers.md) tells users to: the two native addons (onnxruntime-node, tokenizers) stay external
// and are installed beside the bundle; the package's worker script is a second entry point, so worker.js sits next
// to the app as the engine expects.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';

const NATIVE = ['onnxruntime-node', 'tokenizers'];

/**
 * Bundles `app` and the worker into `outdir`; resolves with the app's path, or throws naming what went wrong.
 * `entry` is the package file the app must reach (the main entry unless said).
 * @param {{ root: string, app: string, outdir: string, entry?: string }} where
 */
export async function bundleApp({ root, app, outdir, entry = 'dist/index.js' }) {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { app, worker: path.join(root, 'dist/worker.js') },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: NATIVE,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  const leaked = inputs.filter((input) => NATIVE.some((name) => input.includes(`node_modules/${name}/`)));
  if (leaked.length > 0) throw new Error(`the bundle holds native packages' files: ${leaked.join(', ')}`);
  if (!inputs.some((input) => input.endsWith(entry))) {
    throw new Error(`the bundle does not hold the package itself (${entry})`);
  }
  return path.join(outdir, 'app.js');
}
