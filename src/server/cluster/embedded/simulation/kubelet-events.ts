/**
 * The kubelet's probe and kill events that the Stages do not write, decided from pod changes the
 * helper (agent.ts) watches: `Unhealthy` (a failing liveness or readiness probe, with the kubelet's
 * message) and `Killing` (a container killed after its liveness probe failed, or stopped because
 * its pod is being deleted). Pure: the agent writes what these functions return.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { POD_IP_PLACEHOLDER, type ContainerPlan } from './container.ts';
import { PLAN_ANNOTATION } from './plan-annotation.ts';

/**
 * How often the helper brings failing readiness probes' Unhealthy counts up to date (a kubelet
 * raises the count at each failed probe; here it may lag by this much: README, probe-event-counts).
 */
export const READINESS_TICK_MS = 5_000;

/** One event as the kubelet would record it (the agent turns it into an Event object). */
export interface KubeletEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: 'Unhealthy' | 'Killing';
  readonly container: string;
  readonly message: string;
  /** How many times it happened (the kubelet's event correlator folds repeats into one count). */
  readonly count: number;
  /** Tells apart events of one container with the same reason (liveness and readiness). */
  readonly key: string;
}

/** The plan of each container, from the pod's plan annotation (none before it is planned). */
function containerPlans(pod: V1Pod): Record<string, ContainerPlan> {
  const text = pod.metadata?.annotations?.[PLAN_ANNOTATION];
  if (!text) return {};
  try {
    return (JSON.parse(text) as { containers?: Record<string, ContainerPlan> }).containers ?? {};
  } catch {
    return {};
  }
}

function withPodIp(message: string, pod: V1Pod): string {
  return message.replaceAll(POD_IP_PLACEHOLDER, pod.status?.podIP ?? '');
}

function statusOf(pod: V1Pod | undefined, name: string): V1ContainerStatus | undefined {
  return pod?.status?.containerStatuses?.find((s) => s.name === name);
}

/**
 * Events for a change of one pod from `before` to `after`: a container its liveness probe ended
 * (it was running, now it terminated) gets Unhealthy (failureThreshold failed probes per run) and
 * Killing; a pod whose deletion just began gets Killing "Stopping container" for each running one.
 */
export function eventsForChange(before: V1Pod | undefined, after: V1Pod): KubeletEvent[] {
  const plans = containerPlans(after);
  const events: KubeletEvent[] = [];
  for (const container of after.spec?.containers ?? []) {
    const plan = plans[container.name];
    const was = statusOf(before, container.name);
    const now = statusOf(after, container.name);
    if (!plan?.livenessFailure || !was?.state?.running || !now?.state?.terminated) continue;
    const runs = (now.restartCount ?? 0) + 1;
    const failures = container.livenessProbe?.failureThreshold ?? 3;
    events.push({ type: 'Warning', reason: 'Unhealthy', container: container.name, key: 'liveness', count: failures * runs, message: withPodIp(plan.livenessFailure, after) });
    events.push({ type: 'Normal', reason: 'Killing', container: container.name, key: 'liveness', count: runs, message: `Container ${container.name} failed liveness probe, will be restarted` });
  }
  if (before && !before.metadata?.deletionTimestamp && after.metadata?.deletionTimestamp) {
    for (const status of after.status?.containerStatuses ?? []) {
      if (status.state?.running) events.push({ type: 'Normal', reason: 'Killing', container: status.name, key: 'stop', count: 1, message: `Stopping container ${status.name}` });
    }
  }
  return events;
}

/**
 * Unhealthy events of failing readiness probes at `now`: the prober runs every periodSeconds from
 * the container's start and skips runs before initialDelaySeconds, and each failed run counts once.
 */
export function readinessEvents(pod: V1Pod, now: Date): KubeletEvent[] {
  if (pod.metadata?.deletionTimestamp) return [];
  const plans = containerPlans(pod);
  const events: KubeletEvent[] = [];
  for (const container of pod.spec?.containers ?? []) {
    const message = plans[container.name]?.readinessFailure;
    const startedAt = statusOf(pod, container.name)?.state?.running?.startedAt;
    if (!message || !startedAt || !container.readinessProbe) continue;
    const period = container.readinessProbe.periodSeconds ?? 10;
    const delay = container.readinessProbe.initialDelaySeconds ?? 0;
    const elapsed = (now.getTime() - new Date(startedAt).getTime()) / 1000;
    if (elapsed < delay) continue;
    // Runs at 0, period, 2 period, …; the ones at or after the delay count.
    const count = Math.floor(elapsed / period) - Math.ceil(delay / period) + 1;
    if (count > 0) events.push({ type: 'Warning', reason: 'Unhealthy', container: container.name, key: 'readiness', count, message: withPodIp(message, pod) });
  }
  return events;
}
