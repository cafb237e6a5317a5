/**
 * Vitest project for the kind engine on real containers: global-setup.ts brings up the kind
 * cluster with `npm run cluster -- up --provider kind` (building kind and the node image when they
 * are missing), the tests run against its real kubelets (the topology and the chapter's DaemonSet in
 * cluster.test.ts, verify-all of every lab in labs.test.ts: `npm run test:kind-labs` runs that one
 * alone; the classroom hub installed with its chart, in classroom.test.ts: `npm run test:kind-classroom`),
 * and the cluster is deleted afterwards.
 * If kind cannot start here the suite fails; it is never skipped.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'kind',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/kind/**/*.test.ts'],
    globalSetup: ['tests/kind/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // One kind cluster, shared: one file at a time.
    fileParallelism: false,
  },
});
