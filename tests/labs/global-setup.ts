import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestClusterInfo } from '../support/test-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testCluster: TestClusterInfo;
  }
}

/** Port base of this project's cluster (kube-apiserver on 27443). */
export const LAB_TESTS_PORT_BASE = 27400;

/** Starts a fresh embedded cluster for the lab tests; a failure to start fails the suite. */
export default async function setup(project: TestProject) {
  const cluster = await startTestCluster('lab-tests', LAB_TESTS_PORT_BASE);
  project.provide('testCluster', cluster.info);
  return cluster.stop;
}
