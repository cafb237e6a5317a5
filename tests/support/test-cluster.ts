/**
 * A real embedded cluster for a test project: its own state folder and ports, so it never touches
 * a learner's cluster and several projects can run side by side. A cluster that cannot start
 * fails the suite; nothing is skipped.
 *
 * Use from a vitest globalSetup:
 *   export default async (project) => { const c = await startTestCluster('labs', 27400); project.provide('testCluster', c.info); return c.stop; }
 * and in tests: `const cluster = connectTestCluster(inject('testCluster'))`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kubeClients, type KubeClients } from '../../src/server/cluster/kube.ts';
import { embeddedPorts, embeddedProvider, portIsFree } from '../../src/server/cluster/providers/embedded.ts';
import { processRunner } from '../../src/server/cluster/providers/runner.ts';
import { saveChoice } from '../../src/server/cluster/providers/registry.ts';
import type { ProviderContext } from '../../src/server/cluster/providers/context.ts';
import type { ClusterConnection } from '../../src/server/cluster/providers/provider.ts';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The project's own cluster, from {@link provideTestCluster}; tests `inject('testCluster')`. */
    testCluster: TestClusterInfo;
  }
}

/** Serializable facts about a running test cluster, passed from globalSetup to tests. */
export interface TestClusterInfo {
  readonly stateDir: string;
  readonly portBase: number;
  readonly connection: ClusterConnection;
}

/** The environment a process needs to use the test cluster: state, ports, kubeconfig, kubectl. */
export function testClusterEnv(info: TestClusterInfo): Record<string, string> {
  return {
    DAEMONSET_LAB_STATE: info.stateDir,
    DAEMONSET_LAB_PORT_BASE: String(info.portBase),
    KUBECONFIG: info.connection.kubeconfig,
    PATH: `${info.connection.kubectlDir}:${process.env.PATH ?? ''}`,
  };
}

function contextFor(stateDir: string, portBase: number): ProviderContext {
  return { stateDir, portBase, runner: processRunner };
}

/**
 * The first port base from `preferred` (in steps of 100) whose ports are all free, so a test run
 * does not fail because another run, or a learner's cluster, holds the preferred ones.
 */
async function freePortBase(preferred: number): Promise<number> {
  for (let base = preferred; base < preferred + 2000; base += 100) {
    const ports = Object.values(embeddedPorts(base));
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  return preferred; // All busy: let up() name the busy port.
}

/** Starts a fresh embedded cluster; `stop` deletes it and its state. */
export async function startTestCluster(name: string, preferredPortBase: number): Promise<{ info: TestClusterInfo; stop: () => Promise<void> }> {
  const stateDir = await mkdtemp(join(tmpdir(), `daemonset-lab-${name}-`));
  const portBase = await freePortBase(preferredPortBase);
  const context = contextFor(stateDir, portBase);
  const provider = embeddedProvider(context);
  await provider.up();
  // Saved as \`cluster up\` saves it: the CLI and servers started on this state folder then use this
  // cluster, never \`auto\`'s choice (kind, on a machine where its node image is built).
  await saveChoice('embedded', context);
  const info: TestClusterInfo = { stateDir, portBase, connection: await provider.connection() };
  return {
    info,
    stop: async () => {
      await provider.down({ purge: true });
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** What a test uses: the provider, API clients, and real kubectl. */
export interface ConnectedTestCluster {
  readonly info: TestClusterInfo;
  readonly provider: ReturnType<typeof embeddedProvider>;
  readonly clients: KubeClients;
  /** Runs the project's real kubectl against the test cluster; never throws on a non-zero exit. */
  kubectl(args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Connects a test to the cluster its globalSetup started. */
export function connectTestCluster(info: TestClusterInfo): ConnectedTestCluster {
  const provider = embeddedProvider(contextFor(info.stateDir, info.portBase));
  const kubectlPath = join(info.connection.kubectlDir, 'kubectl');
  return {
    info,
    provider,
    clients: kubeClients(info.connection.kubeconfig, info.connection.context),
    async kubectl(args, input) {
      const run = promisify(execFile);
      const child = run(kubectlPath, ['--kubeconfig', info.connection.kubeconfig, '--context', info.connection.context, ...args], {
        maxBuffer: 16 * 1024 * 1024,
      });
      if (input !== undefined) child.child.stdin?.end(input);
      try {
        const { stdout, stderr } = await child;
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
      }
    },
  };
}

/**
 * A vitest globalSetup that starts the project's own cluster, provides it to the tests as
 * `testCluster`, and deletes it afterwards. A cluster that cannot start fails the suite.
 */
export function provideTestCluster(name: string, preferredPortBase: number) {
  return async function setup(project: TestProject): Promise<() => Promise<void>> {
    const cluster = await startTestCluster(name, preferredPortBase);
    project.provide('testCluster', cluster.info);
    return cluster.stop;
  };
}
