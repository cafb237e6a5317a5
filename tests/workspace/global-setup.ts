/**
 * Vitest global setup for the workspace tests: an up-to-date production build of the site in dist/
 * (the lab pages are part of it), then a fresh embedded cluster of their own (port base 28400).
 */
import type { TestProject } from 'vitest/node';
import { provideTestCluster } from '../support/test-cluster.ts';
import buildSite from '../site/global-setup.ts';

const startCluster = provideTestCluster('workspace', 28400);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  buildSite();
  return startCluster(project);
}
