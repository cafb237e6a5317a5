/**
 * verify-all of every lab on the kind engine: `npm run test:kind-labs`. Not part of `npm test` yet:
 * it has not passed on this machine (4 of 8 labs passed in its only complete run) and takes 8 min
 * idle to over 30 min loaded. Its file name keeps it out of the `tests/*\/vitest.config.ts` glob.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'kind-labs',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/kind-labs/**/*.test.ts'],
    globalSetup: ['tests/kind/global-setup.ts'],
    testTimeout: 2_700_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
