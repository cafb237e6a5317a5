/**
 * The existing engine against a real cluster: it changes nothing on a cluster without the lab
 * marker unless the user passes the explicit flag.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { existingProvider } from '../../src/server/cluster/providers/existing.ts';
import { processRunner } from '../../src/server/cluster/providers/runner.ts';
import { LAB_MARKER } from '../../src/server/cluster/topology.ts';
import { markLabCluster } from '../../src/server/cluster/baseline.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const cluster = connectTestCluster(inject('testCluster'));
const { connection } = cluster.info;

function existing(allowNonLabCluster: boolean) {
  return existingProvider({
    stateDir: cluster.info.stateDir,
    portBase: cluster.info.portBase,
    runner: processRunner,
    existing: { kubeconfig: connection.kubeconfig, context: connection.context, allowNonLabCluster },
  });
}

describe('the existing engine on a cluster that is not marked as a lab cluster', () => {
  afterAll(async () => {
    await cluster.kubectl(['label', 'node', 'daemonset-lab-worker', 'team-', '--overwrite']);
    await markLabCluster(cluster.clients, 'embedded');
  });

  it('refuses to reset it, says why and how to allow it, and changes nothing', async () => {
    await cluster.kubectl(['delete', 'configmap', '-n', LAB_MARKER.namespace, LAB_MARKER.name]);
    await cluster.kubectl(['label', 'node', 'daemonset-lab-worker', 'team=payments']);

    const provider = existing(false);
    expect((await provider.availability()).usable).toBe(true);
    expect((await provider.status()).summary).toBe('reachable, 4 of 4 nodes Ready, not marked as a lab cluster');
    await expect(provider.reset()).rejects.toThrow(
      `Refusing to reset (delete namespaces and workloads, restore node labels and taints): context ${connection.context} is not a lab cluster`,
    );
    await expect(provider.reset()).rejects.toMatchObject({ fix: expect.stringContaining('--allow-non-lab-cluster') });
    const label = await cluster.kubectl(['get', 'node', 'daemonset-lab-worker', '-o', 'jsonpath={.metadata.labels.team}']);
    expect(label.stdout).toBe('payments');
    // up without the flag does not mark it either.
    await provider.up();
    expect((await provider.status()).summary).toContain('not marked as a lab cluster');
  });

  it('changes it when the user passes the explicit flag', async () => {
    const provider = existing(true);
    await provider.up();
    expect((await provider.status()).summary).toBe('reachable, 4 of 4 nodes Ready, a lab cluster');
    await provider.reset();
    const label = await cluster.kubectl(['get', 'node', 'daemonset-lab-worker', '-o', 'jsonpath={.metadata.labels.team}']);
    expect(label.stdout).toBe('');
  });

  it('never stops a cluster it did not start', async () => {
    expect(await existing(false).down()).toContain('never stops a cluster it did not start');
    expect((await cluster.provider.status()).running).toBe(true);
  });
});
