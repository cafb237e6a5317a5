/**
 * Vitest project for the classroom hub: PostgreSQL (real, on loopback), the spawner, pool and
 * culler against a real embedded cluster (pods simulated by kwok), the proxy, the instructor
 * view, and the Helm chart. Run with
 *   node_modules/.bin/node node_modules/.bin/vitest run --config tests/hub/vitest.config.ts
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'hub',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/hub/**/*.test.ts'],
    globalSetup: ['tests/hub/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    sequence: { shuffle: false },
  },
});
