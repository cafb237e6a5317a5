import type { V1Node } from '@kubernetes/client-node';
import type { KubeClients } from '../kube.ts';
import type { NodeSummary } from './provider.ts';

/** Whether the node's Ready condition is True (what `kubectl get nodes` shows as Ready). */
export function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Each node's name, readiness and roles (from node-role.kubernetes.io/* labels), sorted by name. */
export async function nodeSummaries(clients: KubeClients): Promise<NodeSummary[]> {
  const nodes = (await clients.core.listNode()).items;
  return nodes
    .map((node) => ({
      name: node.metadata!.name!,
      ready: isNodeReady(node),
      roles: Object.keys(node.metadata?.labels ?? {})
        .filter((label) => label.startsWith('node-role.kubernetes.io/'))
        .map((label) => label.slice('node-role.kubernetes.io/'.length)),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
