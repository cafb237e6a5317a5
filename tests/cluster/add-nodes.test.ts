/**
 * `npm run cluster -- add-nodes COUNT [--label k=v] [--taint k=v:Effect]` as a user runs it: the
 * new workers are named and addressed as kind would name and address them, carry the labels and
 * taints, are Ready, and bad input names the mistake and creates nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isNodeReady } from '../../src/server/cluster/readiness.ts';
import { TOPOLOGY, nodeAddresses, nodeIndexOf } from '../../src/server/cluster/topology.ts';
import { connectTestCluster, testClusterEnv } from '../support/test-cluster.ts';

const info = inject('testCluster');
const cluster = connectTestCluster(info);
const repo = fileURLToPath(new URL('../..', import.meta.url));

function clusterCli(args: string[], env: Record<string, string> = testClusterEnv(info)) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(repo, 'scripts/cluster.ts'), ...args], { cwd: repo, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const nodeNames = async () => (await cluster.clients.core.listNode()).items.map((n) => n.metadata!.name!).sort();
const internalIP = (node: V1Node) => node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;

beforeAll(async () => {
  await cluster.provider.reset();
});
afterAll(async () => {
  await cluster.provider.reset();
});

describe('npm run cluster -- add-nodes', () => {
  it('adds Ready workers named, addressed, labelled and tainted as asked', async () => {
    const result = await clusterCli(['add-nodes', '3', '--provider', 'embedded', '--label', 'tier=edge', '--taint', 'dedicated=edge:NoSchedule']);
    expect(result.stderr).toContain('3 new nodes, all Ready: daemonset-lab-worker4 … daemonset-lab-worker6');
    expect(result.code).toBe(0);

    const nodes = (await cluster.clients.core.listNode()).items;
    const added = nodes.filter((n) => ['daemonset-lab-worker4', 'daemonset-lab-worker5', 'daemonset-lab-worker6'].includes(n.metadata!.name!));
    expect(added).toHaveLength(3);
    for (const node of added) {
      expect(isNodeReady(node)).toBe(true);
      expect(node.metadata?.labels).toMatchObject({ tier: 'edge', 'kubernetes.io/hostname': node.metadata!.name });
      expect(node.spec?.taints).toEqual([{ key: 'dedicated', value: 'edge', effect: 'NoSchedule' }]);
    }
    // Docker's next addresses after the base topology's, and a pod subnet of each node's own.
    expect(added.map(internalIP).sort()).toEqual(['172.18.0.6', '172.18.0.7', '172.18.0.8']);
    const cidrs = nodes.map((n) => n.spec?.podCIDR);
    expect(new Set(cidrs).size).toBe(nodes.length);
    expect(added.map((n) => n.spec?.podCIDR).sort()).toEqual(['10.244.4.0/24', '10.244.5.0/24', '10.244.6.0/24']);
  });

  it('shows the new workers in kubectl get nodes, and reset removes them again', async () => {
    const listed = await cluster.kubectl(['get', 'nodes', '--no-headers', '-o', 'custom-columns=NAME:.metadata.name']);
    expect(listed.stdout.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['daemonset-lab-worker6']));
    await cluster.provider.reset();
    expect(await nodeNames()).toEqual(TOPOLOGY.map((n) => n.name).sort());
  });

  it.each([
    [[], 'add-nodes needs how many nodes to add, a whole number from 1 to 5000: npm run cluster -- add-nodes 1000'],
    [['ten'], '(got "ten")'],
    [['0'], '(got "0")'],
    [['2.5'], '(got "2.5")'],
    [['5001'], '(got "5001")'],
  ])('refuses the count %j, naming it and the fix, and creates nothing', async (args, message) => {
    const before = await nodeNames();
    const result = await clusterCli(['add-nodes', ...args, '--provider', 'embedded']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(await nodeNames()).toEqual(before);
  });

  it('refuses a malformed taint before creating any node', async () => {
    const before = await nodeNames();
    const result = await clusterCli(['add-nodes', '2', '--provider', 'embedded', '--taint', 'dedicated=edge']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"dedicated=edge" is not a taint.');
    expect(result.stderr).toContain('Write it as key=value:Effect');
    expect(await nodeNames()).toEqual(before);
  });

  it('is refused, with the reason, on an engine that cannot add nodes', async () => {
    const state = await mkdtemp(join(tmpdir(), 'daemonset-lab-kind-add-nodes-'));
    try {
      const result = await clusterCli(['add-nodes', '10', '--provider', 'kind'], { DAEMONSET_LAB_STATE: state, PATH: dirname(process.execPath) });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('kind cannot add a node to a running cluster');
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});

describe('addresses of many nodes', () => {
  it('continue through 172.18.0.0/16 and one /24 pod subnet per node past the 256th, never twice', () => {
    expect(nodeAddresses(0)).toEqual({ internalIP: '172.18.0.2', podCIDR: '10.244.0.0/24' });
    expect(nodeAddresses(254)).toEqual({ internalIP: '172.18.1.0', podCIDR: '10.244.254.0/24' });
    expect(nodeAddresses(256)).toEqual({ internalIP: '172.18.1.2', podCIDR: '10.245.0.0/24' });
    const many = Array.from({ length: 5004 }, (_, index) => nodeAddresses(index));
    expect(new Set(many.map((a) => a.internalIP)).size).toBe(many.length);
    expect(new Set(many.map((a) => a.podCIDR)).size).toBe(many.length);
    expect(many.every((a, index) => nodeIndexOf(a.internalIP) === index)).toBe(true);
  });
});
