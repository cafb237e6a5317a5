/**
 * The NetworkPolicy enforcer of the kind node image (src/server/cluster/kind-image/network-policy),
 * built with Go and run in its --render mode on snapshots of a cluster: which iptables rules each
 * node gets. The classroom's policies are pinned by golden files (UPDATE_GOLDEN=1 rewrites them);
 * each NetworkPolicy form it accepts has its own case. That the kernel then drops what the rules
 * say is tested on the kind cluster (tests/kind/classroom.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expectGolden } from './golden.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { learnerNetworkPolicy } from '../../hub/pods.ts';
import { goEnv } from '../../src/server/cluster/binaries.ts';

const run = promisify(execFile);
const source = fileURLToPath(new URL('../../src/server/cluster/kind-image/network-policy/', import.meta.url));
let dir = '';
let binary = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'network-policy-'));
  binary = join(dir, 'network-policy');
  await run('go', ['build', '-trimpath', '-o', binary, '.'], { cwd: source, env: goEnv() });
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

interface PodFixture {
  name: string;
  namespace?: string;
  node: string;
  ip: string;
  labels?: Record<string, string>;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  hostNetwork?: boolean;
  phase?: string;
}

function pod(p: PodFixture) {
  return {
    metadata: { name: p.name, namespace: p.namespace ?? 'default', labels: p.labels ?? {} },
    spec: { nodeName: p.node, hostNetwork: p.hostNetwork ?? false, containers: [{ ports: p.ports ?? [] }] },
    status: { phase: p.phase ?? 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

function policy(name: string, spec: Record<string, unknown>, namespace = 'default') {
  return { metadata: { name, namespace }, spec };
}

const namespaces = [
  { metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } },
  { metadata: { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
  { metadata: { name: 'class', labels: { 'kubernetes.io/metadata.name': 'class', team: 'teachers' } } },
];

/** The rules `node` gets for these pods and policies. */
async function render(node: string, pods: unknown[], networkPolicies: unknown[]): Promise<string> {
  const child = run(binary, ['--render', node]);
  child.child.stdin!.end(JSON.stringify({ pods, namespaces, networkPolicies }));
  return (await child).stdout;
}

/** The rules of one pod's chain (`I` ingress, `E` egress), without the chain name. */
function chain(rules: string, kind: 'I' | 'E', ip: string): string[] {
  const name = `DSL-${kind}-${ip.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('')}`;
  return rules.split('\n').filter((line) => line.startsWith(`-A ${name} `)).map((line) => line.slice(`-A ${name} `.length));
}


describe('the classroom on kind (the hub chart\'s policies)', () => {
  const hubLabels = { 'app.kubernetes.io/name': 'daemonset-lab-hub', 'app.kubernetes.io/instance': 'lab' };
  const learner = { 'app.kubernetes.io/name': 'daemonset-lab-learner' };
  const pods = [
    pod({ name: 'lab-hub-0', namespace: 'class', node: 'w1', ip: '10.244.1.10', labels: hubLabels }),
    pod({ name: 'lab-postgresql-0', namespace: 'class', node: 'w1', ip: '10.244.1.11', labels: { 'app.kubernetes.io/name': 'daemonset-lab-postgresql', 'app.kubernetes.io/instance': 'lab' } }),
    pod({ name: 'learner-ada', namespace: 'class', node: 'w2', ip: '10.244.2.5', labels: learner }),
    pod({ name: 'learner-bob', namespace: 'class', node: 'w3', ip: '10.244.3.7', labels: learner }),
    pod({ name: 'learner-cy', namespace: 'class', node: 'w3', ip: '10.244.3.8', labels: learner }),
    pod({ name: 'coredns-1', namespace: 'kube-system', node: 'cp', ip: '10.244.0.3' }),
    pod({ name: 'kindnet-w3', namespace: 'kube-system', node: 'w3', ip: '172.18.0.4', hostNetwork: true }),
  ];
  const policies = [
    learnerNetworkPolicy('class'),
    policy('lab-hub', {
      podSelector: { matchLabels: hubLabels },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }],
      egress: [
        { to: [{ podSelector: { matchLabels: learner } }], ports: [{ protocol: 'TCP', port: 4321 }] },
        { to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'daemonset-lab-postgresql' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
        { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
        { ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] },
      ],
    }, 'class'),
    policy('lab-postgresql', {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'daemonset-lab-postgresql', 'app.kubernetes.io/instance': 'lab' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: hubLabels } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      egress: [],
    }, 'class'),
  ].map((p) => JSON.parse(JSON.stringify(p).replaceAll('"_from"', '"from"')) as unknown);

  it.each(['cp', 'w1', 'w2', 'w3'])('gives node %s the rules in its golden file', async (node) => {
    await expectGolden(`network-policy-classroom-${node}.txt`, await render(node, pods, policies));
  });

  it('lets a learner pod take connections from the hub on 4321 only, and connect to the hub only', async () => {
    const rules = await render('w3', pods, policies);
    expect(chain(rules, 'I', '10.244.3.7')).toEqual(['-s 10.244.1.10/32 -p tcp -m tcp --dport 4321 -j RETURN', '-j DROP']);
    expect(chain(rules, 'E', '10.244.3.7')).toEqual(['-d 10.244.1.10/32 -j RETURN', '-j DROP']);
    // Another learner on the same node is judged by its own chains: nothing lets Bob reach Cy.
    expect(chain(rules, 'I', '10.244.3.8')).not.toContain('-s 10.244.3.7/32 -j RETURN');
  });

  it('lets PostgreSQL take connections from the hub alone, and start none', async () => {
    const rules = await render('w1', pods, policies);
    expect(chain(rules, 'I', '10.244.1.11')).toEqual(['-s 10.244.1.10/32 -p tcp -m tcp --dport 5432 -j RETURN', '-j DROP']);
    expect(chain(rules, 'E', '10.244.1.11')).toEqual(['-j DROP']);
  });

  it('judges no pod of another node, and no pod on the host\'s network', async () => {
    const rules = await render('cp', pods, policies);
    expect(rules).not.toMatch(/DSL-[IE]-/);
    expect(await render('w3', pods, policies)).not.toContain('172.18.0.4');
  });
});

describe('each NetworkPolicy form', () => {
  const web = pod({ name: 'web', node: 'n1', ip: '10.0.0.2', labels: { app: 'web', tier: 'front' }, ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }] });
  const client = pod({ name: 'client', node: 'n2', ip: '10.0.1.3', labels: { app: 'client' } });
  const teacher = pod({ name: 'teacher', namespace: 'class', node: 'n2', ip: '10.0.1.4', labels: { app: 'client' } });
  const done = pod({ name: 'job', node: 'n2', ip: '10.0.1.9', labels: { app: 'client' }, phase: 'Succeeded' });
  const everyone = [web, client, teacher, done];
  const selectWeb = { podSelector: { matchLabels: { app: 'web' } } };
  const ingressOfWeb = async (spec: Record<string, unknown>) => chain(await render('n1', everyone, [policy('p', { ...selectWeb, ...spec })]), 'I', '10.0.0.2');

  it('leaves a pod no policy selects alone', async () => {
    const rules = await render('n1', everyone, [policy('p', { podSelector: { matchLabels: { app: 'other' } }, ingress: [] })]);
    expect(rules).toBe('*filter\n:DSL-NETPOL - [0:0]\n-A DSL-NETPOL -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\nCOMMIT\n');
  });

  it('denies all ingress with no rules, and isolates only ingress when policyTypes is absent and there is no egress', async () => {
    const rules = await render('n1', everyone, [policy('p', { ...selectWeb })]);
    expect(chain(rules, 'I', '10.0.0.2')).toEqual(['-j DROP']);
    expect(chain(rules, 'E', '10.0.0.2')).toEqual([]);
  });

  it('allows everything from anywhere for a rule with neither peers nor ports', async () => {
    expect(await ingressOfWeb({ ingress: [{}] })).toEqual(['-j RETURN', '-j DROP']);
  });

  it('takes peers from the policy\'s own namespace for a podSelector, skipping finished pods', async () => {
    expect(await ingressOfWeb({ ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] })).toEqual(['-s 10.0.1.3/32 -j RETURN', '-j DROP']);
  });

  it('takes peers from labelled namespaces for a namespaceSelector, with a podSelector or without', async () => {
    const byNamespace = { namespaceSelector: { matchLabels: { team: 'teachers' } } };
    expect(await ingressOfWeb({ ingress: [{ from: [byNamespace] }] })).toEqual(['-s 10.0.1.4/32 -j RETURN', '-j DROP']);
    expect(await ingressOfWeb({ ingress: [{ from: [{ ...byNamespace, podSelector: { matchLabels: { app: 'nobody' } } }] }] })).toEqual(['-j DROP']);
    expect(await ingressOfWeb({ ingress: [{ from: [{ namespaceSelector: {} }] }] })).toEqual(['-s 10.0.0.2/32 -j RETURN', '-s 10.0.1.3/32 -j RETURN', '-s 10.0.1.4/32 -j RETURN', '-j DROP']);
  });

  it('matches matchExpressions with In, NotIn, Exists and DoesNotExist', async () => {
    const from = (expression: Record<string, unknown>) => ({ ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [expression] } }] }] });
    expect(await ingressOfWeb(from({ key: 'app', operator: 'In', values: ['client', 'x'] }))).toEqual(['-s 10.0.1.3/32 -j RETURN', '-s 10.0.1.4/32 -j RETURN', '-j DROP']);
    expect(await ingressOfWeb(from({ key: 'app', operator: 'NotIn', values: ['client'] }))).toEqual(['-s 10.0.0.2/32 -j RETURN', '-j DROP']);
    expect(await ingressOfWeb(from({ key: 'tier', operator: 'Exists' }))).toEqual(['-s 10.0.0.2/32 -j RETURN', '-j DROP']);
    expect(await ingressOfWeb(from({ key: 'tier', operator: 'DoesNotExist' }))).toEqual(['-s 10.0.1.3/32 -j RETURN', '-s 10.0.1.4/32 -j RETURN', '-j DROP']);
  });

  it('splits an ipBlock around its exceptions', async () => {
    expect(await ingressOfWeb({ ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/22', except: ['192.168.1.0/24'] } }] }] }))
      .toEqual(['-s 192.168.0.0/24 -j RETURN', '-s 192.168.2.0/23 -j RETURN', '-j DROP']);
    expect(await ingressOfWeb({ ingress: [{ from: [{ ipBlock: { cidr: '192.168.1.0/24', except: ['192.168.0.0/16'] } }] }] })).toEqual(['-j DROP']);
  });

  it('reads ports by number, range, protocol alone, and by the target pod\'s port names', async () => {
    expect(await ingressOfWeb({ ingress: [{ ports: [{ port: 80 }, { protocol: 'UDP', port: 53 }, { port: 30000, endPort: 30100 }, { protocol: 'SCTP' }, { port: 'http' }, { protocol: 'UDP', port: 'dns' }, { port: 'dns' }] }] })).toEqual([
      '-p tcp -m tcp --dport 80 -j RETURN',
      '-p udp -m udp --dport 53 -j RETURN',
      '-p tcp -m tcp --dport 30000:30100 -j RETURN',
      '-p sctp -j RETURN',
      '-p tcp -m tcp --dport 8080 -j RETURN',
      '-p udp -m udp --dport 5353 -j RETURN',
      // "dns" over TCP: web declares no such port, so nothing is allowed by it.
      '-j DROP',
    ]);
  });

  it('resolves an egress named port at each destination pod that declares it', async () => {
    const rules = await render('n2', everyone, [policy('p', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }, { port: 443 }] }] })]);
    expect(chain(rules, 'E', '10.0.1.3')).toEqual(['-p tcp -m tcp --dport 443 -j RETURN', '-d 10.0.0.2/32 -p tcp -m tcp --dport 8080 -j RETURN', '-j DROP']);
    expect(chain(rules, 'I', '10.0.1.3')).toEqual([]);
  });

  it('unites the rules of every policy that selects a pod', async () => {
    const rules = await render('n1', everyone, [
      policy('a', { ...selectWeb, ingress: [{ ports: [{ port: 80 }] }] }),
      policy('b', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] }),
    ]);
    expect(chain(rules, 'I', '10.0.0.2')).toEqual(['-p tcp -m tcp --dport 80 -j RETURN', '-s 10.0.1.3/32 -j RETURN', '-j DROP']);
  });
});
