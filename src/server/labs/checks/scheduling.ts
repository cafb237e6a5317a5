/**
 * Where a DaemonSet wants a pod, computed from the real scheduling rules, and why a node is
 * skipped or still lacks a pod, in the learner's words. Pure functions over Kubernetes objects
 * (type-only imports), so the browser's node map can use them too.
 *
 * The DaemonSet controller puts a pod on a node when the pod template's nodeSelector and required
 * node affinity match the node and every NoSchedule/NoExecute taint is tolerated, counting the
 * tolerations the controller adds to every daemon pod (so `unschedulable`, i.e. a cordon, is
 * ignored). Whether the pod then fits (CPU, memory) is the scheduler's business: such a pod exists
 * but stays Pending, and its PodScheduled condition says why.
 */
import type {
  V1ContainerStatus,
  V1DaemonSet,
  V1Node,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1Pod,
  V1PodSpec,
  V1Taint,
  V1Toleration,
} from '@kubernetes/client-node';
import type { CheckReason } from '../../../shared/lab-results.ts';

/** Tolerations the DaemonSet controller adds to every daemon pod (pkg/controller/daemon/util). */
export const AUTOMATIC_DAEMONSET_TOLERATIONS: readonly V1Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];
/** Added only to pods with hostNetwork. */
const HOST_NETWORK_TOLERATION: V1Toleration = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

/** `key=value:Effect`, as kubectl prints a taint. */
export function formatTaint(taint: V1Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`;
}

/** Whether one toleration tolerates one taint (k8s.io/api/core/v1 Toleration.ToleratesTaint). */
export function toleratesTaint(toleration: V1Toleration, taint: V1Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  const operator = toleration.operator ?? 'Equal';
  if (!toleration.key) return operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  return operator === 'Exists' || (toleration.value ?? '') === (taint.value ?? '');
}

/**
 * The toleration that almost tolerates `taint`, and how it differs ("your toleration for key
 * "special" has effect NoExecute, but the taint's effect is NoSchedule"); undefined when none has its key.
 */
export function nearMissOf(taint: V1Taint, tolerations: readonly V1Toleration[]): string | undefined {
  const sameKey = tolerations.find((t) => t.key === taint.key);
  if (!sameKey) return undefined;
  if (sameKey.effect && sameKey.effect !== taint.effect) {
    return `your toleration for key "${taint.key}" has effect ${sameKey.effect}, but the taint's effect is ${taint.effect}`;
  }
  if ((sameKey.operator ?? 'Equal') === 'Equal' && (sameKey.value ?? '') !== (taint.value ?? '')) {
    return `your toleration for key "${taint.key}" expects value "${sameKey.value ?? ''}", but the taint's value is "${taint.value ?? ''}"`;
  }
  return undefined;
}

/** Why no toleration of the template tolerates `taint`, pointing at the closest one: "no toleration has key …". */
export function whyNotTolerated(taint: V1Taint, tolerations: readonly V1Toleration[]): string {
  const nearMiss = nearMissOf(taint, tolerations);
  if (nearMiss) return nearMiss;
  const keys = tolerations.map((t) => t.key).filter((k): k is string => Boolean(k));
  return keys.length ? `no toleration has key "${taint.key}" (yours: ${keys.map((k) => `"${k}"`).join(', ')})` : 'the pod template has no tolerations';
}

/** "its taint special=true:NoSchedule is not tolerated: …" (see {@link whyNotTolerated}). */
export function explainUntoleratedTaint(taint: V1Taint, tolerations: readonly V1Toleration[]): string {
  return `its taint ${formatTaint(taint)} is not tolerated: ${whyNotTolerated(taint, tolerations)}`;
}

/**
 * Whether one selector requirement holds for a value: the one evaluation of In, NotIn, Exists,
 * DoesNotExist (label and node selectors) and Gt, Lt (node selectors only; the API refuses them
 * in label selectors).
 */
export function matchesRequirement(requirement: Pick<V1NodeSelectorRequirement, 'operator' | 'values'>, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

function formatRequirement(requirement: V1NodeSelectorRequirement): string {
  const values = requirement.values?.length ? ` (${requirement.values.join(', ')})` : '';
  return `${requirement.key} ${requirement.operator}${values}`;
}

function termMatches(term: V1NodeSelectorTerm, node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  const fields: Record<string, string | undefined> = { 'metadata.name': node.metadata?.name };
  const expressions = term.matchExpressions ?? [];
  const matchFields = term.matchFields ?? [];
  // An empty term matches nothing (k8s.io/component-helpers nodeaffinity).
  if (expressions.length === 0 && matchFields.length === 0) return false;
  return expressions.every((r) => matchesRequirement(r, labels[r.key])) && matchFields.every((r) => matchesRequirement(r, fields[r.key]));
}

/** Whether a pod spec may run on a node, and if not, every reason, in the learner's words. */
export interface Eligibility {
  readonly eligible: boolean;
  /** Empty when eligible, e.g. ["its taint special=true:NoSchedule is not tolerated: …"]. */
  readonly reasons: readonly string[];
  /** The NoSchedule/NoExecute taints of the node the pod does not tolerate. */
  readonly untoleratedTaints: readonly V1Taint[];
  /** The same reasons as data. */
  readonly causes: readonly CheckReason[];
}

/** Whether the DaemonSet controller would place a pod with this spec on this node, and why not. */
export function daemonPodEligibility(spec: V1PodSpec, node: V1Node): Eligibility {
  const reasons: string[] = [];
  const causes: CheckReason[] = [];
  const nodeName = node.metadata?.name ?? '';
  const labels = node.metadata?.labels ?? {};
  for (const [key, wanted] of Object.entries(spec.nodeSelector ?? {})) {
    if (labels[key] !== wanted) {
      causes.push({ kind: 'selector-mismatch', node: nodeName, selector: `nodeSelector ${key}=${wanted}` });
      reasons.push(
        labels[key] === undefined
          ? `it has no label ${key} (your nodeSelector asks for ${key}=${wanted})`
          : `its label ${key} is "${labels[key]}" (your nodeSelector asks for "${wanted}")`,
      );
    }
  }
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.some((term) => termMatches(term, node))) {
    const wanted = terms.map((t) => (t.matchExpressions ?? []).map(formatRequirement).join(' and ') || '(empty term)').join(' or ');
    reasons.push(`its labels do not match your required node affinity: ${wanted}`);
    causes.push({ kind: 'selector-mismatch', node: nodeName, selector: `required node affinity ${wanted}` });
  }
  const tolerations = [...(spec.tolerations ?? [])];
  const all = [...tolerations, ...AUTOMATIC_DAEMONSET_TOLERATIONS, ...(spec.hostNetwork ? [HOST_NETWORK_TOLERATION] : [])];
  const untoleratedTaints = (node.spec?.taints ?? []).filter(
    (taint) => taint.effect !== 'PreferNoSchedule' && !all.some((t) => toleratesTaint(t, taint)),
  );
  for (const taint of untoleratedTaints) {
    reasons.push(explainUntoleratedTaint(taint, tolerations));
    causes.push({ kind: 'taint-not-tolerated', node: nodeName, taint: formatTaint(taint), why: whyNotTolerated(taint, tolerations) });
  }
  return { eligible: reasons.length === 0, reasons, untoleratedTaints, causes };
}

/** The node a daemon pod is for: its nodeName, or the node its controller-set affinity names. */
export function daemonPodNode(pod: V1Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    const field = term.matchFields?.find((f) => f.key === 'metadata.name' && f.operator === 'In');
    if (field?.values?.[0]) return field.values[0];
  }
  return undefined;
}

/** What a pod is doing, for people. */
export interface PodState {
  readonly name: string;
  readonly ready: boolean;
  /** e.g. "Ready", "Pending: 0/4 nodes are available: 1 Insufficient memory", "CrashLoopBackOff (last exit code 1)". */
  readonly description: string;
  /** A short machine-friendly reason: Ready, Unschedulable, ErrImagePull, ImagePullBackOff, CrashLoopBackOff, … */
  readonly reason: string;
  readonly images: readonly string[];
  readonly restarts: number;
  readonly lastExitCode?: number;
  readonly terminating: boolean;
  /** How long the pod's containers have all been running, in seconds (absent unless all run). */
  readonly runningSeconds?: number;
}

/**
 * A container that crashed and runs again is counted Ready only after this long: a crash loop shows
 * Running and Ready between crashes until the kubelet notices the next exit (its first back-off is 10 s).
 */
export const RESTARTED_STABLE_SECONDS = 10;

/** Seconds since the latest container start, when every container is running. */
function runningSeconds(statuses: readonly V1ContainerStatus[]): number | undefined {
  const starts = statuses.map((s) => s.state?.running?.startedAt);
  if (!starts.length || starts.some((t) => !t)) return undefined;
  const latest = Math.max(...starts.map((t) => new Date(t!).getTime()));
  return Math.max(0, (Date.now() - latest) / 1000);
}

/** A Ready pod between two crashes of a crash loop, described as such; undefined otherwise. */
function readyBetweenCrashes(statuses: readonly V1ContainerStatus[], running: number | undefined): { reason: string; description: string } | undefined {
  const restarted = statuses.find((s) => (s.restartCount ?? 0) > 0 && s.lastState?.terminated);
  if (!restarted || running === undefined || running >= RESTARTED_STABLE_SECONDS) return undefined;
  const last = restarted.lastState!.terminated!;
  return {
    reason: 'Restarted',
    description: `running again for only ${Math.round(running)} s after its container exited with code ${last.exitCode} (${restarted.restartCount} restarts; a crash loop shows Running between crashes)`,
  };
}

/** Describes a pod the way `kubectl get pods` and `describe` would let a learner see it. */
export function describePod(pod: V1Pod): PodState {
  const statuses = pod.status?.containerStatuses ?? [];
  const images = (pod.spec?.containers ?? []).map((c) => c.image ?? '');
  const restarts = statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
  const lastExitCode = statuses.map((s) => s.lastState?.terminated?.exitCode ?? s.state?.terminated?.exitCode).find((c) => c !== undefined);
  const terminating = Boolean(pod.metadata?.deletionTimestamp);
  const ready = !terminating && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const running = runningSeconds(statuses);
  const base = {
    name: pod.metadata?.name ?? '',
    ready,
    images,
    restarts,
    terminating,
    ...(lastExitCode === undefined ? {} : { lastExitCode }),
    ...(running === undefined ? {} : { runningSeconds: running }),
  };
  if (terminating) return { ...base, reason: 'Terminating', description: 'Terminating' };
  const betweenCrashes = ready ? readyBetweenCrashes(statuses, running) : undefined;
  if (betweenCrashes) return { ...base, ready: false, ...betweenCrashes };
  if (ready) return { ...base, reason: 'Ready', description: 'Ready' };
  const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    return { ...base, reason: scheduled.reason ?? 'Pending', description: `Pending, not scheduled: ${(scheduled.message ?? scheduled.reason ?? 'no reason given yet').replace(/\.+$/, '')}` };
  }
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    if (waiting?.reason) {
      const exit = status.lastState?.terminated?.exitCode;
      const detail = waiting.reason === 'CrashLoopBackOff' && exit !== undefined ? ` (last exit code ${exit}, ${status.restartCount} restarts)` : '';
      return { ...base, reason: waiting.reason, description: `${waiting.reason}${detail}` };
    }
    if (status.state?.terminated) {
      const restarts = status.restartCount ? `, ${status.restartCount} restarts so far` : '';
      return { ...base, reason: status.state.terminated.reason ?? 'Terminated', description: `crashed: its container exited with code ${status.state.terminated.exitCode}${restarts}` };
    }
  }
  return { ...base, reason: pod.status?.phase ?? 'Pending', description: `${pod.status?.phase ?? 'Pending'}, not Ready yet` };
}

/** One node as seen from one DaemonSet. */
export interface NodePlacement {
  readonly node: string;
  readonly eligible: boolean;
  /** Why the DaemonSet skips the node (empty when eligible). */
  readonly reasons: readonly string[];
  readonly untoleratedTaints: readonly V1Taint[];
  /** The reasons as data. */
  readonly causes: readonly CheckReason[];
  readonly controlPlane: boolean;
  readonly unschedulable: boolean;
  /** The DaemonSet's pod for this node, if there is one (the newest if several). */
  readonly pod?: PodState;
}

/** Whether a pod belongs to a DaemonSet (by owner uid, else by name). */
export function isPodOf(pod: V1Pod, daemonSet: V1DaemonSet): boolean {
  return (pod.metadata?.ownerReferences ?? []).some(
    (owner) => owner.kind === 'DaemonSet' && (daemonSet.metadata?.uid ? owner.uid === daemonSet.metadata.uid : owner.name === daemonSet.metadata?.name),
  );
}

/** Whether a node carries the control-plane role label. */
export function isControlPlane(node: V1Node): boolean {
  return 'node-role.kubernetes.io/control-plane' in (node.metadata?.labels ?? {});
}

/**
 * For every node: whether the DaemonSet wants a pod there, why not, and the pod it has. This is
 * what powers messages like "daemonset-lab-worker3 has none: its taint special=true:NoSchedule is
 * not tolerated", and the node map in the browser.
 */
export function explainDaemonSetPlacement(daemonSet: V1DaemonSet, nodes: readonly V1Node[], pods: readonly V1Pod[]): NodePlacement[] {
  const spec = daemonSet.spec?.template?.spec ?? { containers: [] };
  const own = pods.filter((pod) => isPodOf(pod, daemonSet));
  return nodes.map((node) => {
    const name = node.metadata?.name ?? '';
    const eligibility = daemonPodEligibility(spec, node);
    const candidates = own
      .filter((pod) => daemonPodNode(pod) === name)
      .sort((a, b) => Number(Boolean(a.metadata?.deletionTimestamp)) - Number(Boolean(b.metadata?.deletionTimestamp)));
    const pod = candidates[0];
    return {
      node: name,
      eligible: eligibility.eligible,
      reasons: eligibility.reasons,
      untoleratedTaints: eligibility.untoleratedTaints,
      causes: eligibility.causes,
      controlPlane: isControlPlane(node),
      unschedulable: Boolean(node.spec?.unschedulable),
      ...(pod ? { pod: describePod(pod) } : {}),
    };
  });
}
