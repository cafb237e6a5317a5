/**
 * The kubelet's Unhealthy and Killing events on the simulated node: the decisions of
 * kubelet-events.ts from pod fixtures (a given clock for readiness counts), then as `kubectl`
 * shows them on the test cluster for a failing liveness probe, a failing readiness probe and a
 * deleted pod.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../../src/server/cluster/kube.ts';
import { planContainer, POD_IP_PLACEHOLDER } from '../../src/server/cluster/embedded/simulation/container.ts';
import { eventsForChange, readinessEvents } from '../../src/server/cluster/embedded/simulation/kubelet-events.ts';
import { PLAN_ANNOTATION } from '../../src/server/cluster/embedded/simulation/plan-annotation.ts';
import { loadRegistry } from '../../src/server/cluster/embedded/simulation/registry-file.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const registry = loadRegistry();

/** A pod of one nginx container with the given probes, planned as the helper plans it. */
function plannedPod(container: Partial<V1Container>, status: V1Pod['status']): V1Pod {
  const spec = { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }], ...container }] };
  const pod: V1Pod = { metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec, status };
  const plan = { containers: { web: planContainer(pod, spec.containers[0]!, registry) } };
  return { ...pod, metadata: { ...pod.metadata, annotations: { [PLAN_ANNOTATION]: JSON.stringify(plan) } } };
}

const running = (startedAt: string, restartCount = 0) => ({ podIP: '10.244.1.7', containerStatuses: [{ name: 'web', image: 'nginx:1.27', imageID: '', ready: false, restartCount, state: { running: { startedAt: new Date(startedAt) } } }] });
const terminated = (restartCount: number) => ({ podIP: '10.244.1.7', containerStatuses: [{ name: 'web', image: 'nginx:1.27', imageID: '', ready: false, restartCount, state: { terminated: { exitCode: 143, reason: 'Error' } } }] });

describe('the kubelet events the simulated node decides', () => {
  const liveness = { livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5, failureThreshold: 2 } };

  it('a liveness probe that kills: Unhealthy with the kubelet\'s message (failureThreshold per run), then Killing', () => {
    const before = plannedPod(liveness, running('2026-01-01T00:00:00Z', 1));
    const after = plannedPod(liveness, terminated(1));
    expect(eventsForChange(before, after)).toEqual([
      { type: 'Warning', reason: 'Unhealthy', container: 'web', key: 'liveness', count: 4, message: 'Liveness probe failed: Get "http://10.244.1.7:8080/healthz": dial tcp 10.244.1.7:8080: connect: connection refused' },
      { type: 'Normal', reason: 'Killing', container: 'web', key: 'liveness', count: 2, message: 'Container web failed liveness probe, will be restarted' },
    ]);
    // The same change seen again (a re-list) or a process that exits by itself: no liveness events.
    expect(eventsForChange(after, after)).toEqual([]);
    expect(eventsForChange(plannedPod({}, running('2026-01-01T00:00:00Z')), plannedPod({}, terminated(0)))).toEqual([]);
  });

  it('a passing liveness probe (the port nginx serves) plans no failure at all', () => {
    const pod = plannedPod({ livenessProbe: { httpGet: { path: '/', port: 80 } } }, running('2026-01-01T00:00:00Z'));
    expect(pod.metadata!.annotations![PLAN_ANNOTATION]).not.toContain('livenessFailure');
  });

  it('a deletion that begins: Killing "Stopping container" for each running container, once', () => {
    const before = plannedPod({}, running('2026-01-01T00:00:00Z'));
    const deleting = { ...before, metadata: { ...before.metadata, deletionTimestamp: new Date('2026-01-01T00:01:00Z') } };
    expect(eventsForChange(before, deleting)).toEqual([{ type: 'Normal', reason: 'Killing', container: 'web', key: 'stop', count: 1, message: 'Stopping container web' }]);
    expect(eventsForChange(deleting, deleting)).toEqual([]);
    expect(eventsForChange(undefined, deleting)).toEqual([]);
  });

  it('a failing readiness probe counts one Unhealthy per probe run from initialDelaySeconds, by the clock given', () => {
    const probe = { readinessProbe: { tcpSocket: { port: 9999 }, initialDelaySeconds: 10, periodSeconds: 5 } };
    const pod = plannedPod(probe, running('2026-01-01T00:00:00Z'));
    const at = (seconds: number) => readinessEvents(pod, new Date(Date.parse('2026-01-01T00:00:00Z') + seconds * 1000));
    expect(at(9)).toEqual([]);
    expect(at(10)).toEqual([{ type: 'Warning', reason: 'Unhealthy', container: 'web', key: 'readiness', count: 1, message: 'Readiness probe failed: dial tcp 10.244.1.7:9999: connect: connection refused' }]);
    expect(at(24).map((e) => e.count)).toEqual([3]);
    // An exec probe of an executable the image lacks errors in containerd's words.
    const exec = plannedPod({ readinessProbe: { exec: { command: ['pg_isready'] } } }, running('2026-01-01T00:00:00Z'));
    expect(readinessEvents(exec, new Date('2026-01-01T00:00:01Z'))[0]?.message).toMatch(/^Readiness probe errored: rpc error: code = Unknown desc = failed to exec in container: .*exec: "pg_isready": executable file not found in \$PATH: unknown$/);
    // No placeholder is ever left in a message.
    expect(at(30)[0]!.message).not.toContain(POD_IP_PLACEHOLDER);
  });
});

const cluster = connectTestCluster(inject('testCluster'));
const { kubectl } = cluster;

const PODS = `apiVersion: v1
kind: Pod
metadata:
  name: live-fail
spec:
  containers:
  - name: web
    image: nginx:1.27
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata:
  name: ready-fail
spec:
  containers:
  - name: web
    image: nginx:1.27
    readinessProbe:
      tcpSocket: {port: 9999}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: stopped
spec:
  containers:
  - name: web
    image: nginx:1.27
`;

afterAll(async () => {
  await kubectl(['delete', 'pod', 'live-fail', 'ready-fail', 'stopped', '--ignore-not-found', '--grace-period=0', '--force']);
});

/** The events of a pod with a reason, as `reason|type|count|message` lines. */
async function eventsOf(pod: string, reason: string): Promise<string[]> {
  const { stdout } = await kubectl(['get', 'events', '--field-selector', `involvedObject.name=${pod},reason=${reason}`, '-o', 'jsonpath={range .items[*]}{.reason}|{.type}|{.count}|{.source.component}|{.message}{"\\n"}{end}']);
  return stdout.split('\n').filter(Boolean);
}

describe('the kubelet events kubectl shows on the simulated node', () => {
  it('Unhealthy and Killing for a failing liveness probe, Unhealthy for a failing readiness probe, Killing when a pod is deleted', async () => {
    await kubectl(['apply', '-f', '-'], PODS);
    const ip = await waitFor('live-fail to have an IP', async () => (await kubectl(['get', 'pod', 'live-fail', '-o', 'jsonpath={.status.podIP}'])).stdout || undefined, 30_000);
    const killing = await waitFor('a Killing event for live-fail', async () => (await eventsOf('live-fail', 'Killing')).at(0), 45_000);
    expect(killing).toBe('Killing|Normal|1|kubelet|Container web failed liveness probe, will be restarted');
    expect((await eventsOf('live-fail', 'Unhealthy'))[0]).toBe(`Unhealthy|Warning|2|kubelet|Liveness probe failed: Get "http://${ip}:8080/healthz": dial tcp ${ip}:8080: connect: connection refused`);
    // kubectl describe names the container (spec.containers{web}) before each message.
    const described = await waitFor('describe to list both events', async () => {
      const out = (await kubectl(['describe', 'pod', 'live-fail'])).stdout;
      return out.includes('Unhealthy') && out.includes('Killing') ? out : undefined;
    }, 15_000);
    expect(described).toMatch(/Normal\s+Killing\s+.*kubelet\s+spec\.containers\{web\}: Container web failed liveness probe, will be restarted/);
    expect(described).toMatch(/Warning\s+Unhealthy\s+.*kubelet\s+spec\.containers\{web\}: Liveness probe failed: Get "http:\/\/[\d.]+:8080\/healthz": dial tcp [\d.]+:8080: connect: connection refused/);

    const readyIp = (await kubectl(['get', 'pod', 'ready-fail', '-o', 'jsonpath={.status.podIP}'])).stdout;
    const unready = await waitFor('an Unhealthy event for ready-fail', async () => (await eventsOf('ready-fail', 'Unhealthy')).at(0), 30_000);
    expect(unready).toMatch(new RegExp(`^Unhealthy\\|Warning\\|\\d+\\|kubelet\\|Readiness probe failed: dial tcp ${readyIp.replaceAll('.', '\\.')}:9999: connect: connection refused$`));

    await waitFor('stopped to run', async () => ((await kubectl(['get', 'pod', 'stopped', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running' ? true : undefined), 30_000);
    await kubectl(['delete', 'pod', 'stopped']);
    expect(await waitFor('a Killing event for stopped', async () => (await eventsOf('stopped', 'Killing')).at(0), 30_000)).toBe('Killing|Normal|1|kubelet|Stopping container web');
  });
});
