/**
 * Whether a DaemonSet wants a pod on a node, and if not, why: the one place the map decides this.
 * A simple version (nodeSelector, required node affinity, NoSchedule/NoExecute taints) until the
 * lab engine's explanation in src/server/labs/checks lands; then this delegates to it.
 */
import type { V1DaemonSet, V1Node, V1NodeSelectorRequirement, V1Taint, V1Toleration } from '@kubernetes/client-node';

/** Undefined when the node is eligible, else the reason, e.g. `selector: disktype=ssd` or `taint: special=true:NoSchedule`. */
export function skipReason(daemonSet: V1DaemonSet, node: V1Node): string | undefined {
  const spec = daemonSet.spec?.template.spec;
  const labels = node.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(spec?.nodeSelector ?? {})) {
    if (labels[key] !== value) return `selector: needs ${key}=${value}`;
  }
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length > 0) {
    const matches = terms.some((term) => (term.matchExpressions ?? []).every((expression) => requirementHolds(expression, labels)));
    if (!matches) return 'selector: node affinity does not match';
  }
  const tolerations = spec?.tolerations ?? [];
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!tolerations.some((toleration) => tolerates(toleration, taint))) return `taint: ${formatTaint(taint)}`;
  }
  return undefined;
}

function requirementHolds(requirement: V1NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const value = labels[requirement.key];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && (requirement.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(requirement.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(requirement.values?.[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(requirement.values?.[0]);
    default:
      return false;
  }
}

function tolerates(toleration: V1Toleration, taint: V1Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

/** A taint as kubectl writes it: `key=value:Effect`. */
export function formatTaint(taint: V1Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`;
}
