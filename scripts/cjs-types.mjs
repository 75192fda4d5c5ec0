// Moves the CommonJS type declarations tsup writes (dist/*.d.cts) to types-cjs/, which the "require" conditions of
// package.json point at. Next.js's Turbopack traces dist/ for the server and parses any .d.cts file there as a
// CommonJS module, failing on its `export` lines ("Specified module format (CommonJs) is not matching the module
// format of the source code"); outside dist/ nothing traces them. The files import one another by relative paths,
// so they move together and need no rewriting.
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const from = join(root, 'dist');
const to = join(root, 'types-cjs');
await rm(to, { recursive: true, force: true });
await mkdir(to);
const files = (await readdir(from)).filter((name) => name.endsWith('.d.cts'));
if (files.length === 0) throw new Error('cjs-types: no .d.cts files in dist/ (run tsup first)');
for (const name of files) await rename(join(from, name), join(to, name));
console.log(`cjs-types: ${files.length} declaration files moved to types-cjs/`);
