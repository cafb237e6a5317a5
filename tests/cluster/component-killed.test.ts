/**
 * A component of the embedded engine killed (kill -9) while the others run: `cluster up` (and
 * the page's "Start the cluster" button, which calls the same) starts it again and keeps the
 * cluster's objects, instead of taking the survivors' ports for another program's.
 */
import { describe, expect, inject, it } from 'vitest';
import { connectTestCluster } from '../support/test-cluster.ts';

const cluster = connectTestCluster(inject('testCluster'));

describe('cluster up after one component was killed', () => {
  // (etcd killed alone is not seen as down: kube-apiserver answers reads from its watch cache.)
  it.each(['kube-apiserver'])('starts %s again and keeps what the cluster held', async (component) => {
    const name = `kept-${component}`;
    expect((await cluster.kubectl(['create', 'configmap', name, '--from-literal=kept=yes'])).code).toBe(0);
    const victim = (await cluster.provider.processes()).find((p) => p.component === component);
    expect(victim, `${component} is running`).toBeDefined();
    process.kill(victim!.pid, 'SIGKILL');
    // At once, as a script or an impatient learner would: the killed process may not be gone yet.
    const status = await cluster.provider.up();
    expect(status.running).toBe(true);
    expect(status.nodes.filter((n) => n.ready)).toHaveLength(4);
    const kept = await cluster.kubectl(['get', 'configmap', name, '-o', 'jsonpath={.data.kept}']);
    expect(kept.stdout).toBe('yes');
    await cluster.kubectl(['delete', 'configmap', name]);
  }, 120_000);
});
