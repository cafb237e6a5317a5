/**
 * Every test project of the repository; `npm test` runs them all. Each project folder under tests/
 * has its own vitest.config.ts (and, where it needs one, its own real cluster).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['tests/*/vitest.config.ts'],
  },
});
