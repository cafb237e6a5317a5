/**
 * Pods kwok left behind. kwok v0.8.0 can replay an older copy of a pod after a newer one (when it
 * lists a node's pods on taking the node's lease): the pod-start Stage's patch from that copy is
 * refused (409: it carries the copy's resourceVersion so as never to undo newer states), and
 * kwok's retry re-queues the stale copy and cancels the current job. The pod then waits in
 * ContainerCreating for good, since nothing changes it again (seen at 1,000 nodes: 1 of 2,000
 * kube-proxy and kindnet pods, holding a whole scale bench). A kubelet would have started it.
 *
 * Any change to the pod hands kwok a fresh copy, and its Stage then plays (tried on that pod).
 * The helper makes that change: an annotation with the time, on a pod that has waited far longer
 * than pod-start's delay (at most 2.5 s). A pod that starts normally is never touched.
 *
 * A lost pod is told from a queued one by company: when kwok is behind (a thousand new pods on a
 * busy machine), hundreds wait, and a nudge would only send each to the back of kwok's queue and
 * add a write per pod to an API server that is already the bottleneck (tried: nudging every
 * waiting pod every 5 s sent 67,000 patches and the controller manager lost its lease). So a
 * round nudges only when few pods wait that long, and each pod at most once in
 * {@link STUCK_AFTER_MS}, counted here rather than from the annotation a lagging watch has not
 * yet brought back.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { NUDGED_ANNOTATION, PLAN_ANNOTATION } from './plan-annotation.ts';

/** How long a pod whose plan starts its containers may wait to be created before it is nudged, and between nudges. */
export const STUCK_AFTER_MS = 15_000;

/** More pods than this waiting at once means kwok is behind, not that it lost them: none is nudged. */
export const MAX_NUDGES_PER_ROUND = 8;

/** The plan phases in which the pod-start Stage starts the containers (stages.yaml, pod-start). */
const STARTING_PHASES = new Set(['run', 'start']);

/**
 * The waiting reasons the pod-start Stage starts a container from (stages.yaml, pod-start): a pod
 * whose ConfigMap came later waits in CreateContainerConfigError until its new plan says run, and
 * kwok can lose it there as well.
 */
const STARTABLE_REASONS = new Set(['ContainerCreating', 'CreateContainerConfigError']);

function planPhase(pod: V1Pod): string | undefined {
  const plan = pod.metadata?.annotations?.[PLAN_ANNOTATION];
  if (!plan) return undefined;
  try {
    return (JSON.parse(plan) as { phase?: unknown }).phase as string | undefined;
  } catch {
    return undefined; // Not ours to judge: the planner rewrites a plan it cannot read.
  }
}

/** When the pod's Initialized condition turned True: from then on, only pod-start keeps it waiting. */
const initializedAt = (pod: V1Pod) => pod.status?.conditions?.find((c) => c.type === 'Initialized' && c.status === 'True')?.lastTransitionTime;

/** The first waiting reason pod-start starts a container from, if any. */
const startableReason = (pod: V1Pod) =>
  (pod.status?.containerStatuses ?? []).map((c) => c.state?.waiting?.reason ?? '').find((reason) => STARTABLE_REASONS.has(reason));

const olderThan = (time: Date | string | undefined, now: Date, ms: number) => time !== undefined && now.getTime() - new Date(time).getTime() >= ms;

/**
 * Whether kwok has left the pod waiting to start: Pending, initialized at least
 * {@link STUCK_AFTER_MS} ago, a container still waiting to be created although its plan starts it, and
 * not nudged within that time.
 */
export function isStuckStarting(pod: V1Pod, now: Date): boolean {
  if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Pending') return false;
  if (!olderThan(initializedAt(pod), now, STUCK_AFTER_MS)) return false;
  if (!startableReason(pod)) return false;
  if (!STARTING_PHASES.has(planPhase(pod) ?? '')) return false;
  const nudged = pod.metadata?.annotations?.[NUDGED_ANNOTATION];
  return nudged === undefined || olderThan(nudged, now, STUCK_AFTER_MS);
}

/**
 * The pods to nudge now: those {@link isStuckStarting}, not nudged (by uid, in `lastNudged`, ms
 * since the epoch) within {@link STUCK_AFTER_MS}, and none when more than
 * {@link MAX_NUDGES_PER_ROUND} are stuck.
 */
export function podsToNudge(pods: Iterable<V1Pod>, now: Date, lastNudged: ReadonlyMap<string, number>): V1Pod[] {
  const stuck = [...pods].filter((pod) => isStuckStarting(pod, now));
  if (stuck.length > MAX_NUDGES_PER_ROUND) return [];
  return stuck.filter((pod) => now.getTime() - (lastNudged.get(pod.metadata?.uid ?? '') ?? 0) >= STUCK_AFTER_MS);
}

/** The merge patch that hands kwok a fresh copy of a stuck pod. */
export function nudgePatch(now: Date) {
  return { metadata: { annotations: { [NUDGED_ANNOTATION]: now.toISOString() } } };
}

/** What the helper logs for a nudged pod: the reason and the time {@link isStuckStarting} judged by. */
export function describeStuck(pod: V1Pod): string {
  const since = initializedAt(pod);
  return `${pod.metadata?.namespace}/${pod.metadata?.name} has waited in ${startableReason(pod)} since ${since === undefined ? 'an unknown time' : new Date(since).toISOString()}`;
}
