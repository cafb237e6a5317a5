import type { KubeClients } from '../kube.ts';
import type { NodeSummary } from './provider.ts';

/** Each node's name, readiness and roles (from node-role.kubernetes.io/* labels), sorted by name. */
export async function nodeSummaries(clients: KubeClients): Promise<NodeSummary[]> {
  const nodes = (await clients.core.listNode()).items;
  return nodes
    .map((node) => ({
      name: node.metadata!.name!,
      ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      roles: Object.keys(node.metadata?.labels ?? {})
        .filter((label) => label.startsWith('node-role.kubernetes.io/'))
        .map((label) => label.slice('node-role.kubernetes.io/'.length)),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
