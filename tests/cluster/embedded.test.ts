/**
 * The embedded engine as a learner meets it: the project's real kubectl against a real control
 * plane, with the guide chapter's manifest and commands.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../../src/server/cluster/kube.ts';
import { VERSIONS } from '../../src/server/versions.ts';
import { WORKER_NAMES } from '../../src/server/cluster/topology.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const cluster = connectTestCluster(inject('testCluster'));
const { kubectl } = cluster;
const nginxManifest = await readFile(fileURLToPath(new URL('fixtures/nginx-daemonset.yaml', import.meta.url)), 'utf8');

/**
 * `kubectl get pods -o wide` rows as a learner reads them: name, READY, STATUS and NODE.
 * RESTARTS may read "3 (1s ago)", so the node is found by its name, not by its column number.
 */
async function podRows(selector?: string) {
  const args = ['get', 'pods', '-o', 'wide', '--no-headers', ...(selector ? ['-l', selector] : [])];
  const { stdout } = await kubectl(args);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const columns = line.trim().split(/\s+/);
      return { name: columns[0]!, ready: columns[1]!, status: columns[2]!, node: columns.find((c) => c.startsWith('daemonset-lab-')) };
    });
}

/** Waits until `kubectl get pods -l name=nginx-daemonset` shows exactly the wanted nodes, all 1/1 Running. */
async function waitForNginxOn(nodes: readonly string[]) {
  return waitFor(
    `nginx-daemonset pods Running and Ready on exactly ${nodes.join(', ')}`,
    async () => {
      const rows = await podRows('name=nginx-daemonset');
      const healthy = rows.every((r) => r.ready === '1/1' && r.status === 'Running');
      const onNodes = rows.map((r) => r.node).sort();
      return healthy && JSON.stringify(onNodes) === JSON.stringify([...nodes].sort()) ? rows : undefined;
    },
    30_000,
  );
}

describe('the embedded cluster', () => {
  it('has the kind topology: a tainted control plane and three workers, all Ready', async () => {
    const { stdout } = await kubectl(['get', 'nodes', '--no-headers']);
    const lines = stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([
      'daemonset-lab-control-plane',
      'daemonset-lab-worker',
      'daemonset-lab-worker2',
      'daemonset-lab-worker3',
    ]);
    expect(lines.every((l) => l.split(/\s+/)[1] === 'Ready')).toBe(true);
    expect(lines[0]).toContain('control-plane');
    const taints = await kubectl(['get', 'node', 'daemonset-lab-control-plane', '-o', 'jsonpath={.spec.taints}']);
    expect(JSON.parse(taints.stdout)).toEqual([{ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' }]);
    const labels = await kubectl(['get', 'node', 'daemonset-lab-worker2', '-o', 'jsonpath={.metadata.labels}']);
    expect(JSON.parse(labels.stdout)).toMatchObject({
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': 'daemonset-lab-worker2',
    });
  });

  it('prints matching client and server versions', async () => {
    const { stdout } = await kubectl(['version']);
    expect(stdout).toContain(`Client Version: ${VERSIONS.kubernetes}`);
    expect(stdout).toContain(`Server Version: ${VERSIONS.kubernetes}`);
  });

  it('looks like a kind cluster in kube-system', async () => {
    const { stdout } = await kubectl(['get', 'ds', '-A', '--no-headers']);
    expect(stdout).toMatch(/kube-system\s+kindnet\s+4\s+4/);
    expect(stdout).toMatch(/kube-system\s+kube-proxy\s+4\s+4/);
    // CoreDNS as kubeadm installs it: two Ready replicas, the kube-dns Service, the Corefile.
    await waitFor('coredns 2/2 available', async () => {
      const ready = (await kubectl(['get', 'deploy', 'coredns', '-n', 'kube-system', '-o', 'jsonpath={.status.readyReplicas}/{.spec.replicas}'])).stdout;
      return ready === '2/2' ? true : undefined;
    }, 30_000);
    const pods = await kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '--no-headers']);
    expect(pods.stdout.trim().split('\n')).toHaveLength(2);
    expect(pods.stdout).toMatch(/^coredns-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0/m);
    expect((await kubectl(['get', 'svc', 'kube-dns', '-n', 'kube-system', '-o', 'jsonpath={.spec.ports[*].name}'])).stdout).toBe('dns dns-tcp metrics');
    expect((await kubectl(['get', 'cm', 'coredns', '-n', 'kube-system', '-o', 'jsonpath={.data.Corefile}'])).stdout).toContain('kubernetes cluster.local in-addr.arpa ip6.arpa');
    expect((await kubectl(['logs', '-n', 'kube-system', 'deploy/coredns'])).stdout).toContain('CoreDNS-1.14.2');
  });

  it('binds every listener of the engine to 127.0.0.1', async () => {
    const processes = await cluster.provider.processes();
    expect(processes.map((p) => p.component).sort()).toEqual(
      ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok-controller', 'simulated-kubelet'],
    );
    // /proc/net/tcp lists listening sockets (state 0A) with hex local addresses; 0100007F is 127.0.0.1.
    const inodesOf = async (pid: number) => {
      const { readdir, readlink } = await import('node:fs/promises');
      const links = await Promise.all((await readdir(`/proc/${pid}/fd`)).map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
      return new Set(links.map((l) => l.match(/^socket:\[(\d+)\]$/)?.[1]).filter(Boolean));
    };
    const table = [
      ...(await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1),
      ...(await readFile('/proc/net/tcp6', 'utf8').catch(() => '')).split('\n').slice(1),
    ].map((l) => l.trim().split(/\s+/)).filter((c) => c[3] === '0A');
    let listeners = 0;
    for (const { pid } of processes) {
      const inodes = await inodesOf(pid);
      for (const columns of table.filter((c) => inodes.has(c[9]!))) {
        listeners += 1;
        expect(columns[1]!.split(':')[0], `listener of pid ${pid}`).toBe('0100007F');
      }
    }
    // etcd (client and peer), kube-apiserver, controller manager, scheduler, the simulated kubelet;
    // kwok's controller opens none (its server cannot demand a client certificate).
    expect(listeners).toBeGreaterThanOrEqual(6);
  });
});

describe("the chapter's nginx-daemonset", () => {
  beforeAll(async () => {
    const applied = await kubectl(['apply', '-f', '-'], nginxManifest);
    expect(applied.stdout).toContain('daemonset.apps/nginx-daemonset created');
  });
  afterAll(async () => {
    await kubectl(['delete', 'daemonset', 'nginx-daemonset', '--ignore-not-found']);
  });

  it('runs exactly one Running, Ready pod on each worker and none on the control plane', async () => {
    const rows = await waitForNginxOn(WORKER_NAMES);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.node)).not.toContain('daemonset-lab-control-plane');
    const ds = await kubectl(['get', 'daemonsets', 'nginx-daemonset', '--no-headers']);
    expect(ds.stdout).toMatch(/^nginx-daemonset\s+3\s+3\s+3\s+3\s+3\s/);
  });

  it('gives a node added live its own pod, and removes the pod with the node', async () => {
    await waitForNginxOn(WORKER_NAMES);
    const added = await cluster.provider.addNode({ labels: { disktype: 'ssd' } });
    expect(added).toBe('daemonset-lab-worker4');
    await waitForNginxOn([...WORKER_NAMES, added]);
    await cluster.provider.removeNode(added);
    await waitForNginxOn(WORKER_NAMES);
    const nodes = await kubectl(['get', 'nodes', '-o', 'name']);
    expect(nodes.stdout).not.toContain(added);
  });

  it('treats a Node applied with plain kubectl like any other node', async () => {
    const node = [
      'apiVersion: v1',
      'kind: Node',
      'metadata:',
      '  name: daemonset-lab-worker9',
      '  labels: {kubernetes.io/hostname: daemonset-lab-worker9, kubernetes.io/os: linux, kubernetes.io/arch: amd64}',
    ].join('\n');
    expect((await kubectl(['apply', '-f', '-'], node)).stdout).toContain('node/daemonset-lab-worker9 created');
    await waitForNginxOn([...WORKER_NAMES, 'daemonset-lab-worker9']);
    const capacity = await kubectl(['get', 'node', 'daemonset-lab-worker9', '-o', 'jsonpath={.status.allocatable.memory}']);
    expect(capacity.stdout).toBe('4Gi');
    await cluster.provider.removeNode('daemonset-lab-worker9');
    await waitForNginxOn(WORKER_NAMES);
  });

  it("follows the chapter's update and rollback commands", async () => {
    await waitForNginxOn(WORKER_NAMES);
    const setImage = await kubectl(['set', 'image', 'daemonset/nginx-daemonset', 'nginx=nginx:1.20.0']);
    expect(setImage.stdout).toContain('image updated');
    const rollout = await kubectl(['rollout', 'status', 'daemonset/nginx-daemonset', '--timeout=60s']);
    expect(rollout.code).toBe(0);
    expect(rollout.stdout).toContain('successfully rolled out');
    const images = await kubectl(['get', 'pods', '-l', 'name=nginx-daemonset', '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
    expect(images.stdout.split(' ')).toEqual(['nginx:1.20.0', 'nginx:1.20.0', 'nginx:1.20.0']);

    const history = await kubectl(['rollout', 'history', 'daemonset/nginx-daemonset']);
    const revisions = history.stdout.split('\n').filter((line) => /^\d+\s/.test(line));
    expect(revisions.map((line) => line.split(/\s+/)[0])).toEqual(['1', '2']);

    const undo = await kubectl(['rollout', 'undo', 'daemonset/nginx-daemonset']);
    expect(undo.stdout).toContain('rolled back');
    expect((await kubectl(['rollout', 'status', 'daemonset/nginx-daemonset', '--timeout=60s'])).code).toBe(0);
    const template = await kubectl(['get', 'daemonset', 'nginx-daemonset', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
    expect(template.stdout).toBe('nginx:1.19');
    await waitFor('every pod back on nginx:1.19', async () => {
      const now = await kubectl(['get', 'pods', '-l', 'name=nginx-daemonset', '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
      return now.stdout === 'nginx:1.19 nginx:1.19 nginx:1.19' ? true : undefined;
    }, 30_000);
  });

  it('shows events in describe and in the sorted event list', async () => {
    const describe = await kubectl(['describe', 'daemonset', 'nginx-daemonset']);
    expect(describe.stdout).toMatch(/Events:\s*\n\s+Type\s+Reason\s+Age\s+From\s+Message/);
    expect(describe.stdout).toContain('SuccessfulCreate');
    const events = await kubectl(['get', 'events', '--sort-by=.metadata.creationTimestamp']);
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/Scheduled\s+pod\/nginx-daemonset-/);
    expect(events.stdout).toMatch(/SuccessfulCreate\s+daemonset\/nginx-daemonset/);
  });

  it('prints sensible logs for a simulated pod', async () => {
    const logs = await kubectl(['logs', 'daemonset/nginx-daemonset']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('Configuration complete; ready for start up');
  });

  it('offers learners no kwok API through which exec could be configured', async () => {
    // kwok reads its Stages, logs and (never set) exec rules from a file; were its CRDs served,
    // anyone with kubectl could create a ClusterExec and run commands on the host.
    const resources = await kubectl(['api-resources', '-o', 'name']);
    expect(resources.code).toBe(0);
    expect(resources.stdout).toContain('daemonsets.apps');
    expect(resources.stdout).not.toMatch(/kwok\.x-k8s\.io/);
  });

  it('never runs kubectl exec on the host', async () => {
    const marker = `/tmp/daemonset-lab-exec-${process.pid}-${Date.now()}`;
    const exec = await kubectl(['exec', 'daemonset/nginx-daemonset', '--', 'touch', marker]);
    expect(exec.code).not.toBe(0);
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
  });
});

describe('pods that cannot run', () => {
  afterAll(async () => {
    await kubectl(['delete', 'pod', 'typo', 'crasher', 'no-such-binary', '--ignore-not-found', '--grace-period=0', '--force']);
  });

  it('shows ImagePullBackOff for an unknown image tag', async () => {
    await kubectl(['run', 'typo', '--image=nginx:1.2O']);
    const row = await waitFor('typo to show ImagePullBackOff', async () => {
      const [pod] = (await podRows()).filter((r) => r.name === 'typo');
      return pod?.status === 'ImagePullBackOff' ? pod : undefined;
    }, 30_000);
    expect(row.ready).toBe('0/1');
    const describe = await kubectl(['describe', 'pod', 'typo']);
    expect(describe.stdout).toMatch(/Reason:\s+(ImagePullBackOff|ErrImagePull)/);
    expect(describe.stdout).toMatch(/Warning\s+Failed\s+.*Error: ErrImagePull/);
    const message = await kubectl(['get', 'pod', 'typo', '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.message}']);
    expect(message.stdout).toContain('failed to resolve reference "docker.io/library/nginx:1.2O": docker.io/library/nginx:1.2O: not found');
  });

  it("prints a crash-looping container's exit code with the chapter's jsonpath command", async () => {
    await kubectl(['run', 'crasher', '--image=busybox:1.36', '--', 'sh', '-c', 'echo starting; exit 3']);
    await waitFor('crasher to show CrashLoopBackOff', async () => {
      const [pod] = (await podRows()).filter((r) => r.name === 'crasher');
      return pod?.status === 'CrashLoopBackOff' ? pod : undefined;
    }, 30_000);
    const exitCode = await kubectl(['get', 'pod', 'crasher', '-o', 'jsonpath={.status.containerStatuses[].lastState.terminated.exitCode}']);
    expect(exitCode.stdout).toBe('3');
    const restarts = async () => Number((await kubectl(['get', 'pod', 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])).stdout);
    const first = await restarts();
    expect(first).toBeGreaterThanOrEqual(1);
    await waitFor('restartCount to grow', async () => ((await restarts()) > first ? true : undefined), 30_000);
  });

  it('fails to start a container whose command does not exist (exit code 128)', async () => {
    await kubectl(['run', 'no-such-binary', '--image=busybox:1.36', '--command', '--', '/app/agent']);
    const exitCode = await waitFor('no-such-binary to record an exit code', async () => {
      const out = await kubectl(['get', 'pod', 'no-such-binary', '-o', 'jsonpath={.status.containerStatuses[].lastState.terminated.exitCode}']);
      return out.stdout || undefined;
    }, 30_000);
    expect(exitCode).toBe('128');
    const describe = await kubectl(['describe', 'pod', 'no-such-binary']);
    // runc's words for an absolute path that does not exist (a bare name would be "not found in $PATH").
    expect(describe.stdout).toContain('exec: "/app/agent": stat /app/agent: no such file or directory');
  });
});

describe('node capacity', () => {
  afterAll(async () => {
    await kubectl(['delete', 'daemonset', 'memory-hog', '--ignore-not-found']);
  });

  it('lets the real scheduler report Insufficient memory for requests larger than any node', async () => {
    const hog = [
      'apiVersion: apps/v1',
      'kind: DaemonSet',
      'metadata: {name: memory-hog}',
      'spec:',
      '  selector: {matchLabels: {name: memory-hog}}',
      '  template:',
      '    metadata: {labels: {name: memory-hog}}',
      '    spec:',
      '      containers:',
      '      - {name: hog, image: busybox:1.36, resources: {requests: {memory: 6Gi}}}',
    ].join('\n');
    await kubectl(['apply', '-f', '-'], hog);
    const events = await waitFor('a FailedScheduling event', async () => {
      const out = await kubectl(['get', 'events', '--field-selector', 'reason=FailedScheduling', '-o', 'jsonpath={.items[*].message}']);
      return out.stdout.includes('Insufficient memory') ? out.stdout : undefined;
    }, 30_000);
    expect(events).toMatch(/0\/4 nodes are available: .*Insufficient memory/);
    const rows = await podRows('name=memory-hog');
    expect(rows.length).toBe(3);
    expect(rows.every((r) => r.status === 'Pending')).toBe(true);
  });
});

describe('reset', () => {
  it('restores node labels and taints and removes what a learner made', async () => {
    await kubectl(['apply', '-f', '-'], nginxManifest);
    await kubectl(['label', 'node', 'daemonset-lab-worker2', 'disktype=ssd']);
    await kubectl(['taint', 'node', 'daemonset-lab-worker3', 'special=true:NoSchedule']);
    await kubectl(['cordon', 'daemonset-lab-worker']);
    await cluster.provider.addNode({});
    await cluster.provider.reset();

    const labels = await kubectl(['get', 'node', 'daemonset-lab-worker2', '-o', 'jsonpath={.metadata.labels.disktype}']);
    expect(labels.stdout).toBe('');
    const taints = await kubectl(['get', 'node', 'daemonset-lab-worker3', '-o', 'jsonpath={.spec.taints}']);
    expect(taints.stdout).toBe('');
    const cordoned = await kubectl(['get', 'node', 'daemonset-lab-worker', '-o', 'jsonpath={.spec.unschedulable}']);
    expect(cordoned.stdout).not.toBe('true');
    const nodes = await kubectl(['get', 'nodes', '-o', 'name']);
    expect(nodes.stdout.trim().split('\n')).toHaveLength(4);
    const left = await kubectl(['get', 'daemonsets,pods', '--no-headers']);
    expect(left.stdout.trim()).toBe('');
    expect(left.stderr).toContain('No resources found');
  });
});

describe('down and up', () => {
  /** Who holds each node's lease: kwok's controller, by the id it takes at every start. */
  async function leaseHolders(): Promise<string[]> {
    const { stdout } = await kubectl(['get', 'leases', '-n', 'kube-node-lease', '-o', 'jsonpath={range .items[*]}{.spec.holderIdentity}{"\\n"}{end}']);
    return stdout.split('\n').filter(Boolean);
  }

  it('resumes managing its nodes: a pod created right after up runs, and the node leases have the new controller as holder', async () => {
    const before = new Set(await leaseHolders());
    expect(before.size).toBe(1);
    expect(await cluster.provider.down()).toContain('`up` resumes it');
    await cluster.provider.up();
    await kubectl(['run', 'after-resume', '--image=nginx:1.19']);
    // The old controller's leases would keep the nodes unmanaged for 200 s: the pod would stay Pending.
    const phase = await waitFor('the pod made after up to run', async () => {
      const { stdout } = await kubectl(['get', 'pod', 'after-resume', '-o', 'jsonpath={.status.phase}']);
      return stdout === 'Running' ? stdout : undefined;
    }, 60_000);
    expect(phase).toBe('Running');
    const after = await waitFor('every node lease held by the new controller', async () => {
      const holders = await leaseHolders();
      return holders.length === 4 && holders.every((holder) => !before.has(holder)) ? holders : undefined;
    }, 30_000);
    expect(new Set(after).size).toBe(1);
    await kubectl(['delete', 'pod', 'after-resume', '--wait=false']);
  }, 180_000);
});
