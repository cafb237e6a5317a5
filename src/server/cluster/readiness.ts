/**
 * Node readiness as `kubectl get nodes` shows it. A base module: the baseline, the providers and
 * the web map all ask the same question, and none of them may import another for it.
 */
import type { V1Node } from '@kubernetes/client-node';

/** Whether the node's Ready condition is True (what `kubectl get nodes` shows as Ready). */
export function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** When the node's Ready condition last changed (came back Ready, or stopped being so), if it says. */
export function readySince(node: V1Node): Date | undefined {
  const time = node.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
  return time ? new Date(time) : undefined;
}
