/**
 * The eligibility rules behind every coverage check: taints and tolerations (including the ones
 * the DaemonSet controller adds), nodeSelector, required node affinity, and the explanation of
 * each node, on hand-built objects.
 */
import type { V1DaemonSet, V1Node, V1Pod, V1PodSpec, V1Taint } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  daemonPodEligibility,
  describePod,
  explainDaemonSetPlacement,
  toleratesTaint,
} from '../../src/server/labs/checks/scheduling.ts';

const SPECIAL: V1Taint = { key: 'special', value: 'true', effect: 'NoSchedule' };

function node(name: string, labels: Record<string, string> = {}, taints: V1Taint[] = [], unschedulable = false): V1Node {
  return { metadata: { name, labels: { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name, ...labels } }, spec: { taints, unschedulable } };
}
const spec = (extra: Partial<V1PodSpec> = {}): V1PodSpec => ({ containers: [{ name: 'nginx', image: 'nginx:1.19' }], ...extra });

describe('toleratesTaint', () => {
  it.each([
    ['key, Equal and value', { key: 'special', operator: 'Equal', value: 'true', effect: 'NoSchedule' }, true],
    ['key and Exists', { key: 'special', operator: 'Exists' }, true],
    ['a blanket Exists', { operator: 'Exists' }, true],
    ['Equal is the default operator', { key: 'special', value: 'true' }, true],
    ['the wrong effect', { key: 'special', operator: 'Exists', effect: 'NoExecute' }, false],
    ['the wrong value', { key: 'special', value: 'yes' }, false],
    ['the wrong key', { key: 'specail', operator: 'Exists' }, false],
    ['an empty key with Equal', { value: 'true' }, false],
  ])('%s → %s', (_name, toleration, expected) => {
    expect(toleratesTaint(toleration, SPECIAL)).toBe(expected);
  });
});

describe('daemonPodEligibility', () => {
  it('skips a tainted node and says which toleration nearly matched', () => {
    const result = daemonPodEligibility(spec({ tolerations: [{ key: 'special', operator: 'Exists', effect: 'NoExecute' }] }), node('w3', {}, [SPECIAL]));
    expect(result.eligible).toBe(false);
    expect(result.untoleratedTaints).toEqual([SPECIAL]);
    expect(result.reasons).toEqual([
      'its taint special=true:NoSchedule is not tolerated: your toleration for key "special" has effect NoExecute, but the taint\'s effect is NoSchedule',
    ]);
  });

  it('names a misspelt key and a wrong value', () => {
    expect(daemonPodEligibility(spec({ tolerations: [{ key: 'specail', operator: 'Exists' }] }), node('w3', {}, [SPECIAL])).reasons[0]).toContain(
      'no toleration has key "special" (yours: "specail")',
    );
    expect(daemonPodEligibility(spec({ tolerations: [{ key: 'special', value: 'yes' }] }), node('w3', {}, [SPECIAL])).reasons[0]).toContain(
      'expects value "yes", but the taint\'s value is "true"',
    );
  });

  it('ignores a cordon and PreferNoSchedule taints, as the DaemonSet controller does', () => {
    const cordoned = node('w2', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, { key: 'soft', effect: 'PreferNoSchedule' }], true);
    expect(daemonPodEligibility(spec(), cordoned)).toMatchObject({ eligible: true, reasons: [] });
  });

  it('applies nodeSelector and required node affinity', () => {
    const ssd = node('w1', { disktype: 'ssd' });
    const plain = node('w2');
    expect(daemonPodEligibility(spec({ nodeSelector: { disktype: 'ssd' } }), ssd).eligible).toBe(true);
    expect(daemonPodEligibility(spec({ nodeSelector: { disktype: 'ssd' } }), plain).reasons).toEqual([
      'it has no label disktype (your nodeSelector asks for disktype=ssd)',
    ]);
    expect(daemonPodEligibility(spec({ nodeSelector: { disktype: 'SSD' } }), ssd).reasons).toEqual(['its label disktype is "ssd" (your nodeSelector asks for "SSD")']);
    const affinity = (operator: string, values?: string[]) =>
      spec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disktype', operator, ...(values ? { values } : {}) }] }] } } } });
    expect(daemonPodEligibility(affinity('In', ['ssd']), ssd).eligible).toBe(true);
    expect(daemonPodEligibility(affinity('In', ['ssd']), plain).reasons).toEqual(['its labels do not match your required node affinity: disktype In (ssd)']);
    expect(daemonPodEligibility(affinity('NotIn', ['ssd']), plain).eligible).toBe(true);
    expect(daemonPodEligibility(affinity('Exists'), ssd).eligible).toBe(true);
    expect(daemonPodEligibility(affinity('DoesNotExist'), ssd).eligible).toBe(false);
  });

  it('does not skip a node for its size: that is the scheduler\'s business', () => {
    const huge = spec({ containers: [{ name: 'big', image: 'x', resources: { requests: { memory: '8Gi' } } }] });
    expect(daemonPodEligibility(huge, node('w1')).eligible).toBe(true);
  });
});

describe('explainDaemonSetPlacement', () => {
  const ds: V1DaemonSet = { metadata: { name: 'nginx-daemonset', uid: 'ds-uid' }, spec: { selector: {}, template: { spec: spec() } } };
  const pod = (name: string, nodeName: string | undefined, status: V1Pod['status'], forNode?: string): V1Pod => ({
    metadata: { name, ownerReferences: [{ kind: 'DaemonSet', name: 'nginx-daemonset', uid: 'ds-uid', apiVersion: 'apps/v1' }] },
    spec: {
      ...spec(),
      ...(nodeName ? { nodeName } : {}),
      ...(forNode
        ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [forNode] }] }] } } } }
        : {}),
    },
    status,
  });

  it('explains every node: skipped, Ready, pending, crashing', () => {
    const nodes = [node('cp', { 'node-role.kubernetes.io/control-plane': '' }, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]), node('w1'), node('w2'), node('w3')];
    const pods = [
      pod('ready', 'w1', { conditions: [{ type: 'Ready', status: 'True' }] }),
      pod('pending', undefined, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/4 nodes are available: 1 Insufficient memory.' }] }, 'w2'),
      pod('crashing', 'w3', {
        containerStatuses: [{ name: 'nginx', image: 'x', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } }],
      }),
    ];
    const placements = explainDaemonSetPlacement(ds, nodes, pods);
    expect(placements.map((p) => [p.node, p.eligible, p.pod?.description ?? p.reasons.join('; ')])).toEqual([
      ['cp', false, 'its taint node-role.kubernetes.io/control-plane:NoSchedule is not tolerated: the pod template has no tolerations'],
      ['w1', true, 'Ready'],
      ['w2', true, 'Pending, not scheduled: 0/4 nodes are available: 1 Insufficient memory'],
      ['w3', true, 'CrashLoopBackOff (last exit code 1, 4 restarts)'],
    ]);
    expect(placements[0]!.controlPlane).toBe(true);
  });

  it('does not count a crash-looping pod as Ready in the moment between two crashes, and does once it stays up', () => {
    const readyAgain = (secondsAgo: number) =>
      pod('p', 'w1', {
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{
          name: 'nginx', image: 'busybox:1.36', imageID: '', ready: true, restartCount: 3,
          state: { running: { startedAt: new Date(Date.now() - secondsAgo * 1000) } },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        }],
      });
    const blip = describePod(readyAgain(1));
    expect(blip).toMatchObject({ ready: false, reason: 'Restarted', lastExitCode: 1 });
    expect(blip.description).toContain('exited with code 1 (3 restarts');
    expect(describePod(readyAgain(30))).toMatchObject({ ready: true, reason: 'Ready' });
  });

  it('describes image pull errors by their reason', () => {
    const state = describePod(pod('p', 'w1', { containerStatuses: [{ name: 'nginx', image: 'nginx:1.2O', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }] }));
    expect(state).toMatchObject({ reason: 'ImagePullBackOff', ready: false, images: ['nginx:1.19'] });
  });
});
