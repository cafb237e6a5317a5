/**
 * Which pods the simulated kubelet's helper nudges (stuck-pods.ts): a pod kwok left waiting in
 * ContainerCreating or CreateContainerConfigError although its plan starts it, and no other. Fixtures with a given clock; the
 * nudge itself was tried on a pod kwok had left so at 1,000 nodes (it ran within 5 s), and the
 * scale bench exercises it.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NUDGED_ANNOTATION, PLAN_ANNOTATION } from '../../src/server/cluster/embedded/simulation/plan-annotation.ts';
import { MAX_NUDGES_PER_ROUND, STUCK_AFTER_MS, describeStuck, isStuckStarting, nudgePatch, podsToNudge } from '../../src/server/cluster/embedded/simulation/stuck-pods.ts';

const now = new Date('2026-11-25T02:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

/** A pod kwok created (Initialized `initializedMsAgo` ago) whose container waits in `reason`. */
function pod(options: { initializedMsAgo: number; reason?: string; phase?: string; plan?: string; nudgedMsAgo?: number; deleting?: boolean; uid?: string }): V1Pod {
  const annotations: Record<string, string> = {};
  if (options.plan !== '') annotations[PLAN_ANNOTATION] = options.plan ?? JSON.stringify({ containers: { web: { ready: 0 } }, phase: 'run', spec: 'abc' });
  if (options.nudgedMsAgo !== undefined) annotations[NUDGED_ANNOTATION] = ago(options.nudgedMsAgo).toISOString();
  return {
    metadata: { name: 'kindnet-pv5pg', namespace: 'kube-system', uid: options.uid ?? 'uid-1', annotations, ...(options.deleting ? { deletionTimestamp: now } : {}) },
    spec: { nodeName: 'daemonset-lab-worker239', containers: [{ name: 'web', image: 'nginx:1.27' }] },
    status: {
      phase: options.phase ?? 'Pending',
      conditions: [{ type: 'Initialized', status: 'True', lastTransitionTime: ago(options.initializedMsAgo) }],
      containerStatuses: [{ name: 'web', image: 'nginx:1.27', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: options.reason ?? 'ContainerCreating' } } }],
    },
  };
}

describe('a pod kwok left waiting to start', () => {
  it('is nudged once it has waited in ContainerCreating for 15 s with a plan that starts it', () => {
    expect(isStuckStarting(pod({ initializedMsAgo: STUCK_AFTER_MS }), now)).toBe(true);
    expect(isStuckStarting(pod({ initializedMsAgo: 5 * 60_000, plan: JSON.stringify({ phase: 'start', containers: {} }) }), now)).toBe(true);
  });

  it('is nudged when it still shows CreateContainerConfigError 15 s after its ConfigMap came and its plan says run', () => {
    // pod-start starts a container from this reason too (stages.yaml), so kwok can lose it here.
    expect(isStuckStarting(pod({ initializedMsAgo: 60_000, reason: 'CreateContainerConfigError' }), now)).toBe(true);
  });

  it('is nudged again only 15 s after its last nudge', () => {
    expect(isStuckStarting(pod({ initializedMsAgo: 120_000, nudgedMsAgo: 10_000 }), now)).toBe(false);
    expect(isStuckStarting(pod({ initializedMsAgo: 120_000, nudgedMsAgo: STUCK_AFTER_MS }), now)).toBe(true);
  });

  it('is logged with the time it was judged by (Initialized), not the pod\'s start time', () => {
    const waiting = pod({ initializedMsAgo: 60_000, reason: 'CreateContainerConfigError' });
    waiting.status!.startTime = new Date(0);
    expect(describeStuck(waiting)).toBe(`${waiting.metadata!.namespace}/${waiting.metadata!.name} has waited in CreateContainerConfigError since ${new Date(now.getTime() - 60_000).toISOString()}`);
  });

  it('gets a patch that changes only its nudge annotation, to the time', () => {
    expect(nudgePatch(now)).toEqual({ metadata: { annotations: { [NUDGED_ANNOTATION]: '2026-11-25T02:00:00.000Z' } } });
  });
});

describe('a pod left alone', () => {
  it.each([
    ['still within pod-start\'s time (kwok\'s delay is at most 2.5 s)', pod({ initializedMsAgo: 3_000 })],
    ['running', pod({ initializedMsAgo: 60_000, phase: 'Running' })],
    ['pulling or failing to pull its image', pod({ initializedMsAgo: 60_000, reason: 'ImagePullBackOff' })],
    ['held by a missing ConfigMap (its plan says so, not run)', pod({ initializedMsAgo: 60_000, reason: 'ContainerCreating', plan: JSON.stringify({ phase: 'config', containers: {} }) })],
    ['in CreateContainerConfigError while its ConfigMap is still missing', pod({ initializedMsAgo: 60_000, reason: 'CreateContainerConfigError', plan: JSON.stringify({ phase: 'config', containers: {} }) })],
    ['crash-looping (a container that ran)', pod({ initializedMsAgo: 60_000, reason: 'CrashLoopBackOff' })],
    ['not yet planned', pod({ initializedMsAgo: 60_000, plan: '' })],
    ['with a plan it cannot read', pod({ initializedMsAgo: 60_000, plan: '{not json' })],
    ['being deleted', pod({ initializedMsAgo: 60_000, deleting: true })],
  ])('%s', (_what, candidate) => {
    expect(isStuckStarting(candidate, now)).toBe(false);
  });

  it('before its init containers are done (no Initialized=True)', () => {
    const waiting = pod({ initializedMsAgo: 60_000 });
    waiting.status!.conditions = [{ type: 'Initialized', status: 'False', lastTransitionTime: ago(60_000) }];
    expect(isStuckStarting(waiting, now)).toBe(false);
  });
});

describe('a round of nudges', () => {
  const stuck = (uid: string) => pod({ initializedMsAgo: 60_000, uid });
  const fresh = (uid: string) => pod({ initializedMsAgo: 1_000, uid });

  it('nudges a lone pod kwok lost while the others start normally', () => {
    const chosen = podsToNudge([stuck('lost'), fresh('a'), fresh('b'), pod({ initializedMsAgo: 60_000, phase: 'Running', uid: 'c' })], now, new Map());
    expect(chosen.map((p) => p.metadata!.uid)).toEqual(['lost']);
  });

  it('nudges none when more pods wait than kwok would lose: it is behind, and a nudge would only requeue them', () => {
    const backlog = Array.from({ length: MAX_NUDGES_PER_ROUND + 1 }, (_, i) => stuck(`p${i}`));
    expect(podsToNudge(backlog, now, new Map())).toEqual([]);
    expect(podsToNudge(backlog.slice(1), now, new Map())).toHaveLength(MAX_NUDGES_PER_ROUND);
  });

  it('does not nudge a pod again within 15 s of its last nudge, although the watch has not yet brought the annotation back', () => {
    expect(podsToNudge([stuck('lost')], now, new Map([['lost', now.getTime() - 5_000]]))).toEqual([]);
    expect(podsToNudge([stuck('lost')], now, new Map([['lost', now.getTime() - STUCK_AFTER_MS]]))).toHaveLength(1);
  });
});
