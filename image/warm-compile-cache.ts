/**
 * Run once while the learner image is built (Containerfile), with NODE_COMPILE_CACHE set, so that
 * Node's compile cache holds what the image's processes load: the learner pods' bundled server
 * (image/bundle-server.ts), loaded in a process of its own as a pod loads it, and the hub's modules,
 * imported without running the hub. A cold pod then starts its cluster sooner.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const app = join(import.meta.dirname, '..');

// The Containerfile's CMD runs the bundle: an image without it would build, and every pod would
// fail. A bundle that cannot load fails the build here.
const bundle = join(app, 'scripts', 'start.bundle.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} is missing: the pods run it. Build the image with image/build.sh, which makes it (image/bundle-server.ts).`);
const loaded = spawnSync(process.execPath, [bundle], { env: { ...process.env, DAEMONSET_LAB_IMPORT_ONLY: '1' }, encoding: 'utf8', timeout: 120_000 });
if (loaded.status !== 0) throw new Error(`the bundled server did not load (exit ${loaded.status ?? loaded.signal}): ${loaded.stderr.trim().split('\n').slice(-5).join('\n')}`);
process.stdout.write('compile cache filled from the bundled server\n');

// The hub runs from its sources (node hub/main.ts, which would start the hub if imported).
await import(pathToFileURL(join(app, 'hub', 'server.ts')).href);
process.stdout.write('compile cache filled from the hub\'s modules\n');
