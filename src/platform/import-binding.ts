import { MissingDependencyError } from '../errors.js';

// Node's "Cannot find module 'x'" (CommonJS) and "Cannot find package 'x'" (ES modules) name what is missing.
const MISSING_MODULE = /Cannot find (?:module|package) '([^']+)'/;
// The dynamic linker's message when a binding's shared library is not beside it (Linux, macOS, Windows wording).
const MISSING_LIBRARY =
  /cannot open shared object file|Library not loaded|image not found|specified module could not be found/i;

/**
 * Imports a binding on first use. A failure is a `MissingDependencyError` that names what is actually missing (the
 * binding, a package the binding needs, or a library file beside it) and the fix for that, instead of a bare module
 * error.
 */
export async function importBinding<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    const reason = (cause as Error)?.message ?? String(cause);
    const missing = packageName(MISSING_MODULE.exec(reason)?.[1]);
    if (missing !== undefined && missing !== name) {
      throw new MissingDependencyError(
        missing,
        `${name} could not be loaded: the package ${missing}, which it needs, is missing (${firstLine(reason)}). ` +
          `Install it with \`npm i ${missing}\`; a bundled deployment must ship ${missing} in its node_modules ` +
          `beside ${name} (mark both external and copy both folders).`,
        { cause },
      );
    }
    if (missing === undefined && MISSING_LIBRARY.test(reason)) {
      throw new MissingDependencyError(
        name,
        `${name} is installed but its native library could not be loaded (${firstLine(reason)}). A deployment must ` +
          `ship the whole folder of ${name}'s binding, the shared libraries beside the .node file included (for ` +
          'Next.js: `withCrossEncoder` from langchain-cross-encoder/next; elsewhere copy the package folder as it is).',
        { cause },
      );
    }
    throw new MissingDependencyError(
      name,
      `${name} could not be loaded (${firstLine(reason)}). The local engine needs it: install it ` +
        `with \`npm i ${name}\` beside this package, or score over a rerank server with RemoteScorer ` +
        '(langchain-cross-encoder/remote needs no binding).',
      { cause },
    );
  }
}

/** The package a module specifier belongs to (`@scope/name/file` → `@scope/name`); undefined for a path. */
function packageName(specifier: string | undefined): string | undefined {
  if (specifier === undefined || specifier.startsWith('.') || specifier.startsWith('/') || /^[A-Za-z]:/.test(specifier))
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
