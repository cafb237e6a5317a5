/**
 * Shared parts of the hub tests: a namespace under the `restricted` Pod Security level, simulated
 * nodes big enough for a class, a spawner and a hub wired to the project's real cluster and
 * PostgreSQL.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { nodeManifest } from '../../src/server/cluster/topology.ts';
import { waitFor, type KubeClients } from '../../src/server/cluster/kube.ts';
import { parseClassroom, type Classroom, type ClassroomInput } from '../../hub/classroom.ts';
import { DEFAULT_RESOURCES, type LearnerPodSettings } from '../../hub/pods.ts';
import { Spawner } from '../../hub/spawner.ts';
import type { TestClusterInfo } from '../support/test-cluster.ts';

/** Label of the nodes the tests add for learner pods. */
export const POOL_LABEL = { 'daemonset-lab.dev/pool': 'learners' } as const;

/** An image the simulated registry knows, so pods become Ready (the learner image needs kind). */
export const SIMULATED_IMAGE = 'registry.k8s.io/pause:3.10';

/** Creates a namespace where the API server enforces the restricted Pod Security level. */
export async function restrictedNamespace(clients: KubeClients, name: string): Promise<string> {
  await clients.core.createNamespace({
    body: {
      metadata: {
        name,
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
      },
    },
  });
  return name;
}

/**
 * Adds simulated nodes for learner pods (16 CPU, 64 GiB, 110 pods each), labelled
 * {@link POOL_LABEL}; idempotent. Returns their names once Ready.
 */
export async function addLearnerNodes(clients: KubeClients, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `learner-pool-${i + 1}`);
  const existing = new Set((await clients.core.listNode()).items.map((n) => n.metadata?.name));
  await Promise.all(
    names.filter((name) => !existing.has(name)).map((name, i) => {
      const body = nodeManifest({ name, role: 'worker', extraLabels: { ...POOL_LABEL }, taints: [], internalIP: `172.18.1.${10 + i}`, podCIDR: `10.245.${i}.0/24` });
      const capacity = { cpu: '16', memory: '64Gi', 'ephemeral-storage': '500Gi', pods: '110' };
      body.status = { ...body.status, capacity, allocatable: capacity };
      return clients.core.createNode({ body });
    }),
  );
  await waitFor('the learner nodes to be Ready', async () => {
    const nodes = (await clients.core.listNode({ labelSelector: 'daemonset-lab.dev/pool=learners' })).items;
    const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length >= count ? true : undefined;
  }, 60_000);
  return names;
}

/** Learner pod settings for a test namespace. */
export function podSettings(namespace: string, overrides: Partial<LearnerPodSettings> = {}): LearnerPodSettings {
  return { namespace, image: SIMULATED_IMAGE, resources: DEFAULT_RESOURCES, nodeSelector: { ...POOL_LABEL }, tokenKey: 'test-token-key-0123456789', ...overrides };
}

/** A kubeconfig for the test cluster. */
export function kubeConfigOf(info: TestClusterInfo): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(info.connection.kubeconfig);
  config.setCurrentContext(info.connection.context);
  return config;
}

/** A started spawner for a namespace. */
export async function startSpawner(info: TestClusterInfo, settings: LearnerPodSettings, spawnLimit = 10): Promise<Spawner> {
  const spawner = new Spawner({ kubeConfig: kubeConfigOf(info), pods: settings, spawnLimit, readyTimeoutMs: 60_000 });
  await spawner.start();
  return spawner;
}

/** A classroom definition with test defaults. */
export function classroom(input: Partial<ClassroomInput> & Pick<ClassroomInput, 'id'>): Classroom {
  return parseClassroom({ title: `Class ${input.id}`, joinCode: 'JOIN-CODE-1234', labs: ['first-daemonset'], capacity: 10, ...input }, 'test');
}
