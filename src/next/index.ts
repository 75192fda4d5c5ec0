// `langchain-cross-encoder/next`: the Next.js config a route on the Node entry needs, for `next build` with Turbopack
// (the default) or webpack and `output: 'standalone'`. Next.js traces a server's files from its imports, and for
// this package's two native bindings that tracing is wrong both ways: it misses the shared library onnxruntime-node's
// binding loads at run time (libonnxruntime.so.1 beside onnxruntime_binding.node: the route then fails with
// MissingDependencyError), and it takes every platform's binaries of onnxruntime-node and `tokenizers` (about
// 290 MB, over the 250 MB function limit of Vercel, Netlify and AWS Lambda). Runs in next.config at build time only.
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The part of Next.js's config this helper reads and writes (the rest passes through untouched). */
export interface NextConfigLike {
  /** Packages Next.js leaves to Node's own `require` on the server; ours and the native bindings are added. */
  serverExternalPackages?: string[];
  /** Turbopack's settings; the browser tokenizer's Node-only imports are aliased to an empty module. */
  turbopack?: {
    /** Module names Turbopack replaces with others. */
    resolveAlias?: Record<string, unknown>;
    [key: string]: unknown;
  };
  /** webpack's config function; the caller's own runs first. */
  webpack?: ((config: WebpackConfigLike, context: { isServer: boolean }) => WebpackConfigLike) | null;
  /** Files traced into each route's output beside its imports; the target's ONNX Runtime libraries are added. */
  outputFileTracingIncludes?: Record<string, string[]>;
  /** Files kept out of each route's output; other platforms' binaries and GPU libraries are added. */
  outputFileTracingExcludes?: Record<string, string[]>;
  [key: string]: unknown;
}

/** The part of webpack's config this helper writes. */
export interface WebpackConfigLike {
  /** How webpack finds modules. */
  resolve?: {
    /** Modules replaced where they cannot be resolved (client builds get an empty one for Node's). */
    fallback?: Record<string, unknown>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Where the traced server will run. */
export interface WithCrossEncoderOptions {
  /** The server's operating system. Default: the building machine's (`process.platform`); Vercel and AWS build on Linux. */
  platform?: 'linux' | 'darwin' | 'win32';
  /** The server's CPU. Default: the building machine's (`process.arch`). */
  arch?: 'x64' | 'arm64';
  /**
   * Keep ONNX Runtime's CUDA and TensorRT provider libraries, for a GPU server (they exist only where
   * onnxruntime-node's install script ran). Default: false.
   */
  gpu?: boolean;
  /** The app's folder, which the trace globs are relative to. Default: `process.cwd()`, where `next build` runs. */
  projectDir?: string;
}

// Packages the server requires from node_modules instead of bundling: native addons, and this package, which starts
// its scoring worker from a file beside its own.
const EXTERNAL = ['langchain-cross-encoder', 'onnxruntime-node', 'onnxruntime-common', 'tokenizers'];
const ONNX_PLATFORMS = { linux: ['x64', 'arm64'], darwin: ['arm64'], win32: ['x64', 'arm64'] } as const;
// The tokenizers binaries that may run on each target: glibc and musl (Alpine) builds alike on Linux.
const TOKENIZER_BINARIES = {
  linux: { x64: ['linux-x64-gnu', 'linux-x64-musl'], arm64: ['linux-arm64-gnu', 'linux-arm64-musl'] },
  darwin: { x64: ['darwin-x64', 'darwin-universal'], arm64: ['darwin-arm64', 'darwin-universal'] },
  win32: { x64: ['win32-x64-msvc'], arm64: ['win32-arm64-msvc'] },
} as const;
// Every binary `tokenizers` ships in its one package (napi-rs targets).
const TOKENIZER_TAGS = [
  ...new Set(Object.values(TOKENIZER_BINARIES).flatMap((byArch) => Object.values(byArch).flat())),
  ...['android-arm-eabi', 'android-arm64', 'linux-arm-gnueabihf', 'win32-ia32-msvc'],
];
// Node modules that @mlc-ai/web-tokenizers (the /web build's tokenizer) imports on a path browsers never take.
const BROWSER_EMPTY = ['module', 'url', 'fs', 'path'];
// The config keys the helper returns.
const WRITTEN = [
  'serverExternalPackages',
  'outputFileTracingIncludes',
  'outputFileTracingExcludes',
  'turbopack',
  'webpack',
] as const;
// Every route: a route handler, a server action, a page rendered on the server.
const ALL_ROUTES = '/**';

/**
 * Returns `config` with what a Next.js server on this package needs: the package and its bindings kept external, the
 * native libraries of the target platform traced in, every other platform's binaries and the GPU libraries traced
 * out. The caller's own entries are kept and come first; `config` is not changed.
 *
 * ```js
 * // next.config.mjs
 * import { withCrossEncoder } from 'langchain-cross-encoder/next';
 * export default withCrossEncoder({
 *   output: 'standalone',
 *   outputFileTracingIncludes: { '/api/rerank': ['./models/ms-marco-MiniLM-L6-v2/**'] },
 * });
 * ```
 */
export function withCrossEncoder<T extends NextConfigLike>(
  config: T = {} as T,
  options: WithCrossEncoderOptions = {},
): Omit<T, 'webpack' | 'turbopack'> & Required<Pick<NextConfigLike, (typeof WRITTEN)[number]>> {
  const platform = options.platform ?? (process.platform as 'linux');
  const arch = options.arch ?? (process.arch as 'x64');
  const projectDir = options.projectDir ?? process.cwd();
  const onnx = packageDir('onnxruntime-node', projectDir);
  const tokenizers = packageDir('tokenizers', projectDir);

  const includes: string[] = [];
  const excludes: string[] = [];
  if (onnx !== undefined) {
    const bin = `${globPath(relative(projectDir, onnx))}/bin/napi-v6`;
    // Loaded by the binding through the dynamic linker, which no tracer follows.
    includes.push(`${bin}/${platform}/${arch}/*`);
    for (const [os, arches] of Object.entries(ONNX_PLATFORMS)) {
      for (const cpu of arches) if (os !== platform || cpu !== arch) excludes.push(`${bin}/${os}/${cpu}/**`);
    }
    if (options.gpu !== true) excludes.push(`${bin}/*/*/*onnxruntime_providers_*`);
  }
  if (tokenizers !== undefined) {
    const keep = new Set<string>((TOKENIZER_BINARIES[platform] as Record<string, readonly string[]>)[arch] ?? []);
    for (const tag of TOKENIZER_TAGS) {
      if (!keep.has(tag)) excludes.push(`${globPath(relative(projectDir, tokenizers))}/tokenizers.${tag}.node`);
    }
  }
  // Client components on /web: those Node modules resolve to an empty module (Turbopack) or to nothing (webpack).
  const empty = `./${relative(projectDir, fileURLToPath(new URL('./browser-empty.js', import.meta.url)))
    .split(sep)
    .join('/')}`;
  const aliases = Object.fromEntries(BROWSER_EMPTY.map((name) => [name, { browser: empty }]));
  const userWebpack = config.webpack;
  return {
    ...config,
    turbopack: { ...config.turbopack, resolveAlias: { ...aliases, ...config.turbopack?.resolveAlias } },
    webpack(webpackConfig: WebpackConfigLike, context: { isServer: boolean }) {
      const result = userWebpack ? userWebpack(webpackConfig, context) : webpackConfig;
      if (context.isServer) return result;
      const fallback = Object.fromEntries(BROWSER_EMPTY.map((name) => [name, false]));
      return { ...result, resolve: { ...result.resolve, fallback: { ...fallback, ...result.resolve?.fallback } } };
    },
    serverExternalPackages: unique([...(config.serverExternalPackages ?? []), ...EXTERNAL]),
    outputFileTracingIncludes: merge(config.outputFileTracingIncludes, includes),
    outputFileTracingExcludes: merge(config.outputFileTracingExcludes, excludes),
  };
}

/** The installed folder of `name` as the app resolves it (hoisted or not), or undefined where it is not installed. */
function packageDir(name: string, projectDir: string): string | undefined {
  try {
    return dirname(createRequire(join(projectDir, 'package.json')).resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function merge(existing: Record<string, string[]> | undefined, added: string[]): Record<string, string[]> {
  const result = { ...existing };
  if (added.length > 0) result[ALL_ROUTES] = unique([...(result[ALL_ROUTES] ?? []), ...added]);
  return result;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** A relative path as a trace glob: forward slashes, and `./` for the app's own folder. */
function globPath(path: string): string {
  const slashed = path.split(sep).join('/');
  return slashed.startsWith('.') ? slashed : `./${slashed}`;
}
