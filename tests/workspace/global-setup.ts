/**
 * Vitest global setup for the workspace tests: a fresh embedded cluster of their own (port base
 * 28400) and an up-to-date production build of the site in dist/ (the lab pages are part of it).
 */
import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestClusterInfo } from '../support/test-cluster.ts';
import buildSite from '../site/global-setup.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    workspaceCluster: TestClusterInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  buildSite();
  const cluster = await startTestCluster('workspace', 28400);
  project.provide('workspaceCluster', cluster.info);
  return cluster.stop;
}
