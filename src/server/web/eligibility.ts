/**
 * Whether a DaemonSet wants a pod on a node, and if not, why: the one place the map decides this.
 * It uses the lab engine's explanation (src/server/labs/checks/scheduling.ts), so the map and the
 * checks always agree, and prefixes what kind of rule skips the node.
 */
import type { V1DaemonSet, V1Node } from '@kubernetes/client-node';
import { daemonPodEligibility } from '../labs/checks/scheduling.ts';

export { formatTaint } from '../labs/checks/scheduling.ts';

/** Undefined when the node is eligible, else e.g. `taint: its taint special=true:NoSchedule is not tolerated…` or `selector: …`. */
export function skipReason(daemonSet: V1DaemonSet, node: V1Node): string | undefined {
  const eligibility = daemonPodEligibility(daemonSet.spec?.template?.spec ?? { containers: [] }, node);
  if (eligibility.eligible) return undefined;
  // Reasons list the selector/affinity misses first, then one line per untolerated taint.
  const selectorMisses = eligibility.reasons.length - eligibility.untoleratedTaints.length;
  return `${selectorMisses > 0 ? 'selector' : 'taint'}: ${eligibility.reasons.join('; ')}`;
}
