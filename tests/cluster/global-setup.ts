import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestClusterInfo } from '../support/test-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testCluster: TestClusterInfo;
  }
}

/** Port base of this project's cluster (kube-apiserver on 26443). */
export const CLUSTER_TESTS_PORT_BASE = 26400;

/** Starts a fresh embedded cluster for the cluster tests; a failure to start fails the suite. */
export default async function setup(project: TestProject) {
  const cluster = await startTestCluster('cluster-tests', CLUSTER_TESTS_PORT_BASE);
  project.provide('testCluster', cluster.info);
  return cluster.stop;
}
