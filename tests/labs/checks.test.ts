/**
 * The check helpers on a hand-built snapshot: the words a learner reads (pinned), and the
 * judgement of state rather than text (a toleration in any correct form, a field declared by
 * kubectl apply or server-side apply but not by defaulting).
 */
import type { V1DaemonSet, V1Node, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  cordonedAt,
  daemonSetCoverage,
  fieldDeclared,
  gracePeriodAtLeast,
  nodeWentNotReady,
  podCreatedAfterCordon,
  requestsFitLabNodes,
  requiredNodeAffinity,
  rollingUpdatePace,
  selectorMatchesTemplate,
} from '../../src/server/labs/checks/index.ts';
import type { CheckContext, ClusterSnapshot } from '../../src/server/labs/define.ts';

const SPECIAL: V1Taint = { key: 'special', value: 'true', effect: 'NoSchedule' };
const CP_TAINT: V1Taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

const node = (name: string, taints: V1Taint[] = [], labels: Record<string, string> = {}): V1Node => ({ metadata: { name, labels }, spec: { taints } });
const nodes = [
  node('daemonset-lab-control-plane', [CP_TAINT], { 'node-role.kubernetes.io/control-plane': '' }),
  node('daemonset-lab-worker'),
  node('daemonset-lab-worker2'),
  node('daemonset-lab-worker3', [SPECIAL]),
];

function daemonSet(tolerations: V1Toleration[] = [], status: Partial<NonNullable<V1DaemonSet['status']>> = {}): V1DaemonSet {
  return {
    metadata: { name: 'nginx-daemonset', uid: 'uid-1', generation: 1 },
    spec: { selector: {}, template: { spec: { tolerations, containers: [{ name: 'nginx', image: 'nginx:1.19' }] } } },
    status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, currentNumberScheduled: 3, numberMisscheduled: 0, numberReady: 3, ...status },
  };
}

const readyPod = (nodeName: string): V1Pod => ({
  metadata: { name: `nginx-daemonset-${nodeName.slice(-2)}`, ownerReferences: [{ kind: 'DaemonSet', name: 'nginx-daemonset', uid: 'uid-1', apiVersion: 'apps/v1' }] },
  spec: { nodeName, containers: [{ name: 'nginx', image: 'nginx:1.19' }] },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});

function context(ds: V1DaemonSet | undefined, pods: V1Pod[], liveNodes: V1Node[] = nodes): CheckContext {
  const snapshot: ClusterSnapshot = {
    nodes: async () => liveNodes,
    pods: async () => pods,
    daemonSets: async () => (ds ? [ds] : []),
    daemonSet: async (name) => (ds?.metadata?.name === name ? ds : undefined),
    revisions: async () => [],
    events: async () => [],
  };
  const labTaints = new Map([['daemonset-lab-control-plane', [CP_TAINT]], ['daemonset-lab-worker3', [SPECIAL]]]);
  return { snapshot, engine: { provider: 'embedded', canChangeNodes: true }, passedSteps: new Set(), labTaints };
}

const everyWorker = daemonSetCoverage('nginx-daemonset', { file: 'nginx-daemonset.yaml', expect: 'workers' });
const workerPods = ['daemonset-lab-worker', 'daemonset-lab-worker2'].map(readyPod);

describe('daemonSetCoverage', () => {
  it('names the node without a pod and the taint that keeps it out', async () => {
    const outcome = await everyWorker(context(daemonSet(), workerPods));
    expect(outcome).toMatchInlineSnapshot(`
      {
        "hint": "The pod template has no tolerations. Compare the node's taints (kubectl describe node daemonset-lab-worker3 | grep -A2 Taints) with spec.template.spec.tolerations in nginx-daemonset.yaml: key, value, operator and effect must all match the taint.",
        "observed": "2 of 3 workers run a Ready pod; daemonset-lab-worker3 has none: its taint special=true:NoSchedule is not tolerated: the pod template has no tolerations.",
        "reasons": [
          {
            "kind": "taint-not-tolerated",
            "node": "daemonset-lab-worker3",
            "taint": "special=true:NoSchedule",
            "why": "the pod template has no tolerations",
          },
        ],
        "status": "fail",
      }
    `);
  });

  it('says which part of a near-miss toleration is wrong', async () => {
    const outcome = await everyWorker(context(daemonSet([{ key: 'special', operator: 'Exists', effect: 'NoExecute' }]), workerPods));
    expect(outcome.status).toBe('fail');
    expect(outcome.hint).toMatchInlineSnapshot(`"Your toleration for key "special" has effect NoExecute, but the taint's effect is NoSchedule. Compare the node's taints (kubectl describe node daemonset-lab-worker3 | grep -A2 Taints) with spec.template.spec.tolerations in nginx-daemonset.yaml: key, value, operator and effect must all match the taint."`);
  });

  it.each<[string, V1Toleration]>([
    ['key, Equal and value', { key: 'special', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
    ['key and Exists', { key: 'special', operator: 'Exists' }],
    ['a blanket Exists', { operator: 'Exists' }],
  ])('accepts a toleration written as %s', async (_form, toleration) => {
    const pods = [...workerPods, readyPod('daemonset-lab-worker3')];
    expect(await everyWorker(context(daemonSet([toleration]), pods))).toMatchObject({ status: 'pass' });
  });

  it('waits for a rollout before passing', async () => {
    const pods = [...workerPods, readyPod('daemonset-lab-worker3')];
    const outcome = await everyWorker(context(daemonSet([{ operator: 'Exists' }], { updatedNumberScheduled: 1 }), pods));
    expect(outcome).toMatchObject({ status: 'fail', observed: expect.stringContaining('a rollout is in progress: 1 of 3 pods run the current template') });
  });

  it('tells a missing DaemonSet apart, with the command that creates it', async () => {
    expect(await everyWorker(context(undefined, []))).toMatchInlineSnapshot(`
      {
        "hint": "Create it from your file: kubectl apply -f nginx-daemonset.yaml, then list it with kubectl get daemonsets.",
        "observed": "There is no DaemonSet nginx-daemonset in namespace default.",
        "status": "fail",
      }
    `);
  });
});

describe('fieldDeclared', () => {
  const path = ['spec', 'updateStrategy', 'rollingUpdate', 'maxUnavailable'];
  it('is false for a defaulted value recorded by an Update', () => {
    const object = { metadata: { managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: { 'f:spec': { 'f:updateStrategy': { 'f:rollingUpdate': { 'f:maxUnavailable': {} } } } } }] } };
    expect(fieldDeclared(object, path, 1, 1)).toBe(false);
  });
  it('is true when kubectl apply or server-side apply wrote it, or when it differs from the default', () => {
    const lastApplied = { metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ spec: { updateStrategy: { rollingUpdate: { maxUnavailable: 1 } } } }) } } };
    const serverSide = { metadata: { managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:updateStrategy': { 'f:rollingUpdate': { 'f:maxUnavailable': {} } } } } }] } };
    expect(fieldDeclared(lastApplied, path, 1, 1)).toBe(true);
    expect(fieldDeclared(serverSide, path, 1, 1)).toBe(true);
    expect(fieldDeclared({}, path, '25%', 1)).toBe(true);
  });
});

describe('requiredNodeAffinity', () => {
  it('explains that a preferred affinity is only a wish', async () => {
    const ds = daemonSet();
    ds.spec!.template.spec!.affinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }] } }] } };
    expect(await requiredNodeAffinity('nginx-daemonset', 'nginx-daemonset.yaml')(context(ds, []))).toMatchInlineSnapshot(`
      {
        "hint": "Use spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[].matchExpressions (kubectl explain daemonset.spec.template.spec.affinity.nodeAffinity).",
        "observed": "Only preferredDuringSchedulingIgnoredDuringExecution is set: a preference, which lets pods go to any node when needed.",
        "status": "fail",
      }
    `);
  });
});

describe('checks that judge the effect, not the spelling', () => {
  const withSpec = (patch: (ds: V1DaemonSet) => void) => {
    const ds = daemonSet();
    patch(ds);
    return ds;
  };

  it('fails coverage when the lab\'s taint was removed from the node instead of tolerated', async () => {
    const untainted = nodes.map((n) => (n.metadata?.name === 'daemonset-lab-worker3' ? node('daemonset-lab-worker3') : n));
    const outcome = await everyWorker(context(daemonSet(), [...workerPods, readyPod('daemonset-lab-worker3')], untainted));
    expect(outcome.status).toBe('fail');
    expect(outcome.hint).toContain('Put the taint back (kubectl taint nodes daemonset-lab-worker3 special=true:NoSchedule)');
    expect(outcome.reasons).toEqual([{ kind: 'taint-removed', node: 'daemonset-lab-worker3', taint: 'special=true:NoSchedule' }]);
  });

  it('resolves maxUnavailable as the controller does: 34% of 3 nodes is 2, 33% and the default are 1', async () => {
    const pace = rollingUpdatePace('nginx-daemonset', 'f.yaml', 1);
    const strategy = (rollingUpdate?: { maxUnavailable?: string | number }) => withSpec((ds) => (ds.spec!.updateStrategy = { type: 'RollingUpdate', ...(rollingUpdate ? { rollingUpdate } : {}) }));
    expect((await pace(context(strategy({ maxUnavailable: '34%' }), []))).observed).toContain('34% of 3 nodes, rounded up to 2');
    expect((await pace(context(strategy({ maxUnavailable: '33%' }), []))).status).toBe('pass');
    expect((await pace(context(strategy({ maxUnavailable: 1 }), []))).status).toBe('pass');
    expect((await pace(context(strategy(), []))).observed).toContain('1 (the default)');
    expect((await pace(context(withSpec((ds) => (ds.spec!.updateStrategy = { type: 'OnDelete' })), []))).status).toBe('fail');
  });

  it('judges the grace period by its value, written or defaulted', async () => {
    const grace = gracePeriodAtLeast('nginx-daemonset', 'f.yaml', 60);
    const period = (seconds?: number) => withSpec((ds) => (ds.spec!.template.spec!.terminationGracePeriodSeconds = seconds));
    expect((await grace(context(period(), []))).observed).toContain('30 s (the default)');
    expect((await grace(context(period(30), []))).status).toBe('fail');
    expect((await grace(context(period(90), []))).status).toBe('pass');
  });

  it('compares requests with the lab node size, in any unit', async () => {
    const fit = requestsFitLabNodes('nginx-daemonset', 'f.yaml');
    const requests = (memory: string) => withSpec((ds) => (ds.spec!.template.spec!.containers[0]!.resources = { requests: { memory, cpu: '0.1' } }));
    const tooBig = await fit(context(requests('5Gi'), []));
    expect(tooBig.status).toBe('fail');
    expect(tooBig.reasons).toEqual([{ kind: 'resources', resource: 'memory', requested: '5Gi', available: '4Gi' }]);
    expect((await fit(context(requests('0.25Gi'), []))).status).toBe('pass');
    expect((await fit(context(requests('4096Mi'), []))).status).toBe('pass');
  });

  it('accepts a selector written as matchExpressions when it selects the template', async () => {
    const check = selectorMatchesTemplate('nginx-daemonset', 'f.yaml');
    const ds = withSpec((d) => {
      d.spec!.selector = { matchExpressions: [{ key: 'name', operator: 'In', values: ['nginx-daemonset'] }] };
      d.spec!.template.metadata = { labels: { name: 'nginx-daemonset' } };
    });
    expect((await check(context(ds, []))).status).toBe('pass');
    ds.spec!.selector = { matchExpressions: [{ key: 'name', operator: 'NotIn', values: ['nginx-daemonset'] }] };
    expect((await check(context(ds, []))).status).toBe('fail');
  });

  it('passes the cordon step only for a pod created after the cordon', async () => {
    const cordoned: V1Node = {
      metadata: { name: 'daemonset-lab-worker2', managedFields: [{ manager: 'kubectl-cordon', operation: 'Update', time: new Date('2026-06-01T10:00:05Z'), fieldsV1: { 'f:spec': { 'f:unschedulable': {} } } }] },
      spec: { unschedulable: true },
    };
    expect(cordonedAt(cordoned)?.toISOString()).toBe('2026-06-01T10:00:05.000Z');
    const pod = (created: string) => ({ ...readyPod('daemonset-lab-worker2'), metadata: { ...readyPod('daemonset-lab-worker2').metadata, creationTimestamp: new Date(created) } });
    const check = podCreatedAfterCordon('nginx-daemonset', 'f.yaml');
    const before = await check(context(daemonSet(), [pod('2026-06-01T10:00:00Z')], [...nodes, cordoned]));
    expect(before.status).toBe('fail');
    expect(before.hint).toContain('Delete the nginx-daemonset pod on the cordoned node');
    expect((await check(context(daemonSet(), [pod('2026-06-01T10:00:07Z')], [...nodes, cordoned]))).status).toBe('pass');
  });
});

describe('nodeWentNotReady', () => {
  const NOT_READY = 'node.kubernetes.io/not-ready';
  const worker = (ready: boolean, readySince: string, taint?: V1Taint): V1Node => ({
    metadata: { name: 'daemonset-lab-worker' },
    spec: { taints: taint ? [taint] : [] },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown', lastTransitionTime: new Date(readySince) }] },
  });
  const judge = (node: V1Node) => nodeWentNotReady()(context(undefined, [], [nodes[0]!, node]));

  it('passes while the node is NotReady and tainted by the controller', async () => {
    const outcome = await judge(worker(false, '2026-11-24T10:00:00Z', { key: NOT_READY, effect: 'NoExecute', timeAdded: new Date('2026-11-24T10:00:05Z') }));
    expect(outcome).toMatchObject({ status: 'pass', observed: 'daemonset-lab-worker is NotReady, and the node lifecycle controller tainted it node.kubernetes.io/not-ready:NoExecute.' });
  });

  it('tells a node that has just come back, whose controller taint is still on, from a taint added by hand', async () => {
    // Tainted at 10:00:05 while NotReady, Ready again at 10:01:00: the controller removes it at its next look.
    const back = await judge(worker(true, '2026-11-24T10:01:00Z', { key: NOT_READY, effect: 'NoExecute', timeAdded: new Date('2026-11-24T10:00:05Z') }));
    expect(back).toMatchObject({ status: 'fail', observed: expect.stringMatching(/^daemonset-lab-worker is Ready again; the node lifecycle controller has not yet taken off/) });
    expect(back.observed).not.toContain('by hand');
    // Added after the node last became Ready, or with no time at all: by hand.
    for (const taint of [{ key: NOT_READY, effect: 'NoExecute', timeAdded: new Date('2026-11-24T10:02:00Z') }, { key: NOT_READY, effect: 'NoExecute' }]) {
      expect(await judge(worker(true, '2026-11-24T10:01:00Z', taint))).toMatchObject({ status: 'fail', observed: expect.stringContaining('yet its Ready condition is True: the taint was added by hand') });
    }
  });
});
