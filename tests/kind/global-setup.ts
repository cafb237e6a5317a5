/** The kind project's cluster: real kind nodes under Podman, deleted when the project ends. */
import type { TestProject } from 'vitest/node';
import { startKindCluster } from './kind-cluster.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startKindCluster();
  project.provide('kindCluster', cluster.info);
  return cluster.stop;
}
