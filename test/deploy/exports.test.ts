// The built package as an app resolves it: every file package.json's "exports" names exists, each condition's types
// declare exactly the values its code exports, and an app's TypeScript resolves the entries under `bundler` and
// `nodenext` (test/deploy/types). Needs `npm run build` first, as CI runs it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/models.js';

type Conditions = { [condition: string]: string | Conditions };
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Conditions>;
};

/** Every (subpath, condition path, types file, code file) the exports map leads to. */
function targets(): { entry: string; via: string; types: string; code: string }[] {
  const found: { entry: string; via: string; types: string; code: string }[] = [];
  const walk = (entry: string, via: string[], node: Conditions) => {
    if (typeof node['types'] === 'string' && typeof node['default'] === 'string') {
      found.push({ entry, via: via.join('.') || '(plain)', types: node['types'], code: node['default'] });
      return;
    }
    for (const [condition, child] of Object.entries(node)) {
      if (typeof child !== 'string') walk(entry, [...via, condition], child);
    }
  };
  for (const [entry, node] of Object.entries(pkg.exports)) if (typeof node !== 'string') walk(entry, [], node);
  return found;
}

// One program over every declaration file the map names: each file's exports read from it.
let program: ts.Program | undefined;

/** The names a declaration file exports as values (classes, functions, constants), not types alone. */
function declaredValues(file: string): string[] {
  program ??= ts.createProgram(
    targets().map((t) => join(REPO_ROOT, t.types)),
    {
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
    },
  );
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const symbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  if (symbol === undefined) throw new Error(`${file} is not a module`);
  const isValue = (s: ts.Symbol) =>
    ((s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s).flags & ts.SymbolFlags.Value) !== 0;
  return checker
    .getExportsOfModule(symbol)
    .filter(isValue)
    .map((s) => s.name)
    .sort();
}

/** The names a built file exports: an ES module read by esbuild (not run), a CommonJS one loaded. */
async function codeExports(file: string): Promise<string[]> {
  if (file.endsWith('.cjs')) return Object.keys(createRequire(import.meta.url)(file) as object).sort();
  const result = await build({
    entryPoints: [file],
    bundle: false,
    write: false,
    metafile: true,
    format: 'esm',
    logLevel: 'silent',
    outdir: '/tmp/lce-exports',
  });
  return Object.values(result.metafile.outputs)
    .flatMap((output) => output.exports)
    .sort();
}

describe('the exports map of the built package', () => {
  beforeAll(() => {
    if (!existsSync(join(REPO_ROOT, 'dist', 'index.js')))
      throw new Error('dist/ is missing: run `npm run build` first');
  });

  it.each(targets())('$entry $via: its types declare the values its code exports', async ({ types, code }) => {
    const typesFile = join(REPO_ROOT, types);
    const codeFile = join(REPO_ROOT, code);
    expect(existsSync(typesFile), types).toBe(true);
    expect(existsSync(codeFile), code).toBe(true);
    expect(declaredValues(typesFile)).toEqual(await codeExports(codeFile));
  });

  it('no .d.cts sits in dist/, where Turbopack parses it as a module', () => {
    const files = readdirSync(join(REPO_ROOT, 'dist'));
    expect(files.filter((f) => f.endsWith('.d.cts'))).toEqual([]);
  });

  it.each(['bundler', 'nodenext'])('an app compiles against it under moduleResolution %s', (mode) => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const config = join(REPO_ROOT, 'test', 'deploy', 'types', `tsconfig.${mode}.json`);
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', config], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  });
});
