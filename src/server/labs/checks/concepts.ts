/**
 * Checks that judge a concept by its effect, whatever way a correct answer is written: a rolling
 * update's pace (maxUnavailable resolved against the nodes, as the controller does), a grace
 * period's length, requests that fit the lab's nodes (the topology's size, the same on every
 * engine), a pod the controller made on a node after it was cordoned.
 */
import type { V1Container, V1DaemonSet, V1Node, V1Taint } from '@kubernetes/client-node';
import { NODE_CAPACITY } from '../../cluster/topology.ts';
import { fail, notApplicable, pass, type CheckContext, type CheckFunction, type CheckOutcome } from '../define.ts';
import { withDaemonSet } from './with-daemonset.ts';
import { daemonPodNode, describePod, formatTaint, isPodOf, toleratesTaint } from './scheduling.ts';
import { parseQuantity, resolveIntOrPercent } from './values.ts';

/** Runs checks in order: the first that does not pass decides; else they all pass together. */
export function allOf(...checks: CheckFunction[]): CheckFunction {
  return async (context) => {
    const observed: string[] = [];
    for (const check of checks) {
      const outcome = await check(context);
      if (outcome.status !== 'pass') return outcome;
      observed.push(outcome.observed);
    }
    return pass(observed.join(' '));
  };
}

/** A check only engines that add and remove nodes can judge; elsewhere it is not applicable (never passed). */
export function needsNodeChanges(run: CheckFunction): CheckFunction {
  return async (context: CheckContext): Promise<CheckOutcome> =>
    context.engine.canChangeNodes
      ? run(context)
      : notApplicable(
          `Not applicable here: the ${context.engine.provider} engine cannot add or remove nodes. On the embedded engine (npm run cluster -- up --provider embedded) you would run npm run cluster -- add-node and watch the pod appear.`,
        );
}

/** What the API server fills in for rollingUpdate.maxUnavailable and maxSurge. */
const DEFAULT_MAX_UNAVAILABLE = 1;
const DEFAULT_MAX_SURGE = 0;

/**
 * A RollingUpdate that replaces pods on at most `maxNodes` nodes at a time: maxUnavailable as
 * the controller resolves it (a percentage of the nodes that should run a pod, rounded up),
 * whether written as a number, a percentage or left to the default.
 */
export function rollingUpdatePace(name: string, file: string, maxNodes: number): CheckFunction {
  return withDaemonSet(name, file, (ds) => {
    const strategy = ds.spec?.updateStrategy;
    if (strategy?.type !== 'RollingUpdate') {
      return fail(`spec.updateStrategy.type is ${strategy?.type}.`, 'This step wants type RollingUpdate (kubectl explain daemonset.spec.updateStrategy).');
    }
    const nodes = ds.status?.desiredNumberScheduled ?? 0;
    const written = strategy.rollingUpdate?.maxUnavailable;
    const unavailable = resolveIntOrPercent(written, nodes, DEFAULT_MAX_UNAVAILABLE);
    const surge = resolveIntOrPercent(strategy.rollingUpdate?.maxSurge, nodes, DEFAULT_MAX_SURGE);
    const spelled = written === undefined ? `${unavailable} (the default)` : typeof written === 'string' && written.endsWith('%') ? `${written} of ${nodes} nodes, rounded up to ${unavailable}` : String(unavailable);
    if (unavailable > maxNodes) {
      return fail(
        `maxUnavailable is ${spelled}: an update may leave ${unavailable} nodes without a Ready pod at once.`,
        `Make spec.updateStrategy.rollingUpdate.maxUnavailable resolve to at most ${maxNodes} (a percentage is taken of the nodes that run a pod and rounded up); kubectl explain daemonset.spec.updateStrategy.rollingUpdate.`,
      );
    }
    const surgeText = surge ? `, maxSurge ${surge}` : '';
    return pass(`RollingUpdate: at most ${unavailable} of ${nodes} nodes without a Ready pod at a time (maxUnavailable ${spelled}${surgeText}).`);
  });
}

/** What the API server fills in for terminationGracePeriodSeconds. */
const DEFAULT_GRACE_PERIOD_SECONDS = 30;

/** The pod template gives its containers at least `seconds` to stop, however it is written. */
export function gracePeriodAtLeast(name: string, file: string, seconds: number): CheckFunction {
  return withDaemonSet(name, file, (ds) => {
    const written = ds.spec?.template?.spec?.terminationGracePeriodSeconds;
    const value = written ?? DEFAULT_GRACE_PERIOD_SECONDS;
    const spelled = written === undefined ? `${value} s (the default)` : `${value} s`;
    if (value < seconds) {
      return fail(
        `terminationGracePeriodSeconds is ${spelled}: the collector is killed ${value} s after it is asked to stop, before it can flush.`,
        `Give it at least ${seconds} s: spec.template.spec.terminationGracePeriodSeconds (kubectl explain daemonset.spec.template.spec.terminationGracePeriodSeconds).`,
      );
    }
    return pass(`terminationGracePeriodSeconds is ${spelled}.`);
  });
}

/** Sum of one resource's requests over the containers (a missing request counts as its limit, as the API server defaults it). */
function requested(containers: readonly V1Container[], resource: 'cpu' | 'memory'): number {
  return containers.reduce((sum, c) => sum + (parseQuantity(c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource]) ?? 0), 0);
}

/**
 * The pod template's requests fit a node of the lab topology (NODE_CAPACITY: the same 2 CPU /
 * 4 GiB on every engine, whatever the host kind's nodes report), and a Ready pod runs on every
 * node the DaemonSet wants. The verdict does not depend on the engine's node memory.
 */
export function requestsFitLabNodes(name: string, file: string): CheckFunction {
  return withDaemonSet(name, file, (ds: V1DaemonSet) => {
    const containers = [...(ds.spec?.template?.spec?.initContainers ?? []), ...(ds.spec?.template?.spec?.containers ?? [])];
    const over = (['cpu', 'memory'] as const)
      .map((resource) => ({ resource, wanted: requested(containers, resource), capacity: parseQuantity(NODE_CAPACITY[resource])! }))
      .filter((r) => r.wanted > r.capacity);
    if (over.length) {
      const text = over.map((r) => `${r.resource} ${formatAmount(r.resource, r.wanted)} requested, a lab node has ${NODE_CAPACITY[r.resource]}`).join('; ');
      return fail(
        `The pod template asks for more than a lab node offers: ${text}.`,
        `Compare spec.template.spec.containers[].resources.requests in ${file} with what a node can offer: kubectl describe node daemonset-lab-worker (Allocatable).`,
        over.map((r) => ({ kind: 'resources', resource: r.resource, requested: formatAmount(r.resource, r.wanted), available: NODE_CAPACITY[r.resource] })),
      );
    }
    return pass(`Requests fit a lab node (cpu ${formatAmount('cpu', requested(containers, 'cpu'))}, memory ${formatAmount('memory', requested(containers, 'memory'))} of ${NODE_CAPACITY.cpu} CPU / ${NODE_CAPACITY.memory}).`);
  });
}

function formatAmount(resource: 'cpu' | 'memory', amount: number): string {
  if (resource === 'cpu') return amount < 1 ? `${Math.round(amount * 1000)}m` : String(amount);
  const mebibytes = amount / 2 ** 20;
  return mebibytes >= 1024 ? `${+(mebibytes / 1024).toFixed(2)}Gi` : `${+mebibytes.toFixed(1)}Mi`;
}

/**
 * When a node was cordoned: the time of the newest managedFields entry that owns
 * spec.unschedulable (kubectl cordon writes it as field manager kubectl-cordon).
 */
export function cordonedAt(node: V1Node): Date | undefined {
  const times = (node.metadata?.managedFields ?? [])
    .filter((entry) => Boolean((entry.fieldsV1 as { 'f:spec'?: { 'f:unschedulable'?: unknown } } | undefined)?.['f:spec']?.['f:unschedulable']))
    .map((entry) => (entry.time ? new Date(entry.time) : undefined))
    .filter((time): time is Date => time !== undefined && !Number.isNaN(time.getTime()));
  return times.sort((a, b) => b.getTime() - a.getTime())[0];
}

/**
 * On a cordoned node, the DaemonSet controller created a pod after the cordon, and it is Ready:
 * the proof that a cordon does not keep daemon pods out. A pod that was already there proves nothing.
 */
export function podCreatedAfterCordon(name: string, file: string): CheckFunction {
  return withDaemonSet(name, file, async (ds, context) => {
    const cordoned = (await context.snapshot.nodes()).filter((n) => n.spec?.unschedulable);
    if (!cordoned.length) return fail('No node is cordoned (kubectl get nodes shows none SchedulingDisabled).', 'Mark a worker unschedulable: kubectl cordon --help.');
    const pods = (await context.snapshot.pods()).filter((p) => isPodOf(p, ds) && !p.metadata?.deletionTimestamp);
    const seen: string[] = [];
    for (const node of cordoned) {
      const nodeName = node.metadata?.name ?? '';
      const since = cordonedAt(node);
      const pod = pods.find((p) => daemonPodNode(p) === nodeName);
      const created = pod?.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp) : undefined;
      const state = pod ? describePod(pod) : undefined;
      // Timestamps have whole seconds: a pod made in the second of the cordon counts as after it.
      const after = Boolean(since && created && created.getTime() >= Math.floor(since.getTime() / 1000) * 1000);
      if (after && state?.ready) return pass(`${nodeName} is cordoned, yet the DaemonSet controller created ${state.name} there after the cordon, and it is Ready.`);
      if (!pod) seen.push(`${nodeName} has no ${name} pod yet`);
      else if (!after) seen.push(`${nodeName}'s pod ${state!.name} was created ${created?.toISOString() ?? '?'}, before the cordon (${since?.toISOString() ?? 'time unknown'}): it stayed, which says nothing about new pods`);
      else seen.push(`${nodeName}'s new pod ${state!.name} is ${state!.description}`);
    }
    return fail(
      `${seen.join('; ')}.`,
      `A pod that was there before the cordon simply stays. Delete the ${name} pod on the cordoned node (kubectl delete pod NAME) and watch what the controller does: kubectl get pods -o wide -w.`,
      cordoned.map((n) => ({ kind: 'pod-state', node: n.metadata?.name ?? '', state: 'created before the cordon' })),
    );
  });
}

/** The pod template shares the node's network and process namespaces (hostNetwork, hostPID). */
export function hostNamespaces(name: string, file: string): CheckFunction {
  return withDaemonSet(name, file, (ds) => {
    const spec = ds.spec?.template?.spec;
    const missing = [!spec?.hostNetwork && 'hostNetwork', !spec?.hostPID && 'hostPID'].filter((m): m is string => Boolean(m));
    if (missing.length) {
      return fail(
        `The pod template does not set ${missing.join(' or ')}: the agent would see its own pod's ${missing.map((m) => (m === 'hostNetwork' ? 'network' : 'processes')).join(' and ')}, not the node's.`,
        `Set spec.template.spec.${missing[0]}: true in ${file} (kubectl explain daemonset.spec.template.spec.${missing[0]}).`,
      );
    }
    return pass('The pods use the node\'s network and process namespaces (hostNetwork, hostPID).');
  });
}

/** Taints no lab sets, one per effect: a template that tolerates them tolerates any taint. */
const ANY_TAINTS: readonly V1Taint[] = [
  { key: 'example.com/any-taint', value: 'x', effect: 'NoSchedule' },
  { key: 'example.com/any-taint', value: 'x', effect: 'NoExecute' },
];

/**
 * The pod template tolerates every taint, whatever its key, value or effect (an `operator:
 * Exists` toleration without key and effect, however the rest is written).
 */
export function toleratesEveryTaint(name: string, file: string): CheckFunction {
  return withDaemonSet(name, file, (ds) => {
    const tolerations = ds.spec?.template?.spec?.tolerations ?? [];
    const untolerated = ANY_TAINTS.filter((taint) => !tolerations.some((t) => toleratesTaint(t, taint)));
    if (untolerated.length) {
      return fail(
        `The tolerations (${tolerations.map((t) => `${t.key ?? '*'} ${t.operator ?? 'Equal'}${t.effect ? ` ${t.effect}` : ''}`).join(', ') || 'none'}) would not tolerate a taint like ${untolerated.map(formatTaint).join(' or ')}: a node tainted that way tomorrow would lose its agent.`,
        `A toleration with operator Exists and no key tolerates every taint; leave out the effect to cover all effects (kubectl explain daemonset.spec.template.spec.tolerations).`,
      );
    }
    return pass('The pod template tolerates every taint.');
  });
}

/**
 * Every pod of the DaemonSet runs with the priority of `className` (as admission resolved it
 * into spec.priority), so the scheduler may preempt others to place it and the kubelet evicts it last.
 */
export function podsHavePriority(name: string, file: string, className: string, value: number): CheckFunction {
  return withDaemonSet(name, file, async (ds, context) => {
    const written = ds.spec?.template?.spec?.priorityClassName;
    const pods = (await context.snapshot.pods()).filter((p) => isPodOf(p, ds) && !p.metadata?.deletionTimestamp);
    const low = pods.filter((p) => (p.spec?.priority ?? 0) < value);
    if (!pods.length || low.length) {
      const seen = low.map((p) => `${p.metadata?.name}: ${p.spec?.priorityClassName ?? 'no class'}, priority ${p.spec?.priority ?? 0}`).join('; ');
      return fail(
        `${written ? `The template asks for ${written}` : 'The template sets no priorityClassName'}${seen ? `; ${seen}` : '; no pod yet'}.`,
        `A node agent should have the priority of ${className} (${value}): spec.template.spec.priorityClassName in ${file}; kubectl get priorityclasses lists them.`,
      );
    }
    return pass(`All ${pods.length} pods run with priority ${value} or more (${written}).`);
  });
}
