/**
 * Node conditions on demand for the simulated nodes: `npm run cluster -- node-condition <node>
 * NotReady|MemoryPressure|DiskPressure|PIDPressure [--clear]`. The condition is recorded in a node
 * annotation; the node Stages report it as the kubelet would, and the real node lifecycle
 * controller then taints the node (node.kubernetes.io/not-ready, …/memory-pressure, …).
 */
import type { V1Node } from '@kubernetes/client-node';
import { UsageError } from '../../../errors.ts';
import { MERGE_PATCH, isNotFound, waitFor, type KubeClients } from '../../kube.ts';
import { CONDITIONS_ANNOTATION } from './plan-annotation.ts';

/** The conditions a learner can set, with the node condition each one changes. */
export const NODE_CONDITIONS = {
  NotReady: { type: 'Ready', status: 'False', taint: 'node.kubernetes.io/not-ready' },
  MemoryPressure: { type: 'MemoryPressure', status: 'True', taint: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { type: 'DiskPressure', status: 'True', taint: 'node.kubernetes.io/disk-pressure' },
  PIDPressure: { type: 'PIDPressure', status: 'True', taint: 'node.kubernetes.io/pid-pressure' },
} as const;
export type NodeConditionName = keyof typeof NODE_CONDITIONS;

/** Parses a condition name, or says which ones exist. */
export function parseNodeCondition(text: string | undefined): NodeConditionName {
  if (text && text in NODE_CONDITIONS) return text as NodeConditionName;
  throw new UsageError(`"${text ?? ''}" is not a node condition this command sets; use one of ${Object.keys(NODE_CONDITIONS).join(', ')}.`);
}

/** The conditions a node's annotation sets. */
export function conditionsOf(node: V1Node): NodeConditionName[] {
  const listed = (node.metadata?.annotations?.[CONDITIONS_ANNOTATION] ?? '').split(',');
  return listed.filter((name): name is NodeConditionName => name in NODE_CONDITIONS);
}

/**
 * Sets (or clears) a condition on a simulated node and waits until the node reports it.
 * Returns what the node now reports, e.g. `Ready=False (KubeletNotReady)`.
 */
export async function setNodeCondition(clients: KubeClients, nodeName: string, condition: NodeConditionName, clear = false): Promise<string> {
  const node = await clients.core.readNode({ name: nodeName }).catch((error: unknown) => {
    if (isNotFound(error)) throw new UsageError(`There is no node "${nodeName}"; \`kubectl get nodes\` lists them.`);
    throw error;
  });
  const current = new Set(conditionsOf(node));
  if (clear) current.delete(condition);
  else current.add(condition);
  const value = [...current].sort().join(',');
  await clients.core.patchNode({ name: nodeName, body: { metadata: { annotations: { [CONDITIONS_ANNOTATION]: value || null } } } }, MERGE_PATCH);
  const { type, status } = NODE_CONDITIONS[condition];
  const wanted = clear ? (status === 'True' ? 'False' : 'True') : status;
  const reported = await waitFor(
    `${nodeName} to report ${type}=${wanted}`,
    async () => {
      const conditions = (await clients.core.readNode({ name: nodeName })).status?.conditions ?? [];
      const found = conditions.find((c) => c.type === type);
      return found?.status === wanted ? found : undefined;
    },
    20_000,
  );
  return `${type}=${reported.status} (${reported.reason})`;
}
