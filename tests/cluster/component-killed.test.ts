/**
 * A component of the embedded engine killed (kill -9) while the others run: `cluster up` (and
 * the page's "Start the cluster" button, which calls the same) starts it again and keeps the
 * cluster's objects, instead of taking the survivors' ports for another program's.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { waitFor } from '../../src/server/cluster/kube.ts';
import { embeddedClusterDir } from '../../src/server/cluster/providers/embedded.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const cluster = connectTestCluster(inject('testCluster'));

describe('cluster up after one component was killed', () => {
  // (etcd killed alone is not seen as down: kube-apiserver answers reads from its watch cache.)
  it.each(['kube-apiserver'])('starts %s again and keeps what the cluster held', async (component) => {
    const name = `kept-${component}`;
    expect((await cluster.kubectl(['create', 'configmap', name, '--from-literal=kept=yes'])).code).toBe(0);
    const nodeLeaseHolders = async () => (await cluster.kubectl(['get', 'leases', '-n', 'kube-node-lease', '-o', 'jsonpath={.items[*].spec.holderIdentity}'])).stdout;
    const holders = await nodeLeaseHolders();
    expect(holders.split(' ').filter(Boolean)).toHaveLength(4);
    const victim = (await cluster.provider.processes()).find((p) => p.component === component);
    expect(victim, `${component} is running`).toBeDefined();
    process.kill(victim!.pid, 'SIGKILL');
    // At once, as a script or an impatient learner would: the killed process may not be gone yet.
    const status = await cluster.provider.up();
    expect(status.running).toBe(true);
    expect(status.nodes.filter((n) => n.ready)).toHaveLength(4);
    // kwok's controller survived: it keeps managing every node (its leases are not taken from it).
    expect(await nodeLeaseHolders()).toBe(holders);
    const kept = await cluster.kubectl(['get', 'configmap', name, '-o', 'jsonpath={.data.kept}']);
    expect(kept.stdout).toBe('yes');
    await cluster.kubectl(['delete', 'configmap', name]);
  }, 120_000);
});

describe('cluster up after the whole engine was killed mid-rollout', () => {
  /** Who holds the leader leases and the node leases: name → holder. */
  async function leaseHolders(): Promise<Map<string, string>> {
    const holders = new Map<string, string>();
    for (const namespace of ['kube-system', 'kube-node-lease']) {
      const { stdout } = await cluster.kubectl(['get', 'leases', '-n', namespace, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.holderIdentity}{"\\n"}{end}']);
      for (const line of stdout.split('\n').filter(Boolean)) {
        const [name = '', holder = ''] = line.split(' ');
        if (namespace === 'kube-node-lease' || name === 'kube-controller-manager' || name === 'kube-scheduler') holders.set(`${namespace}/${name}`, holder);
      }
    }
    return holders;
  }

  const manifest = (image: string) =>
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'killed-rollout', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'killed-rollout' } },
        updateStrategy: { rollingUpdate: { maxUnavailable: 1 } },
        template: { metadata: { labels: { app: 'killed-rollout' } }, spec: { containers: [{ name: 'web', image }] } },
      },
    });

  it('frees the leases the dead controller manager, scheduler and kwok controller held, and the rollout completes', async () => {
    expect((await cluster.kubectl(['apply', '-f', '-'], manifest('nginx:1.19'))).code).toBe(0);
    expect((await cluster.kubectl(['rollout', 'status', 'ds/killed-rollout', '--timeout=120s'])).code).toBe(0);
    const before = await leaseHolders();
    expect([...before.values()].filter(Boolean).length, 'leader and node leases held before the kill').toBeGreaterThanOrEqual(6);
    expect((await cluster.kubectl(['apply', '-f', '-'], manifest('nginx:1.20'))).code).toBe(0);
    for (const { pid } of await cluster.provider.processes()) process.kill(pid, 'SIGKILL');
    await cluster.provider.up();
    // A killed component never hands its lease back: held by the dead one, the controller
    // manager's lease (60 s) would leave the DaemonSet controller idle, the nodes' (200 s) the
    // pods unmanaged. None may still name a holder from before the kill.
    const after = await leaseHolders();
    const stillDead = [...after].filter(([name, holder]) => holder !== '' && before.get(name) === holder).map(([name, holder]) => `${name} (${holder})`);
    expect(stillDead).toEqual([]);
    const status = await cluster.kubectl(['rollout', 'status', 'ds/killed-rollout', '--timeout=150s']);
    expect(status.code, status.stderr).toBe(0);
    const images = await cluster.kubectl(['get', 'pods', '-l', 'app=killed-rollout', '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
    expect(images.stdout.split(' ')).toEqual(['nginx:1.20', 'nginx:1.20', 'nginx:1.20']);
    await cluster.kubectl(['delete', 'ds/killed-rollout', '--wait=false']);
  }, 300_000);
});

describe('cluster up while a killed component is not yet reaped', () => {
  it('waits until it is reaped and starts it again, instead of taking the zombie for a running component', async () => {
    // A zombie whose adoptive parent reaps it only later, as init may: `sleep 600` never waits for
    // its child, which is killed at once; when the parent is killed, init adopts and reaps it.
    const parent = spawn('sh', ['-c', 'sleep 300 & exec sleep 600'], { stdio: 'ignore' });
    const zombie = await waitFor('the child of the shell', async () => {
      const children = await readFile(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').catch(() => '');
      return Number(children.trim().split(/\s+/)[0]) || undefined;
    }, 10_000);
    process.kill(zombie, 'SIGKILL');
    await waitFor('the child to be a zombie', async () => (/^State:\s+Z/m.test(await readFile(`/proc/${zombie}/status`, 'utf8')) ? true : undefined), 10_000);
    // The scheduler killed, and its pid file naming the zombie: what kwokctl sees right after a kill.
    const leaderOf = async () => (await cluster.kubectl(['get', 'lease', '-n', 'kube-system', 'kube-scheduler', '-o', 'jsonpath={.spec.holderIdentity}'])).stdout;
    const leader = await leaderOf();
    expect(leader).not.toBe('');
    const scheduler = (await cluster.provider.processes()).find((p) => p.component === 'kube-scheduler');
    expect(scheduler, 'kube-scheduler is running').toBeDefined();
    process.kill(scheduler!.pid, 'SIGKILL');
    await writeFile(join(embeddedClusterDir(cluster.info.stateDir), 'pids', 'kube-scheduler.pid'), String(zombie));
    setTimeout(() => parent.kill('SIGKILL'), 2000);
    await cluster.provider.up();
    const after = (await cluster.provider.processes()).find((p) => p.component === 'kube-scheduler');
    expect(after, 'a kube-scheduler is running').toBeDefined();
    expect(after!.pid, 'a new kube-scheduler').not.toBe(zombie);
    expect(/^State:\s+[RS]/m.test(await readFile(`/proc/${after!.pid}/status`, 'utf8'))).toBe(true);
    expect(await readFile(`/proc/${after!.pid}/cmdline`, 'utf8')).toContain('kube-scheduler');
    // The dead scheduler's leader lease is freed: the new one schedules at once, not after 60 s.
    expect(await leaderOf()).not.toBe(leader);
  }, 120_000);
});
