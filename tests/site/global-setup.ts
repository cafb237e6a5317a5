/**
 * Vitest global setup: makes sure `dist/` holds a production build of the
 * current sources before any site test reads it. Builds only when `dist/` is
 * missing or older than a source file, so repeated runs stay fast.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_DIR, ROOT_DIR, listFiles, newestMtime } from './site-files.ts';

/** Files whose changes can change the built site. */
function buildInputs(): string[] {
  return [
    ...listFiles(join(ROOT_DIR, 'content')),
    ...listFiles(join(ROOT_DIR, 'src')),
    ...listFiles(join(ROOT_DIR, 'public')),
    // Lab step instructions are a content collection (src/content.config.ts, labSteps).
    ...listFiles(join(ROOT_DIR, 'labs')).filter((file) => file.endsWith('.md')),
    join(ROOT_DIR, 'astro.config.mjs'),
    join(ROOT_DIR, 'package-lock.json'),
  ].filter((file) => existsSync(file));
}

function isBuildStale(): boolean {
  const builtPage = join(DIST_DIR, 'index.html');
  if (!existsSync(builtPage)) return true;
  return newestMtime(buildInputs()) > newestMtime([builtPage]);
}

/** Builds the site into dist/ unless an up-to-date build is already there. */
export default function setup(): void {
  if (process.env.SITE_TESTS_FORCE_BUILD !== '1' && !isBuildStale()) return;
  // Run Astro with the project's own Node (the `node` devDependency): Astro 7 needs Node 24,
  // which the system `node` may not be.
  const node = join(ROOT_DIR, 'node_modules', '.bin', 'node');
  const astro = join(ROOT_DIR, 'node_modules', 'astro', 'bin', 'astro.mjs');
  const result = spawnSync(existsSync(node) ? node : process.execPath, [astro, 'build'], {
    cwd: ROOT_DIR,
    encoding: 'utf8',
    // Vitest sets NODE_ENV=test, which would make Vite build in development mode (no search,
    // drafts included). The tests must see what production serves.
    env: { ...process.env, NODE_ENV: 'production', ASTRO_TELEMETRY_DISABLED: '1' },
  });
  if (result.status !== 0) {
    throw new Error(`astro build failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}
