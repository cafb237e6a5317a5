/**
 * Vitest project for the lab engine and the labs: unit tests of the schema, scheduling rules,
 * progress database and JUnit export, and the acceptance cycle of every lab (`lab verify-all`)
 * against a real embedded cluster started from scratch by global-setup.ts.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'labs',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/labs/**/*.test.ts'],
    globalSetup: ['tests/labs/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The cluster tests share one cluster and change its nodes: one file at a time.
    fileParallelism: false,
  },
});
