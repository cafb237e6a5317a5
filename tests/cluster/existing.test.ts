/**
 * The existing engine against a real cluster: it changes nothing on a cluster without the lab
 * marker unless the user passes the explicit flag to that command, and even then it deletes only
 * what a lab created there.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { existingProvider } from '../../src/server/cluster/providers/existing.ts';
import { processRunner } from '../../src/server/cluster/providers/runner.ts';
import { LAB_MARKER } from '../../src/server/cluster/topology.ts';
import { markLabCluster } from '../../src/server/cluster/baseline.ts';
import { createdObjects, createdObjectsFile, describeCreated, recordCreated } from '../../src/server/cluster/created-objects.ts';
import { applyManifests } from '../../src/server/labs/actions.ts';
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
  let stateDir: string;
  const existingIn = (dir: string, allowNonLabCluster: boolean) =>
    existingProvider({ stateDir: dir, portBase: cluster.info.portBase, runner: processRunner, existing: { kubeconfig: connection.kubeconfig, context: connection.context, allowNonLabCluster } });
  /** The user's own things on their cluster, which no lab created. */
  const USERS_OWN = `apiVersion: v1
kind: Namespace
metadata:
  name: team-payments
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: payments-config
  namespace: team-payments
---
apiVersion: v1
kind: Service
metadata:
  name: payments
  namespace: default
spec:
  ports:
  - port: 80
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: payments-high
value: 1000
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: cni-agent
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: cni-agent}
  template:
    metadata:
      labels: {app: cni-agent}
    spec:
      containers:
      - name: agent
        image: nginx:1.19
`;
  const LAB_MADE = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: lab-agent
spec:
  selector:
    matchLabels: {app: lab-agent}
  template:
    metadata:
      labels: {app: lab-agent}
    spec:
      containers:
      - name: agent
        image: nginx:1.19
`;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-existing-'));
  });

  afterAll(async () => {
    await cluster.kubectl(['label', 'node', 'daemonset-lab-worker', 'team-', '--overwrite']);
    await cluster.kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], USERS_OWN);
    await cluster.kubectl(['delete', '--ignore-not-found', 'daemonset', 'lab-agent']);
    await markLabCluster(cluster.clients, 'embedded');
  });

  it('refuses to reset it, says what the flag would delete, and changes nothing', async () => {
    await cluster.kubectl(['delete', 'configmap', '-n', LAB_MARKER.namespace, LAB_MARKER.name]);
    await cluster.kubectl(['label', 'node', 'daemonset-lab-worker', 'team=payments']);

    const provider = existingIn(stateDir, false);
    expect((await provider.availability()).usable).toBe(true);
    expect((await provider.status()).summary).toBe('reachable, 4 of 4 nodes Ready, not marked as a lab cluster');
    await expect(provider.reset()).rejects.toThrow(`Refusing to reset context ${connection.context}: it is not a lab cluster`);
    await expect(provider.reset()).rejects.toMatchObject({ fix: expect.stringContaining('--allow-non-lab-cluster with this command: it deletes only what the labs created there (nothing recorded yet)') });
    const label = await cluster.kubectl(['get', 'node', 'daemonset-lab-worker', '-o', 'jsonpath={.metadata.labels.team}']);
    expect(label.stdout).toBe('payments');
    // up without the flag does not mark it either.
    await provider.up();
    expect((await provider.status()).summary).toContain('not marked as a lab cluster');
  });

  it('with the flag, never marks it (the permission is for that command only) and deletes only what a lab created', async () => {
    expect((await cluster.kubectl(['apply', '-f', '-'], USERS_OWN)).code).toBe(0);
    // What lab set-up does on this engine: apply, recording what it created.
    const file = createdObjectsFile(stateDir);
    await applyManifests(cluster.clients, LAB_MADE, 'lab-made.yaml', (object) => recordCreated(file, connection.context, object));
    expect(createdObjects(file, connection.context).map(describeCreated)).toEqual(['DaemonSet default/lab-agent']);

    const provider = existingIn(stateDir, true);
    await provider.up();
    expect((await provider.status()).summary).toContain('not marked as a lab cluster');
    await provider.reset();
    expect((await cluster.kubectl(['get', 'daemonset', 'lab-agent', '--ignore-not-found', '-o', 'name'])).stdout).toBe('');
    // The user's own objects and node labels are all still there.
    for (const [args, expected] of [
      [['get', 'namespace', 'team-payments', '-o', 'jsonpath={.status.phase}'], 'Active'],
      [['get', 'configmap', 'payments-config', '-n', 'team-payments', '-o', 'name'], 'configmap/payments-config'],
      [['get', 'service', 'payments', '-o', 'name'], 'service/payments'],
      [['get', 'priorityclass', 'payments-high', '-o', 'name'], 'priorityclass.scheduling.k8s.io/payments-high'],
      [['get', 'daemonset', 'cni-agent', '-n', 'kube-system', '-o', 'name'], 'daemonset.apps/cni-agent'],
      [['get', 'node', 'daemonset-lab-worker', '-o', 'jsonpath={.metadata.labels.team}'], 'payments'],
    ] as const) {
      expect((await cluster.kubectl(args)).stdout.trim(), args.join(' ')).toBe(expected);
    }
    // Another command without the flag is refused again: nothing was saved.
    await expect(existingIn(stateDir, false).reset()).rejects.toThrow('Refusing to reset');
  });

  it('never deletes a same-named object someone made after the lab (its uid differs)', async () => {
    const file = createdObjectsFile(stateDir);
    await applyManifests(cluster.clients, LAB_MADE, 'lab-made.yaml', (object) => recordCreated(file, connection.context, object));
    await cluster.kubectl(['delete', 'daemonset', 'lab-agent', '--wait=true']);
    await cluster.kubectl(['apply', '-f', '-'], LAB_MADE);
    await existingIn(stateDir, true).reset();
    expect((await cluster.kubectl(['get', 'daemonset', 'lab-agent', '-o', 'name'])).stdout.trim()).toBe('daemonset.apps/lab-agent');
  });

  it('never stops a cluster it did not start', async () => {
    expect(await existing(false).down()).toContain('never stops a cluster it did not start');
    expect((await cluster.provider.status()).running).toBe(true);
  });
});
