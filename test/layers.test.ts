// The layer rule of ARCHITECTURE.md, checked over the real import graph: every import in src/ points down to a
// lower floor (or stays in its own folder), there are no cycles, only the platform seam loads a platform binding,
// the browser and remote entries reach nothing that needs Node or a native addon, and the evaluation tool reaches
// the library only through its public entry.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');

/** Floors from the bottom up: a module may import its own folder or any lower floor, nothing else. */
const FLOORS: readonly (readonly string[])[] = [
  ['errors.ts', 'types.ts'],
  ['validate.ts', 'ranking.ts'],
  ['hub/', 'tokenize/', 'documents/'],
  ['platform/'],
  ['engine/'],
  ['cross-encoder.ts'],
  ['remote/', 'testing/', 'scorer-pool.ts'],
  ['serve/', 'langchain/', 'ai-sdk/', 'llamaindex/', 'mastra/', 'next/'],
  ['index.ts', 'web.ts', 'remote-entry.ts', 'core-entry.ts'],
  ['bin.ts'],
];

/** Outside packages only some rooms may load: platform bindings only the seam, peers only their adapter. */
const PACKAGES: Record<string, readonly string[]> = {
  'onnxruntime-node': ['platform/'],
  'onnxruntime-web': ['platform/'],
  tokenizers: ['platform/'],
  '@mlc-ai/web-tokenizers': ['platform/'],
  'node:worker_threads': ['platform/'],
  'node-llama-cpp': ['platform/'],
  '@langchain/core': ['langchain/'],
  ai: ['ai-sdk/'],
  '@ai-sdk/provider': ['ai-sdk/'],
  llamaindex: ['llamaindex/'],
  '@llamaindex/core': ['llamaindex/'],
  '@mastra/core': ['mastra/'],
  '@mastra/rag': ['mastra/'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every specifier a module imports or re-exports, type-only ones included, and dynamic imports. */
export function importsOf(code: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) found.push(match[1] as string);
  for (const match of code.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) found.push(match[1] as string);
  return found;
}

/** The room of a file under src/: its top folder with a slash, or the file name for a top-level file. */
function roomOf(file: string): string {
  const path = relative(SRC, file).split('\\').join('/');
  const slash = path.indexOf('/');
  return slash === -1 ? path : path.slice(0, slash + 1);
}

function floorOf(room: string): number {
  return FLOORS.findIndex((floor) => floor.includes(room));
}

function resolveImport(from: string, specifier: string): string {
  return resolve(dirname(from), specifier).replace(/\.js$/, '.ts');
}

const files = sourceFiles(SRC);
const graph = new Map(
  files.map((file) => [
    file,
    importsOf(readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => resolveImport(file, s)),
  ]),
);

/** The specifiers a module loads at run time: type-only imports and re-exports are erased by the build. */
function valueImportsOf(code: string): string[] {
  const withoutTypes = code
    .replace(/\b(?:import|export)\s+type\s[^;]*?\sfrom\s*['"][^'"]+['"]/g, '')
    .replace(/\b(?:import|export)\s+type\s*\{[^}]*\}\s*from\s*['"][^'"]+['"]/g, '');
  return importsOf(withoutTypes);
}

/**
 * Every module (file under src/, or outside package) that loading `entry` runs, following value imports only. The
 * browser build swaps `platform/current.ts` for `platform/current.web.ts` (tsup.config.ts); `swap` does the same.
 */
function reachable(entry: string, swap: Record<string, string> = {}): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    const actual = swap[file] ?? file;
    if (files.has(actual)) return;
    files.add(actual);
    for (const specifier of valueImportsOf(readFileSync(actual, 'utf8'))) {
      if (specifier.startsWith('.')) visit(resolveImport(actual, specifier));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { files, packages };
}

const WEB_SWAP = { [join(SRC, 'platform/current.ts')]: join(SRC, 'platform/current.web.ts') };
const NODE_BINDINGS = ['onnxruntime-node', 'tokenizers'];

describe('the layer rule', () => {
  it('finds the imports of every form', () => {
    const code = [
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "import {\n  e,\n  type E,\n} from './e.js';",
      "const f = await import('./f.js');",
      "import './g.js';",
    ].join('\n');
    expect(importsOf(code).sort()).toEqual(['../b.js', './a.js', './c.js', './d.js', './e.js', './f.js', './g.js']);
  });

  it('places every room of src/ on a floor', () => {
    const unplaced = [...new Set(files.map(roomOf))].filter((room) => floorOf(room) === -1);
    expect(unplaced, 'add new folders to FLOORS here and to ARCHITECTURE.md').toEqual([]);
  });

  it('points every import in src/ down, or within its own folder', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      const room = roomOf(file);
      for (const target of targets) {
        const targetRoom = roomOf(target);
        if (!target.startsWith(SRC)) upward.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)} (outside src/)`);
        else if (targetRoom !== room && floorOf(targetRoom) >= floorOf(room))
          upward.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('loads native and peer packages only in the rooms that own them', () => {
    const misplaced: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        const owner = Object.keys(PACKAGES).find((name) => specifier === name || specifier.startsWith(`${name}/`));
        if (owner !== undefined && !(PACKAGES[owner] as readonly string[]).includes(roomOf(file)))
          misplaced.push(`${relative(ROOT, file)} imports ${specifier}`);
      }
    }
    expect(misplaced).toEqual([]);
  });

  it('keeps Node and its bindings out of the browser build', () => {
    for (const entry of ['web.ts', 'engine/worker.ts']) {
      const { files, packages } = reachable(join(SRC, entry), WEB_SWAP);
      const nodeOnly = [...packages].filter((p) => p.startsWith('node:') || NODE_BINDINGS.includes(p));
      expect(nodeOnly, `${entry} in the browser build`).toEqual([]);
      expect([...files].map((f) => relative(SRC, f))).not.toContain('platform/node.ts');
    }
  });

  it('loads no platform and no native addon for remote use', () => {
    const { files, packages } = reachable(join(SRC, 'remote-entry.ts'));
    expect([...files].map((f) => relative(SRC, f)).filter((f) => f.startsWith('platform/'))).toEqual([]);
    expect([...packages].filter((p) => NODE_BINDINGS.includes(p) || p.startsWith('onnxruntime'))).toEqual([]);
  });

  it('loads the native addons of the Node entry only on first use', () => {
    const { packages } = reachable(join(SRC, 'index.ts'));
    const staticImports = [...packages].filter((p) => NODE_BINDINGS.includes(p));
    // The dynamic import() that loads them is followed too: the check is that no file imports them statically.
    const eager = files
      .filter((file) =>
        /^\s*import\s[^;]*from\s*['"](onnxruntime-node|tokenizers)['"]/m.test(readFileSync(file, 'utf8')),
      )
      .map((file) => relative(SRC, file));
    expect(eager).toEqual([]);
    expect(staticImports.sort()).toEqual([...NODE_BINDINGS].sort());
  });

  it('loads node-llama-cpp, an optional peer, only when GGUF weights are asked for, by a name bundlers skip', () => {
    const sources = files.map((file) => ({ file: relative(SRC, file), text: readFileSync(file, 'utf8') }));
    const valueImports = sources.filter(({ text }) =>
      /^\s*import\s(?!type\s)[^;]*from\s*['"]node-llama-cpp['"]/m.test(text),
    );
    // `typeof import('node-llama-cpp')` is a type, erased like `import type`.
    const literalLoads = sources.filter(({ text }) => /(?<!typeof\s)import\(\s*['"]node-llama-cpp['"]\s*\)/.test(text));
    expect([...valueImports, ...literalLoads].map(({ file }) => file)).toEqual([]);
    const loaders = sources.filter(({ text }) => /const BINDING = 'node-llama-cpp'/.test(text)).map(({ file }) => file);
    expect(loaders).toEqual(['platform/llama-cpp.ts']);
  });

  it('keeps every framework but @langchain/core out of what the main entry loads', () => {
    const reached = new Set<string>();
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const target of graph.get(file) ?? []) walk(target);
    };
    walk(join(SRC, 'index.ts'));
    const adapters = ['ai-sdk/', 'llamaindex/', 'mastra/'];
    const frameworks = Object.keys(PACKAGES).filter((name) => PACKAGES[name]?.some((room) => adapters.includes(room)));
    const leaks: string[] = [];
    for (const file of reached) {
      if (adapters.includes(roomOf(file))) leaks.push(`${relative(ROOT, file)} (an adapter)`);
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        if (frameworks.some((name) => specifier === name || specifier.startsWith(`${name}/`)))
          leaks.push(`${relative(ROOT, file)} imports ${specifier}`);
      }
    }
    expect(frameworks.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });

  it("runs the core entry and the other frameworks' adapters without LangChain", () => {
    for (const entry of [
      'core-entry.ts',
      'scorer-pool.ts',
      'ai-sdk/index.ts',
      'llamaindex/index.ts',
      'mastra/index.ts',
    ]) {
      const { files, packages } = reachable(join(SRC, entry));
      const langchain = [
        ...[...files].filter((f) => roomOf(f) === 'langchain/').map((f) => relative(SRC, f)),
        ...[...packages].filter((p) => p.startsWith('@langchain/')),
      ];
      expect(langchain, `${entry} at run time`).toEqual([]);
    }
  });

  it('loads nothing from @ai-sdk/provider at run time: the AI SDK adapter serves v3 and v4 by its own types', () => {
    const { packages } = reachable(join(SRC, 'ai-sdk/index.ts'));
    expect([...packages].filter((p) => p.startsWith('@ai-sdk/'))).toEqual([]);
  });

  it('keeps tests that need built models out of src/', () => {
    const all = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? all(join(dir, e.name)) : [join(dir, e.name)],
      );
    expect(all(SRC).filter((file) => file.endsWith('.int.test.ts'))).toEqual([]);
  });

  it('lets the evaluation tool reach the library only through its public entry', () => {
    const evalDir = join(ROOT, 'eval');
    const entry = join(SRC, 'index.ts');
    const reaching: string[] = [];
    for (const file of readdirSync(evalDir).filter((name) => name.endsWith('.ts'))) {
      const path = join(evalDir, file);
      for (const specifier of importsOf(readFileSync(path, 'utf8'))) {
        if (specifier === 'langchain-cross-encoder') continue;
        if (!specifier.startsWith('.')) continue;
        const target = resolveImport(path, specifier);
        if (target.startsWith(SRC + '/') && target !== entry)
          reaching.push(`eval/${file} -> ${relative(ROOT, target)}`);
        if (
          !target.startsWith(SRC + '/') &&
          !target.startsWith(evalDir + '/') &&
          !target.startsWith(join(ROOT, 'test'))
        )
          reaching.push(`eval/${file} -> ${relative(ROOT, target)}`);
      }
    }
    expect(reaching).toEqual([]);
  });
});
