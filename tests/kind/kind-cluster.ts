/**
 * The kind cluster of a test run, driven through the same command a user types:
 * `npm run cluster -- up --provider kind` with its own state folder. Other projects (the
 * classroom hub) can use it the same way: `await startKindCluster()` in a globalSetup.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { binaryDir } from '../../src/server/cluster/binaries.ts';
import { CLUSTER_NAME } from '../../src/server/cluster/topology.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The kind cluster started by tests/kind/global-setup.ts. */
    kindCluster: KindClusterInfo;
  }
}

/** Where the kind cluster's kubeconfig and state are. */
export interface KindClusterInfo {
  readonly stateDir: string;
  readonly kubeconfig: string;
  readonly context: string;
  readonly kubectl: string;
}

/** Runs `npm run cluster -- <args>` with the given state folder; output goes to stderr; throws on failure. */
export async function clusterCommand(stateDir: string, args: readonly string[]): Promise<void> {
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/cluster.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DAEMONSET_LAB_STATE: stateDir },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('close', (exitCode) => resolve(exitCode ?? 1));
  });
  if (code !== 0) throw new Error(`npm run cluster -- ${args.join(' ')} failed with exit code ${code} (its output is above)`);
}

/**
 * Brings up the kind cluster (deleting a stale one first); `stop` deletes it and its state.
 * With DAEMONSET_LAB_TEST_KIND_STATE set to the state folder of a kind cluster that is already up
 * (`DAEMONSET_LAB_STATE=<folder> npm run cluster -- up --provider kind`), the tests use that one
 * and leave it running: for working on one test file without a cluster start each run.
 */
export async function startKindCluster(): Promise<{ info: KindClusterInfo; stop: () => Promise<void> }> {
  const reused = process.env.DAEMONSET_LAB_TEST_KIND_STATE;
  if (reused) {
    await clusterCommand(reused, ['up', '--provider', 'kind']);
    return { info: clusterInfo(reused), stop: async () => undefined };
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-kind-'));
  await clusterCommand(stateDir, ['down', '--provider', 'kind']);
  await clusterCommand(stateDir, ['up', '--provider', 'kind']);
  const info = clusterInfo(stateDir);
  return {
    info,
    stop: async () => {
      await clusterCommand(stateDir, ['down', '--provider', 'kind']);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

function clusterInfo(stateDir: string): KindClusterInfo {
  return { stateDir, kubeconfig: join(stateDir, 'kubeconfig-kind'), context: `kind-${CLUSTER_NAME}`, kubectl: join(binaryDir(), 'kubectl') };
}

/** Real kubectl against the kind cluster; never throws on a non-zero exit. */
export async function kubectl(info: KindClusterInfo, args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = promisify(execFile)(info.kubectl, ['--kubeconfig', info.kubeconfig, '--context', info.context, ...args], { maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) child.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
