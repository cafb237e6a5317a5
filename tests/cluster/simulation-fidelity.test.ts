/**
 * README's "How the simulated node differs" stays true: each row of its table is a difference this
 * test demonstrates, and each difference this test knows has a row.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { planPod } from '../../src/server/cluster/embedded/simulation/container.ts';
import { READINESS_TICK_MS } from '../../src/server/cluster/embedded/simulation/kubelet-events.ts';
import { pullImage } from '../../src/server/cluster/embedded/simulation/image.ts';
import { hostPathProblem } from '../../src/server/cluster/embedded/simulation/node-filesystem.ts';
import { PLAN_ANNOTATION } from '../../src/server/cluster/embedded/simulation/plan-annotation.ts';
import { loadRegistry } from '../../src/server/cluster/embedded/simulation/registry-file.ts';
import { runScript } from '../../src/server/cluster/embedded/simulation/shell.ts';
import { waitFor } from '../../src/server/cluster/kube.ts';
import { componentPatches } from '../../src/server/cluster/providers/embedded-config.ts';
import { embeddedPorts } from '../../src/server/cluster/providers/embedded.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const cluster = connectTestCluster(inject('testCluster'));
const registry = loadRegistry();
const pod = (container: Record<string, unknown>, spec: Record<string, unknown> = {}): V1Pod => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', ...container }], ...spec },
});

/** The rows of the README table: id → the row's cells. */
async function fidelityRows(): Promise<Map<string, string[]>> {
  const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const section = readme.split('### How the simulated node differs')[1]?.split(/\n#{2,3} /)[0];
  if (!section) throw new Error('README.md has no "How the simulated node differs" section');
  const rows = section.split('\n').filter((line) => /^\| `[a-z-]+` \|/.test(line));
  return new Map(rows.map((line) => {
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    return [cells[0]!.replaceAll('`', ''), cells.slice(1)];
  }));
}

/** How each difference is demonstrated. */
const demonstrations: Record<string, () => Promise<void> | void> = {
  exec: async () => {
    await cluster.kubectl(['run', 'fidelity-exec', '--image=nginx:1.19']);
    await waitFor('fidelity-exec Running', async () => ((await cluster.kubectl(['get', 'pod', 'fidelity-exec', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running' ? true : undefined), 30_000);
    const exec = await cluster.kubectl(['exec', 'fidelity-exec', '--', 'true']);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toContain('exec is not available on a simulated node of the embedded engine');
    await cluster.kubectl(['delete', 'pod', 'fidelity-exec', '--grace-period=0', '--force']);
  },
  'unknown-images': () => {
    expect(pullImage('registry.example.org/team/agent:7.1', registry)).toMatchObject({ ok: true });
    expect(planPod(pod({ image: 'registry.example.org/team/agent:7.1' }), registry)).toMatchObject({ phase: 'run', exitAfter: -1 });
  },
  digests: () => {
    expect(pullImage(`nginx@sha256:${'1'.repeat(64)}`, registry)).toMatchObject({ ok: true });
  },
  tags: () => {
    expect(pullImage('nginx:1.99.0', registry)).toMatchObject({ ok: false, reason: 'ErrImagePull' });
  },
  scripts: () => {
    const script = 'tail -f /var/log/app.log | grep ERROR';
    expect(runScript(script, { env: {}, startedAt: new Date(), notFound: (n) => n, program: () => undefined }, { horizon: 60 }).end.kind).toBe('declined');
    expect(planPod(pod({ image: 'busybox:1.36', command: ['sh', '-c', script] }), registry).exitAfter).toBe(-1);
  },
  files: () => {
    expect(planPod(pod({ image: 'busybox:1.36', command: ['sleep', 'infinity'], readinessProbe: { exec: { command: ['cat', '/tmp/ready'] } } }), registry).readyAfter).toBe(0);
  },
  'multi-container': () => {
    const plan = planPod({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'ngnix:1.19' }, { name: 'b', image: 'nginx:1.19' }] } }, registry);
    expect(plan.phase).toBe('pull');
  },
  'init-containers': () => {
    // An init image that cannot be pulled does not stop initialization in the plan.
    const initContainers = [{ name: 'i', image: 'ngnix:1.19', command: ['true'] }];
    expect(planPod(pod({ image: 'nginx:1.19' }, { initContainers }), registry).init).toBeUndefined();
  },
  'node-heartbeat': async () => {
    // The node lifecycle controller checks every 5 s, as by default, but keeps kwokctl's grace period.
    const manager = componentPatches(embeddedPorts(26400), '/tmp/cluster').find((patch) => patch.name === 'kube-controller-manager')!;
    expect(manager.extraArgs).toContainEqual({ key: 'node-monitor-period', value: '5s' });
    expect(manager.extraArgs.map((arg) => arg.key)).not.toContain('node-monitor-grace-period');
    // Every simulated node's lease is renewed: none turns Unknown.
    const leases = await cluster.kubectl(['get', 'leases', '-n', 'kube-node-lease', '--no-headers']);
    expect(leases.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(4);
  },
  'crash-loop-status': () => {
    // The restarted container's plan still exits: the Stages show CrashLoopBackOff between its runs.
    expect(planPod(pod({ image: 'busybox:1.36', command: ['sh', '-c', 'exit 3'] }), registry).containers.c!.exit).toEqual([0, 3]);
  },
  'created-paths': () => {
    expect(hostPathProblem(pod({ image: 'busybox:1.36' }, { volumes: [{ name: 'd', hostPath: { path: '/srv/agent', type: 'Directory' } }] }))).toContain('is not a directory');
  },
  'plan-annotation': async () => {
    const pods = (await cluster.clients.core.listNamespacedPod({ namespace: 'kube-system' })).items;
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.every((p) => p.metadata?.annotations?.[PLAN_ANNOTATION])).toBe(true);
  },
  'probe-event-counts': () => {
    expect(READINESS_TICK_MS).toBeGreaterThan(1000);
  },
  metrics: async () => {
    const top = await cluster.kubectl(['top', 'nodes']);
    expect(top.code).not.toBe(0);
  },
};

describe('README: How the simulated node differs', () => {
  it('lists exactly the differences this test demonstrates, each with all four cells', async () => {
    const rows = await fidelityRows();
    expect([...rows.keys()].sort()).toEqual(Object.keys(demonstrations).sort());
    for (const [id, cells] of rows) expect(cells.every((cell) => cell.length > 0), id).toBe(true);
  });

  it.each(Object.keys(demonstrations))('demonstrates %s', async (id) => {
    await demonstrations[id]!();
  });
});
