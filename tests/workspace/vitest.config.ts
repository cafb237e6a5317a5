/**
 * Vitest project for the lab workspace: the server's API, WebSockets and security on a real
 * embedded cluster, and the lab page in Chromium. Run with
 *   node_modules/.bin/node node_modules/.bin/vitest run --config tests/workspace/vitest.config.ts
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'workspace',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/workspace/**/*.test.ts'],
    globalSetup: ['tests/workspace/global-setup.ts'],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    // One cluster shared by every file, and the last file stops and restarts it: one at a time.
    fileParallelism: false,
    sequence: { shuffle: false },
  },
});
