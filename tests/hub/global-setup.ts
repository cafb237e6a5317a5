/**
 * The hub tests' real parts: a PostgreSQL server and an embedded cluster of their own
 * (preferred port base 30400: kube-apiserver on 30443).
 */
import type { TestProject } from 'vitest/node';
import { provideTestCluster } from '../support/test-cluster.ts';
import { startTestPostgres } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the project's PostgreSQL database. */
    hubDatabaseUrl: string;
  }
}

const startCluster = provideTestCluster('hub', 30400);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = await startTestPostgres();
  project.provide('hubDatabaseUrl', postgres.url);
  let stopCluster: () => Promise<void>;
  try {
    stopCluster = await startCluster(project);
  } catch (error) {
    await postgres.stop();
    throw error;
  }
  return async () => {
    await stopCluster();
    await postgres.stop();
  };
}
