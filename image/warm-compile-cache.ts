/**
 * Run once while the learner image is built (Containerfile), with NODE_COMPILE_CACHE set: imports
 * the modules a learner pod's server and the hub load, without running them, so Node's compile
 * cache holds them. A cold pod then starts its cluster about a second sooner.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const app = join(import.meta.dirname, '..');
const modules = [
  'src/server/cli.ts',
  'src/server/cluster/binaries.ts',
  'src/server/cluster/providers/registry.ts',
  'src/server/web/run.ts',
  'src/server/labs/registry.ts',
  'hub/server.ts',
  ...readdirSync(join(app, 'labs')).map((id) => join('labs', id, 'lab.ts')).filter((path) => existsSync(join(app, path))),
];
for (const path of modules) await import(pathToFileURL(join(app, path)).href);
process.stdout.write(`compile cache filled from ${modules.length} modules and what they import\n`);

// The pods run the bundled server (image/bundle-server.ts): load it the same way, in a process of
// its own (it is a script, not a module to import). A bundle that cannot load fails the build here.
// The Containerfile's CMD runs it: an image without it would build, and every pod would fail.
const bundle = join(app, 'scripts', 'start.bundle.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} is missing: the pods run it. Build the image with image/build.sh, which makes it (image/bundle-server.ts).`);
const loaded = spawnSync(process.execPath, [bundle], { env: { ...process.env, DAEMONSET_LAB_IMPORT_ONLY: '1' }, encoding: 'utf8', timeout: 120_000 });
if (loaded.status !== 0) throw new Error(`the bundled server did not load (exit ${loaded.status ?? loaded.signal}): ${loaded.stderr.trim().split('\n').slice(-5).join('\n')}`);
process.stdout.write('compile cache filled from the bundled server\n');
