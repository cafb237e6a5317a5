/**
 * Vitest project for the lessons site: build checks and browser tests against
 * the production build. Run with
 *   node_modules/.bin/node node_modules/.bin/vitest run --config tests/site/vitest.config.ts
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'site',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/site/**/*.test.ts'],
    globalSetup: ['tests/site/global-setup.ts'],
    // Browser tests start Chromium and wait for Pagefind; the machine has 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One browser at a time keeps memory and CPU use predictable.
    fileParallelism: false,
  },
});
