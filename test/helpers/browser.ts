// A real browser for the tests and benchmarks of the browser build: the page and its scoring worker are bundled from
// source with esbuild (the browser platform swapped in, as tsup.config.ts does for dist/web.js), served from
// 127.0.0.1 with the models and ONNX Runtime Web's WebAssembly files, and opened in headless Chromium from npm
// (@sparticuz/chromium with puppeteer-core), offline.
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Browser, Page } from 'puppeteer-core';
import { MODELS_DIR, REPO_ROOT } from './models.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.onnx_data': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

/** The browser platform wherever the source imports the current one, as the package's browser build has it. */
export const webPlatformPlugin: Plugin = {
  name: 'web-platform',
  setup(b) {
    const web = join(REPO_ROOT, 'src', 'platform', 'current.web.ts');
    b.onResolve({ filter: /platform\/current\.js$/ }, () => ({ path: web }));
  },
};

/** esbuild settings for a browser bundle of the source: ES modules, minified, the browser platform swapped in. */
export const BROWSER_BUILD = {
  bundle: true,
  format: 'esm' as const,
  platform: 'browser' as const,
  target: 'es2022',
  minify: true,
  logLevel: 'error' as const,
  plugins: [webPlatformPlugin],
  // @mlc-ai/web-tokenizers is a UMD file that mentions Node modules on a path browsers never take.
  external: ['url', 'module', 'fs', 'path', 'crypto'],
  define: { 'process.env.NODE_ENV': '"production"' },
};

/** Bundles a page script and the scoring worker into `outDir` (`page.js`, `web-worker.js`) with ORT's WASM beside. */
export async function bundlePage(pageEntry: string, outDir: string): Promise<{ jsBytes: number; wasmBytes: number }> {
  const common = BROWSER_BUILD;
  await build({ ...common, entryPoints: { page: pageEntry }, outdir: outDir });
  await build({
    ...common,
    entryPoints: { 'web-worker': join(REPO_ROOT, 'src', 'engine', 'worker.ts') },
    outdir: outDir,
  });
  const wasmBytes = await copyOrtWasm(outDir);
  const jsBytes = (await stat(join(outDir, 'page.js'))).size + (await stat(join(outDir, 'web-worker.js'))).size;
  return { jsBytes, wasmBytes };
}

/**
 * Copies ONNX Runtime Web's WebAssembly files (and their loader scripts) into `outDir`, where a bundle that holds
 * ONNX Runtime looks for them by default; returns the size of the one a page loads.
 */
export async function copyOrtWasm(outDir: string): Promise<number> {
  const ortDist = join(REPO_ROOT, 'node_modules', 'onnxruntime-web', 'dist');
  const { copyFile, readdir } = await import('node:fs/promises');
  let wasmBytes = 0;
  for (const file of await readdir(ortDist)) {
    if (!file.endsWith('.wasm') && !/^ort-wasm.*\.mjs$/.test(file)) continue;
    await copyFile(join(ortDist, file), join(outDir, file));
    if (file === 'ort-wasm-simd-threaded.jsep.wasm') wasmBytes += (await stat(join(outDir, file))).size;
  }
  return wasmBytes;
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
  /** Paths requested, in order (for checks on what the page fetched). */
  requests: string[];
}

/**
 * Serves `mounts` (URL prefix → folder) on 127.0.0.1, on `port` or a free one. `isolated` sends the headers that make a page cross-origin
 * isolated, which WebAssembly threads need.
 */
export async function serveStatic(
  mounts: Record<string, string>,
  { isolated = false, port: wanted = 0 }: { isolated?: boolean; port?: number | undefined } = {},
): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const prefix = Object.keys(mounts)
      .sort((a, b) => b.length - a.length)
      .find((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`));
    const root = prefix === undefined ? undefined : resolve(mounts[prefix] as string);
    const file = root === undefined ? undefined : normalize(join(root, path.slice((prefix as string).length)));
    const info =
      file === undefined || !(file === root || file.startsWith(root + sep))
        ? undefined
        : await stat(file).catch(() => undefined);
    if (file === undefined || info === undefined || !info.isFile()) {
      response.writeHead(404).end('not found');
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-store',
    };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'same-origin';
    }
    response.writeHead(200, headers);
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((done, fail) => server.once('error', fail).listen(wanted, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

// Chromium's own connections are refused by a closed network, many at a time: these flags keep it quiet. It runs
// as root here, hence no sandbox; a fresh profile each time, so no Cache API entry survives between runs.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-zygote',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Why the browser cannot start here, or `undefined` when it can; the reason is printed so a skip is never silent. */
export async function browserUnavailable(): Promise<string | undefined> {
  try {
    await import('puppeteer-core');
    const chromium = (await import('@sparticuz/chromium')).default;
    const path = await chromium.executablePath();
    if (!existsSync(path)) throw new Error(`${path} was not unpacked`);
    return undefined;
  } catch (error) {
    const reason = `skipped: headless Chromium (@sparticuz/chromium with puppeteer-core) cannot start here: ${(error as Error).message}`;
    console.warn(reason);
    return reason;
  }
}

/** Headless Chromium with a fresh profile; close it with `browser.close()`. */
export async function launchBrowser(): Promise<Browser> {
  const chromium = (await import('@sparticuz/chromium')).default;
  const puppeteer = (await import('puppeteer-core')).default;
  const profile = await mkdtemp(join(tmpdir(), 'lce-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: await chromium.executablePath(),
    headless: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
  });
  // Chromium may still be flushing its profile when the connection drops; retry, and a leftover temp folder is no failure.
  browser.once('disconnected', () => {
    rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch(() => undefined);
  });
  return browser;
}

/** A page of the bundle served at `url`, with its console errors and uncaught exceptions collected. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors };
}

/** The folders a test page is served from: the bundle, and the project's models at /models/. */
export function pageMounts(bundleDir: string): Record<string, string> {
  return { '/app': bundleDir, '/models': MODELS_DIR };
}

/** A fresh folder for a bundle. */
export function bundleDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `lce-${name}-`));
}
