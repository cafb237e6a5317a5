/**
 * The simulated node as a learner meets it through kubectl: real images run, typos fail with a
 * registry's words, scripts print and exit, the kubelet backs off, probes hold rollouts, hostPath
 * is checked, and nodes report conditions on demand.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../../src/server/cluster/kube.ts';
import { setNodeCondition } from '../../src/server/cluster/embedded/simulation/conditions.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const cluster = connectTestCluster(inject('testCluster'));
const { kubectl } = cluster;
const fixture = (name: string) => readFile(fileURLToPath(new URL(`fixtures/${name}`, import.meta.url)), 'utf8');

/** `kubectl get pods` rows: name, READY, STATUS, RESTARTS (the count only). */
async function pods(selector: string) {
  const { stdout } = await kubectl(['get', 'pods', '-l', selector, '--no-headers']);
  return stdout.split('\n').filter(Boolean).map((line) => {
    const [name, ready, status, restarts] = line.trim().split(/\s+/);
    return { name: name!, ready: ready!, status: status!, restarts: Number(restarts) };
  });
}

const jsonpath = async (pod: string, path: string) => (await kubectl(['get', 'pod', pod, '-o', `jsonpath=${path}`])).stdout;

afterAll(async () => {
  await kubectl(['delete', 'daemonset', 'node-exporter', 'two-lines', 'slow-ready', '--ignore-not-found', '--wait=false']);
  await kubectl(['delete', 'pod', 'ngnix', 'tag-typo', 'hostpath-missing', 'sleeper', 'server', '--ignore-not-found', '--grace-period=0', '--force']);
});

describe('images', () => {
  it('runs the official node-exporter DaemonSet Ready on all four nodes', async () => {
    const apply = await kubectl(['apply', '-f', '-'], await fixture('node-exporter-daemonset.yaml'));
    expect(apply.stderr).toBe('');
    const rows = await waitFor('node-exporter Ready on four nodes', async () => {
      const rows = await pods('app.kubernetes.io/name=node-exporter');
      return rows.length === 4 && rows.every((r) => r.ready === '1/1' && r.status === 'Running') ? rows : undefined;
    }, 45_000);
    const logs = await kubectl(['logs', rows[0]!.name]);
    expect(logs.stdout).toContain('msg="Starting node_exporter"');
  });

  it('fails a misspelled repository with "pull access denied" and a mistyped tag with "not found"', async () => {
    await kubectl(['run', 'ngnix', '--image=ngnix:1.19']);
    await kubectl(['run', 'tag-typo', '--image=nginx:1.2O']);
    for (const [pod, words] of [
      ['ngnix', 'Failed to pull image "ngnix:1.19": failed to pull and unpack image "docker.io/library/ngnix:1.19": failed to resolve reference "docker.io/library/ngnix:1.19": pull access denied, repository does not exist or may require authorization'],
      ['tag-typo', 'Failed to pull image "nginx:1.2O": failed to pull and unpack image "docker.io/library/nginx:1.2O": failed to resolve reference "docker.io/library/nginx:1.2O": docker.io/library/nginx:1.2O: not found'],
    ] as const) {
      const describe = await waitFor(`${pod} to show ImagePullBackOff in describe`, async () => {
        const out = (await kubectl(['describe', 'pod', pod])).stdout;
        return out.includes('Back-off pulling image') ? out : undefined;
      }, 30_000);
      expect(describe).toContain(words);
      // kubectl prints each event's container (spec.containers{name}) before its message.
      expect(describe).toMatch(new RegExp(`Warning\\s+Failed\\s+.*kubelet\\s+spec.containers\\{${pod}\\}: Error: ErrImagePull`));
      expect(describe).toMatch(new RegExp(`Normal\\s+Pulling\\s+.*kubelet\\s+spec.containers\\{${pod}\\}: Pulling image`));
      const logs = await kubectl(['logs', pod]);
      expect(logs.stderr).toMatch(new RegExp(`container "${pod}" in pod "${pod}" is waiting to start: (trying and failing to pull image|image can't be pulled)`));
    }
  });
});

describe('images a node already has', () => {
  it('are not pulled again: the second pod says "already present on machine"; imagePullPolicy Always pulls', async () => {
    const onWorker2 = (policy: string) => `--overrides={"spec":{"nodeName":"daemonset-lab-worker2","containers":[{"name":"c","image":"httpd:2.4.60","imagePullPolicy":"${policy}"}]}}`;
    const describeOf = (pod: string) =>
      waitFor(`${pod} started`, async () => {
        const out = (await kubectl(['describe', 'pod', pod])).stdout;
        return /Normal\s+Started/.test(out) ? out : undefined;
      }, 30_000);
    await kubectl(['run', 'httpd-first', '--image=httpd:2.4.60', onWorker2('IfNotPresent')]);
    expect(await describeOf('httpd-first')).toMatch(/Normal\s+Pulling\s+.*Pulling image "httpd:2\.4\.60"/);
    await kubectl(['run', 'httpd-second', '--image=httpd:2.4.60', onWorker2('IfNotPresent')]);
    const second = await describeOf('httpd-second');
    expect(second).toMatch(/Normal\s+Pulled\s+.*Container image "httpd:2\.4\.60" already present on machine and can be accessed by the pod/);
    expect(second).not.toContain('Pulling');
    await kubectl(['run', 'httpd-always', '--image=httpd:2.4.60', onWorker2('Always')]);
    expect(await describeOf('httpd-always')).toMatch(/Normal\s+Pulled\s+.*Successfully pulled image "httpd:2\.4\.60"/);
    // An init container pulls its image; the app container of the same image finds it there.
    await kubectl(['run', 'init-pulls', '--image=busybox:1.33.1', '--overrides={"spec":{"nodeName":"daemonset-lab-worker3","initContainers":[{"name":"prepare","image":"busybox:1.33.1","command":["true"]}],"containers":[{"name":"c","image":"busybox:1.33.1","command":["sleep","3600"]}]}}']);
    const init = await waitFor('init-pulls app container started', async () => {
      const out = (await kubectl(['describe', 'pod', 'init-pulls'])).stdout;
      return /Normal\s+Started\s+.*spec\.containers\{c\}/.test(out) ? out : undefined;
    }, 30_000);
    expect(init).toMatch(/Normal\s+Pulling\s+.*spec\.initContainers\{prepare\}: Pulling image "busybox:1\.33\.1"/);
    expect(init).toMatch(/Normal\s+Pulled\s+.*spec\.containers\{c\}: Container image "busybox:1\.33\.1" already present on machine/);
    await kubectl(['delete', 'pod', 'httpd-first', 'httpd-second', 'httpd-always', 'init-pulls', '--grace-period=0', '--force']);
  });
});

describe('a busybox script that prints two lines and exits 0', () => {
  it('shows Completed, then CrashLoopBackOff with a back-off that doubles, and its own lines in the logs', async () => {
    await kubectl(['apply', '-f', '-'], await fixture('two-lines-daemonset.yaml'));
    const statuses = new Set<string>();
    const pod = await waitFor('a two-lines pod in CrashLoopBackOff after a restart', async () => {
      const rows = await pods('name=two-lines');
      for (const row of rows) statuses.add(row.status);
      return rows.find((r) => r.status === 'CrashLoopBackOff' && r.restarts >= 1)?.name;
    }, 30_000, 100);
    expect(statuses).toContain('Completed');
    expect(await jsonpath(pod, '{.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}')).toBe('Completed 0');
    expect(await jsonpath(pod, '{.status.containerStatuses[0].state.waiting.message}')).toMatch(/^back-off 10s restarting failed container=main pod=two-lines-/);
    const logs = await kubectl(['logs', pod]);
    expect(logs.stdout).toBe('hello from the node agent\nwork done, exiting\n');
    const previous = await kubectl(['logs', pod, '--previous']);
    expect(previous.stdout).toBe('hello from the node agent\nwork done, exiting\n');
    const describe = (await kubectl(['describe', 'pod', pod])).stdout;
    expect(describe).toMatch(/Warning\s+BackOff\s+.*kubelet\s+spec.containers\{main\}: Back-off restarting failed container main in pod two-lines-/);
    expect(describe).toMatch(/Normal\s+Started\s+.*kubelet\s+spec.containers\{main\}: Container started/);
    // The next back-off is twice as long.
    await waitFor('the back-off to grow to 20s', async () => ((await jsonpath(pod, '{.status.containerStatuses[0].state.waiting.message}')).startsWith('back-off 20s') ? true : undefined), 30_000);
    expect(Number(await jsonpath(pod, '{.status.containerStatuses[0].restartCount}'))).toBe(2);
  });

  it('has no previous logs before its first termination, in the kubelet\'s words', async () => {
    await kubectl(['run', 'server', '--image=nginx:1.19']);
    await waitFor('server Running', async () => ((await jsonpath('server', '{.status.phase}')) === 'Running' ? true : undefined), 30_000);
    const previous = await kubectl(['logs', 'server', '--previous']);
    expect(previous.code).not.toBe(0);
    expect(previous.stderr).toContain('previous terminated container "server" in pod "server" not found');
  });
});

describe('readiness probes, grace periods and hostPath', () => {
  it('holds a rollout with a readiness probe until initialDelaySeconds has passed', async () => {
    await kubectl(['apply', '-f', '-'], await fixture('slow-ready-daemonset.yaml'));
    const seenUnready = await waitFor('slow-ready pods Running but not Ready', async () => {
      const rows = await pods('name=slow-ready');
      return rows.some((r) => r.status === 'Running' && r.ready === '0/1') ? true : undefined;
    }, 20_000, 100);
    expect(seenUnready).toBe(true);
    const status = await kubectl(['rollout', 'status', 'daemonset/slow-ready', '--timeout=60s']);
    expect(status.stdout).toContain('daemon set "slow-ready" successfully rolled out');
    expect((await pods('name=slow-ready')).every((r) => r.ready === '1/1')).toBe(true);
    // Pod IPs start at .2 of the node's range, as host-local (kind's IPAM) hands them out: .1 is the
    // node's gateway, where the kubelet's probes come from.
    // Every pod on the pod network counts, CoreDNS's too, which were the first on their nodes.
    const all = JSON.parse((await kubectl(['get', 'pods', '-A', '-o', 'json'])).stdout) as { items: V1Pod[] };
    const ips = all.items.filter((p) => !p.spec?.hostNetwork && p.status?.podIP).map((p) => p.status!.podIP!);
    expect(ips.length).toBeGreaterThanOrEqual(5);
    for (const ip of ips) expect(ip).toMatch(/^10\.244\.\d+\.(?:[2-9]|\d\d+)$/);
    // nginx logs the kubelet's probe requests in its access log, as a real pod's logs show them.
    const logs = await kubectl(['logs', 'daemonset/slow-ready']);
    expect(logs.stdout).toMatch(/^10\.244\.\d+\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:[\d:]{8} \+0000\] "GET \/ HTTP\/1\.1" 200 612 "-" "kube-probe\/1\.36" "-"$/m);
  });

  it('keeps a pod whose shell ignores SIGTERM Terminating until its grace period ends, while nginx stops at once', async () => {
    await kubectl(['run', 'sleeper', '--image=busybox:1.36', '--overrides={"spec":{"terminationGracePeriodSeconds":8}}', '--', 'sleep', 'infinity']);
    await waitFor('sleeper and server Running', async () => ((await jsonpath('sleeper', '{.status.phase}')) === 'Running' && (await jsonpath('server', '{.status.phase}')) === 'Running' ? true : undefined), 30_000);
    await kubectl(['delete', 'pod', 'sleeper', 'server', '--wait=false']);
    await waitFor('server to be gone', async () => ((await kubectl(['get', 'pod', 'server'])).code !== 0 ? true : undefined), 10_000);
    const sleeper = await kubectl(['get', 'pod', 'sleeper', '--no-headers']);
    expect(sleeper.stdout).toContain('Terminating');
    await waitFor('sleeper to be gone after its grace period', async () => ((await kubectl(['get', 'pod', 'sleeper'])).code !== 0 ? true : undefined), 20_000);
  });

  it('reports FailedMount for a hostPath of type Directory that the node lacks', async () => {
    await kubectl(['apply', '-f', '-'], await fixture('hostpath-missing-pod.yaml'));
    const describe = await waitFor('a FailedMount event', async () => {
      const out = (await kubectl(['describe', 'pod', 'hostpath-missing'])).stdout;
      return out.includes('FailedMount') ? out : undefined;
    }, 20_000);
    expect(describe).toContain('MountVolume.SetUp failed for volume "agent-data" : hostPath type check failed: /data/agent is not a directory');
    expect(await jsonpath('hostpath-missing', '{.status.containerStatuses[0].state.waiting.reason}')).toBe('ContainerCreating');
  });
});

describe('node conditions on demand', () => {
  afterAll(async () => {
    await setNodeCondition(cluster.clients, 'daemonset-lab-worker3', 'NotReady', true).catch(() => undefined);
  });

  it('lets the node lifecycle controller taint a NotReady node, and untaint it when cleared', async () => {
    const reported = await setNodeCondition(cluster.clients, 'daemonset-lab-worker3', 'NotReady');
    expect(reported).toBe('Ready=False (KubeletNotReady)');
    const taints = await waitFor('the not-ready taint', async () => {
      const out = (await kubectl(['get', 'node', 'daemonset-lab-worker3', '-o', 'jsonpath={.spec.taints}'])).stdout;
      // NoSchedule at once (taint-nodes-by-condition), NoExecute at the controller's next node check.
      return /"effect":"NoExecute","key":"node.kubernetes.io\/not-ready"/.test(out) ? out : undefined;
    }, 30_000);
    expect(taints).toContain('"effect":"NoSchedule","key":"node.kubernetes.io/not-ready"');
    // DaemonSet pods tolerate not-ready:NoExecute without a time limit: kube-proxy stays on the node.
    const proxy = await kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-proxy', '--field-selector', 'spec.nodeName=daemonset-lab-worker3', '--no-headers']);
    expect(proxy.stdout.trim().split('\n')).toHaveLength(1);
    expect((await kubectl(['get', 'nodes', 'daemonset-lab-worker3', '--no-headers'])).stdout).toMatch(/NotReady/);
    await setNodeCondition(cluster.clients, 'daemonset-lab-worker3', 'NotReady', true);
    await waitFor('the not-ready taint to go', async () => {
      const out = (await kubectl(['get', 'node', 'daemonset-lab-worker3', '-o', 'jsonpath={.spec.taints}'])).stdout;
      return out.includes('not-ready') ? undefined : true;
    }, 30_000);
  });
});
