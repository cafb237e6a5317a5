/**
 * The Helm chart: `helm lint`, `helm template`, and what it renders checked by the real API server
 * (server-side dry run in a namespace that enforces and warns on the restricted level), RBAC
 * limited to the namespace, and the learner NetworkPolicy identical to the hub's own.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readClassrooms } from '../../hub/config.ts';
import { learnerNetworkPolicy } from '../../hub/pods.ts';
import { connectTestCluster } from '../support/test-cluster.ts';
import { helm } from './helm.ts';

const CHART = 'chart/daemonset-lab-hub';
const namespace = 'hub-chart';
const cluster = connectTestCluster(inject('testCluster'));

type Manifest = { kind: string; metadata: { name: string; namespace?: string }; spec?: unknown; data?: Record<string, string>; rules?: unknown };

async function render(...set: string[]): Promise<{ code: number; manifests: Manifest[]; text: string; stderr: string }> {
  const result = await helm(['template', 'lab', CHART, '--namespace', namespace, '--kube-version', '1.36.1', ...set.flatMap((s) => ['--set', s])]);
  const manifests = parseAllDocuments(result.stdout).map((d) => d.toJS() as Manifest).filter(Boolean);
  return { code: result.code, manifests, text: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  await cluster.clients.core.createNamespace({
    body: { metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } } },
  });
});

afterAll(async () => {
  await cluster.clients.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('the Helm chart', () => {
  it('passes helm lint', async () => {
    const result = await helm(['lint', CHART]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it('renders hub, PostgreSQL, RBAC and NetworkPolicies that the API server accepts without a Pod Security warning', async () => {
    const { code, manifests, text, stderr } = await render();
    expect(code, stderr).toBe(0);
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'ConfigMap/lab-classrooms', 'Deployment/lab-hub', 'NetworkPolicy/daemonset-lab-learners', 'NetworkPolicy/lab-hub', 'NetworkPolicy/lab-postgresql',
      'Role/lab-hub', 'RoleBinding/lab-hub', 'Secret/lab-postgresql', 'Secret/lab-token-key', 'Service/lab-hub', 'Service/lab-postgresql',
      'ServiceAccount/lab-hub', 'StatefulSet/lab-postgresql',
    ]);
    const file = join(await mkdtemp(join(tmpdir(), 'hub-chart-')), 'rendered.yaml');
    await writeFile(file, text);
    const applied = await cluster.kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', file]);
    expect(applied.stderr).not.toContain('PodSecurity');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('deployment.apps/lab-hub created (server dry run)');
  });

  it('grants the hub only pods and Secrets in its own namespace (no ClusterRole)', async () => {
    const { manifests } = await render();
    expect(manifests.some((m) => m.kind.startsWith('Cluster'))).toBe(false);
    expect(manifests.find((m) => m.kind === 'Role')?.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'patch', 'delete'] },
    ]);
  });

  it('renders the learner NetworkPolicy the hub defines, and PostgreSQL reachable from the hub alone', async () => {
    const { manifests } = await render();
    const learners = manifests.find((m) => m.kind === 'NetworkPolicy' && m.metadata.name === 'daemonset-lab-learners');
    // The hub's own object as the API server stores it (client-node's types name `from` `_from`).
    await cluster.clients.objects.create(learnerNetworkPolicy(namespace));
    const stored = JSON.parse((await cluster.kubectl(['get', 'networkpolicy', '-n', namespace, 'daemonset-lab-learners', '-o', 'json'])).stdout) as Manifest;
    expect(learners?.spec).toEqual(stored.spec);
    const database = manifests.find((m) => m.kind === 'NetworkPolicy' && m.metadata.name === 'lab-postgresql');
    expect(database?.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'daemonset-lab-postgresql', 'app.kubernetes.io/instance': 'lab' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'daemonset-lab-hub', 'app.kubernetes.io/instance': 'lab' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      egress: [],
    });
  });

  it('ships classrooms the hub accepts', async () => {
    const { manifests } = await render();
    const file = join(await mkdtemp(join(tmpdir(), 'hub-chart-')), 'classrooms.yaml');
    await writeFile(file, manifests.find((m) => m.kind === 'ConfigMap')!.data!['classrooms.yaml']!);
    expect(readClassrooms(file).map((c) => c.id)).toEqual(['workshop']);
    expect(await readFile(file, 'utf8')).toContain('joinCode: CHANGE-ME-2026');
  });

  it('names the missing value for an external database', async () => {
    const { code, stderr } = await render('postgresql.enabled=false');
    expect(code).not.toBe(0);
    expect(stderr).toContain('externalDatabase.urlSecret is required when postgresql.enabled is false');
    const external = await render('postgresql.enabled=false', 'externalDatabase.urlSecret=hub-db');
    expect(external.code).toBe(0);
    expect(external.manifests.some((m) => m.kind === 'StatefulSet')).toBe(false);
  });
});
