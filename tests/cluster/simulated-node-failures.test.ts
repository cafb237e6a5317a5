/**
 * The simulated node's failures as a learner meets them through kubectl, each as a kubelet with
 * containerd shows it: an init container that fails, a ConfigMap that does not exist (as a volume
 * and as an environment variable), a liveness probe of a page nginx lacks, an executable the image
 * lacks, and the crash-loop back-off that starts again after a long run.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../../src/server/cluster/kube.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const cluster = connectTestCluster(inject('testCluster'));
const { kubectl } = cluster;
const NAMESPACE = 'node-failures';
const kc = (args: string[], input?: string) => kubectl(['-n', NAMESPACE, ...args], input);

/** `kubectl get pod` columns: READY, STATUS, RESTARTS (the count only). */
async function row(pod: string) {
  const { stdout } = await kc(['get', 'pod', pod, '--no-headers']);
  const [, ready, status, restarts] = stdout.trim().split(/\s+/);
  return { ready: ready ?? '', status: status ?? '', restarts: Number(restarts) };
}

const jsonpath = async (pod: string, path: string) => (await kc(['get', 'pod', pod, '-o', `jsonpath=${path}`])).stdout;
const describePod = async (pod: string) => (await kc(['describe', 'pod', pod])).stdout;

/** Waits until `kubectl get pod` shows one of `statuses`, and returns the row. */
function statusOf(pod: string, statuses: string[], timeout = 40_000) {
  return waitFor(`${pod} to show ${statuses.join(' or ')}`, async () => {
    const current = await row(pod);
    return statuses.includes(current.status) ? current : undefined;
  }, timeout, 200);
}

await kubectl(['create', 'namespace', NAMESPACE]);
afterAll(async () => {
  await kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
});

const pod = (name: string, spec: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n${spec}`;

describe('an init container that exits 1', () => {
  it('shows Init:Error, then Init:CrashLoopBackOff; the app container waits in PodInitializing', async () => {
    await kc(['apply', '-f', '-'], pod('init-fails', `  initContainers:
  - {name: init, image: busybox:1.36, command: ["sh", "-c", "echo init failing; exit 1"]}
  containers:
  - {name: main, image: nginx:1.19}`));
    const seen = new Set<string>();
    await waitFor('init-fails in Init:CrashLoopBackOff', async () => {
      const { status } = await row('init-fails');
      seen.add(status);
      return status === 'Init:CrashLoopBackOff' ? true : undefined;
    }, 40_000, 100);
    expect(seen).toContain('Init:Error');
    expect(await jsonpath('init-fails', '{.status.phase} {.status.initContainerStatuses[0].lastState.terminated.reason} {.status.initContainerStatuses[0].lastState.terminated.exitCode}')).toBe('Pending Error 1');
    expect(await jsonpath('init-fails', '{.status.containerStatuses[0].state.waiting.reason}')).toBe('PodInitializing');
    expect(await jsonpath('init-fails', '{.status.initContainerStatuses[0].state.waiting.message}')).toMatch(/^back-off 10s restarting failed container=init pod=init-fails_node-failures/);
    expect((await kc(['logs', 'init-fails', '-c', 'init'])).stdout).toBe('init failing\n');
    const main = await kc(['logs', 'init-fails', '-c', 'main']);
    expect(main.stderr).toContain('container "main" in pod "init-fails" is waiting to start: PodInitializing');
    expect(await describePod('init-fails')).toMatch(/Warning\s+BackOff\s+.*kubelet\s+spec.initContainers\{init\}: Back-off restarting failed container init in pod init-fails_node-failures/);
  });

  it('fails the pod under restartPolicy Never, after the init containers before it completed', async () => {
    await kc(['apply', '-f', '-'], pod('init-never', `  restartPolicy: Never
  initContainers:
  - {name: first, image: busybox:1.36, command: ["sh", "-c", "echo ok"]}
  - {name: second, image: busybox:1.36, command: ["sh", "-c", "exit 4"]}
  containers:
  - {name: main, image: nginx:1.19}`));
    await waitFor('init-never Failed', async () => ((await jsonpath('init-never', '{.status.phase}')) === 'Failed' ? true : undefined), 30_000);
    expect((await row('init-never')).status).toBe('Init:Error');
    expect(await jsonpath('init-never', '{range .status.initContainerStatuses[*]}{.state.terminated.reason}:{.state.terminated.exitCode} {end}')).toBe('Completed:0 Error:4 ');
  });
});

describe('a ConfigMap that does not exist', () => {
  it('as a volume keeps the pod ContainerCreating with FailedMount until it is created', async () => {
    await kc(['apply', '-f', '-'], pod('missing-volume', `  volumes:
  - name: config
    configMap: {name: agent-config}
  containers:
  - name: main
    image: nginx:1.19
    volumeMounts: [{name: config, mountPath: /etc/agent}]`));
    const describe = await waitFor('a FailedMount event', async () => {
      const out = await describePod('missing-volume');
      return out.includes('FailedMount') ? out : undefined;
    }, 30_000);
    expect(describe).toContain('MountVolume.SetUp failed for volume "config" : configmap "agent-config" not found');
    expect((await row('missing-volume')).status).toBe('ContainerCreating');
    await kc(['create', 'configmap', 'agent-config', '--from-literal=level=info']);
    expect((await statusOf('missing-volume', ['Running'])).ready).toBe('1/1');
  });

  it('in an environment variable gives CreateContainerConfigError with the kubelet\'s message', async () => {
    await kc(['apply', '-f', '-'], pod('missing-key', `  containers:
  - name: main
    image: nginx:1.19
    env:
    - name: LEVEL
      valueFrom: {configMapKeyRef: {name: agent-config, key: verbosity}}
    envFrom:
    - secretRef: {name: agent-token, optional: true}`));
    await statusOf('missing-key', ['CreateContainerConfigError']);
    expect(await jsonpath('missing-key', '{.status.containerStatuses[0].state.waiting.message}')).toBe("couldn't find key verbosity in ConfigMap node-failures/agent-config");
    expect(await describePod('missing-key')).toMatch(/Warning\s+Failed\s+.*kubelet\s+spec.containers\{main\}: Error: couldn't find key verbosity in ConfigMap node-failures\/agent-config/);
  });
});

describe('a liveness probe of a page nginx does not have', () => {
  it('gets 404, and the kubelet restarts the container, which exits 0 on SIGTERM', async () => {
    await kc(['apply', '-f', '-'], pod('liveness-404', `  containers:
  - name: main
    image: nginx:1.19
    livenessProbe:
      httpGet: {path: /healthz-missing, port: 80}
      periodSeconds: 2
      failureThreshold: 1`));
    await waitFor('liveness-404 restarted', async () => ((await row('liveness-404')).restarts >= 1 ? true : undefined), 30_000);
    expect(await jsonpath('liveness-404', '{.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}')).toBe('Completed 0');
    const describe = await waitFor('the Unhealthy and Killing events', async () => {
      const out = await describePod('liveness-404');
      return out.includes('Unhealthy') && out.includes('Killing') ? out : undefined;
    }, 15_000);
    expect(describe).toContain('Liveness probe failed: HTTP probe failed with statuscode: 404');
    expect(describe).toContain('Container main failed liveness probe, will be restarted');
  });
});

describe('an executable the image does not have', () => {
  it('shows RunContainerError with containerd\'s message between attempts, and StartError (128) as the last state', async () => {
    await kc(['apply', '-f', '-'], pod('no-such-agent', `  containers:
  - {name: main, image: busybox:1.36, command: ["node-agent", "--config", "/etc/node-agent/config.yaml"]}`));
    await waitFor('no-such-agent retried', async () => {
      const current = await row('no-such-agent');
      return current.status === 'RunContainerError' && current.restarts >= 2 ? true : undefined;
    }, 40_000, 200);
    expect(await jsonpath('no-such-agent', '{.status.containerStatuses[0].state.waiting.message}')).toContain('exec: "node-agent": executable file not found in $PATH: unknown');
    expect(await jsonpath('no-such-agent', '{.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}')).toBe('StartError 128');
  });
});

describe('crash-loop back-off', () => {
  it('starts again from 10 s after a run of more than 10 minutes', async () => {
    await kc(['run', 'crasher', '--image=busybox:1.36', '--', 'sh', '-c', 'echo up; sleep 2; exit 1']);
    await waitFor('crasher backing off 20s', async () => ((await jsonpath('crasher', '{.status.containerStatuses[0].state.waiting.message}')).startsWith('back-off 20s') ? true : undefined), 60_000);
    const running = await waitFor('crasher running again', async () => {
      const pod = JSON.parse((await kc(['get', 'pod', 'crasher', '-o', 'json'])).stdout) as { metadata: { resourceVersion: string }; status: { containerStatuses: Array<Record<string, unknown> & { restartCount: number; state: { running?: { startedAt: string } } }> } };
      return pod.status.containerStatuses[0]!.state.running ? pod : undefined;
    }, 40_000, 200);
    // As if this run had lasted 11 minutes: the kubelet's back-off entry has expired by its end.
    const status = running.status.containerStatuses[0]!;
    const longRun = { ...status, state: { running: { startedAt: new Date(Date.now() - 660_000).toISOString().replace(/\.\d+Z$/, 'Z') } } };
    await kc(['patch', 'pod', 'crasher', '--subresource=status', '--type=strategic', '-p', JSON.stringify({ metadata: { resourceVersion: running.metadata.resourceVersion }, status: { containerStatuses: [longRun] } })]);
    await waitFor('crasher restarted at once', async () => ((await row('crasher')).restarts > status.restartCount ? true : undefined), 10_000, 100);
    const message = await waitFor('crasher backing off again', async () => (await jsonpath('crasher', '{.status.containerStatuses[0].state.waiting.message}')) || undefined, 20_000, 200);
    expect(message).toMatch(/^back-off 10s restarting failed container=crasher/);
  });
});
