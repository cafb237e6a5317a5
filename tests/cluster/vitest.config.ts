/**
 * Vitest project for the cluster engines: real kubectl against a real embedded cluster started
 * from scratch by global-setup.ts, plus the kind engine's golden files.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'cluster',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/cluster/**/*.test.ts'],
    globalSetup: ['tests/cluster/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The tests share one cluster and change its nodes: one file at a time.
    fileParallelism: false,
  },
});
