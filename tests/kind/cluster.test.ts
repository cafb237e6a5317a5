/**
 * The kind cluster on real kubelets: the topology (names, labels, taints) and the chapter's first
 * DaemonSet, observed the way a learner observes them, with real kubectl.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { TOPOLOGY } from '../../src/server/cluster/topology.ts';
import { kubectl } from './kind-cluster.ts';

const cluster = inject('kindCluster');

interface NodeItem {
  metadata: { name: string; labels: Record<string, string> };
  spec: { taints?: Array<{ key: string; value?: string; effect: string }> };
  status: {
    conditions: Array<{ type: string; status: string }>;
    allocatable: Record<string, string>;
    nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
  };
}
interface PodItem {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase: string; podIP?: string; containerStatuses?: Array<{ ready: boolean; restartCount: number }> };
}

async function getJson<T>(args: string[]): Promise<T> {
  const result = await kubectl(cluster, [...args, '-o', 'json']);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as T;
}

describe('the kind cluster', () => {
  it('has our four nodes, Ready, on real kubelets of our Kubernetes version', async () => {
    const { items } = await getJson<{ items: NodeItem[] }>(['get', 'nodes']);
    expect(items.map((n) => n.metadata.name).sort()).toEqual(TOPOLOGY.map((n) => n.name).sort());
    for (const node of items) {
      expect(node.status.conditions.find((c) => c.type === 'Ready')?.status, `${node.metadata.name} Ready`).toBe('True');
      expect(node.status.nodeInfo.kubeletVersion).toBe('v1.36.1');
      expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
      // The topology's size, so that the real scheduler says "Insufficient memory" where the labs expect it.
      expect(node.status.allocatable.memory, `${node.metadata.name} allocatable memory`).toBe('4Gi');
      expect(node.status.allocatable.cpu, `${node.metadata.name} allocatable cpu`).toBe('2');
    }
  });

  it('labels and taints each node as the topology says', async () => {
    const { items } = await getJson<{ items: NodeItem[] }>(['get', 'nodes']);
    for (const spec of TOPOLOGY) {
      const node = items.find((n) => n.metadata.name === spec.name)!;
      for (const [key, value] of Object.entries(spec.extraLabels)) expect(node.metadata.labels[key], `${spec.name} label ${key}`).toBe(value);
      const taints = (node.spec.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).sort();
      expect(taints, `${spec.name} taints`).toEqual(spec.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).sort());
    }
  });
});

describe("the chapter's nginx DaemonSet on real kubelets", () => {
  it('runs one Ready nginx pod on each of the three workers and none on the control plane', async () => {
    const manifest = await readFile(join(REPO_ROOT, 'labs/first-daemonset/solution/nginx-daemonset.yaml'), 'utf8');
    expect((await kubectl(cluster, ['apply', '-f', '-'], manifest)).code).toBe(0);
    const rollout = await kubectl(cluster, ['rollout', 'status', 'daemonset/nginx-daemonset', '--timeout=180s']);
    expect(rollout.stdout).toContain('daemon set "nginx-daemonset" successfully rolled out');
    const { items } = await getJson<{ items: PodItem[] }>(['get', 'pods', '-l', 'name=nginx-daemonset']);
    const workers = TOPOLOGY.filter((n) => n.role === 'worker').map((n) => n.name).sort();
    expect(items.map((p) => p.spec.nodeName).sort()).toEqual(workers);
    for (const pod of items) {
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.containerStatuses?.[0]?.ready).toBe(true);
    }
  });

  it('serves the nginx welcome page to a busybox pod on another node (pod network across nodes)', async () => {
    const { items } = await getJson<{ items: PodItem[] }>(['get', 'pods', '-l', 'name=nginx-daemonset']);
    const target = items.find((p) => p.spec.nodeName === 'daemonset-lab-worker')!;
    const run = await kubectl(cluster, [
      'run', 'fetch-welcome', '--image=busybox:1.36', '--restart=Never', '--rm', '-i', '--quiet',
      '--overrides', JSON.stringify({ spec: { nodeName: 'daemonset-lab-worker2' } }),
      '--', 'wget', '-qO-', `http://${target.status.podIP}/`,
    ]);
    expect(run.stdout).toContain('Welcome to nginx!');
  });

  it('shows the access log line of that request in kubectl logs', async () => {
    const { items } = await getJson<{ items: PodItem[] }>(['get', 'pods', '-l', 'name=nginx-daemonset']);
    const target = items.find((p) => p.spec.nodeName === 'daemonset-lab-worker')!;
    const logs = await kubectl(cluster, ['logs', target.metadata.name]);
    expect(logs.stdout).toMatch(/"GET \/ HTTP\/1\.1" 200 .*Wget/);
  });

  it('removes its pods when the DaemonSet is deleted', async () => {
    expect((await kubectl(cluster, ['delete', 'daemonset', 'nginx-daemonset', '--wait=true'])).code).toBe(0);
    const gone = await kubectl(cluster, ['wait', '--for=delete', 'pod', '-l', 'name=nginx-daemonset', '--timeout=120s']);
    expect(gone.code).toBe(0);
  });
});
