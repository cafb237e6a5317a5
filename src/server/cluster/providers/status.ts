import type { KubeClients } from '../kube.ts';
import { isNodeReady } from '../readiness.ts';
import type { NodeSummary } from './provider.ts';

// Kept for the modules that import it from here; it lives in the base module readiness.ts.
export { isNodeReady };

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
