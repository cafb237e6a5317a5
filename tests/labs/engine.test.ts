/**
 * The lab engine against a real embedded cluster: workspaces and backups, progress, reset of
 * node labels/taints/cordons, solution files, an unreachable cluster, a cluster without the lab
 * marker, and an engine that cannot add nodes.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { LabReportSchema, type LabReport } from '../../src/shared/lab-results.ts';
import { EnvironmentError, SolveStalledError } from '../../src/server/errors.ts';
import { markLabCluster } from '../../src/server/cluster/baseline.ts';
import { waitFor } from '../../src/server/cluster/kube.ts';
import { LAB_MARKER } from '../../src/server/cluster/topology.ts';
import type { ClusterProvider } from '../../src/server/cluster/providers/provider.ts';
import { applyManifests } from '../../src/server/labs/actions.ts';
import { createLabEngine } from '../../src/server/labs/engine.ts';
import { reportToJUnit } from '../../src/server/labs/junit.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const cluster = connectTestCluster(inject('testCluster'));
const stateDir = mkdtempSync(join(tmpdir(), 'lab-engine-'));
const engine = createLabEngine({ provider: cluster.provider, stateDir });
afterAll(() => engine.close());

const checks = (report: LabReport) => report.steps.flatMap((s) => s.checks.map((c) => ({ key: `${s.id}/${c.id}`, ...c })));
const node = async (name: string) => cluster.clients.core.readNode({ name });

describe('lab engine', () => {
  it('starts a lab: start files in the workspace, every check failing with a hint, a start recorded', async () => {
    const report = LabReportSchema.parse(await engine.start('first-daemonset'));
    expect(report.passed).toBe(false);
    expect(checks(report).every((c) => c.status === 'fail' && c.hint)).toBe(true);
    const workspace = engine.workspaceDir('first-daemonset');
    expect(workspace).toBe(join(stateDir, 'workspaces', 'first-daemonset'));
    expect(readdirSync(workspace)).toEqual(['nginx-daemonset.yaml']);
    expect(engine.progress().labs.find((l) => l.labId === 'first-daemonset')).toMatchObject({ timesStarted: 1, passedSteps: [] });
  });

  it('records steps as the learner passes them, and completion, in a database that outlives the engine', async () => {
    await engine.start('first-daemonset');
    const applied = await cluster.kubectl(['apply', '-f', '-'], readFileSync('labs/first-daemonset/solution/nginx-daemonset.yaml', 'utf8'));
    expect(applied.code, applied.stderr).toBe(0);
    const report = await waitFor('the learner\'s DaemonSet to pass every check', async () => {
      const latest = await engine.check('first-daemonset');
      return latest.passed ? latest : undefined;
    }, 30_000);
    expect(report.steps.every((s) => s.passed)).toBe(true);
    const reopened = createLabEngine({ provider: cluster.provider, stateDir });
    const progress = reopened.progress().labs.find((l) => l.labId === 'first-daemonset');
    reopened.close();
    expect(progress?.completedAt).toBeDefined();
    expect(progress?.passedSteps.map((s) => s.stepId).sort()).toEqual(['create', 'resources']);
  });

  it('resets the cluster (labels, taints, cordons) and the start files, keeping edited files in .backup/', async () => {
    await engine.start('tolerations');
    const workspace = engine.workspaceDir('tolerations');
    writeFileSync(join(workspace, 'nginx-daemonset.yaml'), '# my edit\n');
    writeFileSync(join(workspace, 'notes.txt'), 'my notes\n');
    await cluster.kubectl(['taint', 'nodes', 'daemonset-lab-worker3', 'special-']);
    await cluster.kubectl(['label', 'node', 'daemonset-lab-worker', 'disktype=ssd']);
    await cluster.kubectl(['cordon', 'daemonset-lab-worker2']);

    const report = await engine.reset('tolerations');
    expect(report.passed).toBe(false);
    expect((await node('daemonset-lab-worker3')).spec?.taints).toEqual([{ key: 'special', value: 'true', effect: 'NoSchedule' }]);
    expect((await node('daemonset-lab-worker')).metadata?.labels?.disktype).toBeUndefined();
    expect((await node('daemonset-lab-worker2')).spec?.unschedulable).toBeFalsy();
    expect(readFileSync(join(workspace, 'nginx-daemonset.yaml'), 'utf8')).toBe(readFileSync('labs/tolerations/start/nginx-daemonset.yaml', 'utf8'));
    const [backup] = readdirSync(join(workspace, '.backup'));
    expect(readdirSync(join(workspace, '.backup', backup!)).sort()).toEqual(['nginx-daemonset.yaml', 'notes.txt']);
    expect(readFileSync(join(workspace, '.backup', backup!, 'nginx-daemonset.yaml'), 'utf8')).toBe('# my edit\n');
    expect(existsSync(join(workspace, 'notes.txt'))).toBe(false);
  });

  it('sets up objects as kubectl apply would, so deleting a field from the file and applying deletes it', async () => {
    await engine.start('troubleshoot-not-scheduling');
    const edited = readFileSync(join(engine.workspaceDir('troubleshoot-not-scheduling'), 'nginx-daemonset.yaml'), 'utf8').replace('      nodeSelector:\n        disktype: ssd\n', '');
    const applied = await cluster.kubectl(['apply', '-f', '-'], edited);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).not.toContain('missing the kubectl.kubernetes.io/last-applied-configuration annotation');
    const ds = await cluster.clients.apps.readNamespacedDaemonSet({ name: 'nginx-daemonset', namespace: 'default' });
    expect(ds.spec?.template.spec?.nodeSelector).toBeUndefined();
  });

  it('solves a lab even after the learner applied a wrong file of their own', async () => {
    await engine.start('troubleshoot-not-scheduling');
    const wrong = readFileSync('labs/troubleshoot-not-scheduling/start/nginx-daemonset.yaml', 'utf8').replace('disktype: ssd', 'disktype: SSD\n        zone: nowhere');
    const applied = await cluster.kubectl(['apply', '-f', '-'], wrong);
    expect(applied.code, applied.stderr).toBe(0);
    const report = await engine.solve('troubleshoot-not-scheduling');
    expect(report.passed, JSON.stringify(report, null, 2)).toBe(true);
    const ds = await cluster.clients.apps.readNamespacedDaemonSet({ name: 'nginx-daemonset', namespace: 'default' });
    expect(ds.spec?.template.spec?.nodeSelector).toBeUndefined();
  });

  it('says which step did not pass, and what its checks saw, when the learner re-applies their own file during Solve', async () => {
    // A learner who runs kubectl apply -f node-agent.yaml while Solve runs replaces the solution
    // with their start file: Solve must say so (a 409 on the page), not hang or answer 500.
    const impatient = createLabEngine({ provider: cluster.provider, stateDir, solveStepTimeoutMs: 4_000 });
    try {
      await impatient.start('node-agents');
      const start = readFileSync('labs/node-agents/start/node-agent.yaml', 'utf8');
      let reapplying = true;
      const learner = (async () => {
        while (reapplying) {
          await applyManifests(cluster.clients, start, 'node-agent.yaml').catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const error = await impatient.solve('node-agents').catch((e: unknown) => e);
      reapplying = false;
      await learner;
      expect(error).toBeInstanceOf(SolveStalledError);
      const stalled = error as SolveStalledError;
      // Which step stalls depends on when the re-apply lands; it names that step and its checks.
      const step = impatient.summary('node-agents').steps.find((s) => s.id === stalled.stepId);
      expect(step, stalled.stepId).toBeDefined();
      expect(stalled.message).toMatch(new RegExp(`^Solve applied the reference solution, but step "${step!.title}" did not pass within 4 s\\. Its checks saw: \\S`));
      expect(stalled.message).toMatch(/the pod template (does not set|has no tolerations)/i);
      expect(stalled.fix).toContain('a kubectl apply of your own file replaces the solution');
    } finally {
      impatient.close();
    }
  });

  it('quotes the API server when it refuses a manifest', async () => {
    const broken = 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: broken\nspec:\n  template:\n    spec:\n      containers: []\n';
    await expect(applyManifests(cluster.clients, broken, 'setup/broken.yaml')).rejects.toThrow(
      /^setup\/broken\.yaml: applying DaemonSet broken failed: DaemonSet\.apps "broken" is invalid: /,
    );
  });

  it('solves a lab through the API, writing the reference files to solution/', async () => {
    await engine.start('tolerations');
    const report = await engine.solve('tolerations');
    expect(report.passed, JSON.stringify(report, null, 2)).toBe(true);
    const [solution] = engine.solutionFiles('tolerations');
    expect(solution?.path).toBe('nginx-daemonset.yaml');
    expect(readFileSync(join(engine.workspaceDir('tolerations'), 'solution', 'nginx-daemonset.yaml'), 'utf8')).toBe(solution?.content);
  });

  it('answers an unknown lab id with the valid ones', async () => {
    expect(() => engine.summary('tolerationz')).toThrow(/Unknown lab "tolerationz"\. Valid labs: first-daemonset, .*troubleshoot-crashloop\./);
    await expect(engine.check('tolerationz')).rejects.toThrow(/Valid labs/);
  });

  it('reports a cluster that does not answer as an environment problem that names the fix', async () => {
    const kubeconfig = join(stateDir, 'unreachable.kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: gone, cluster: {server: "https://127.0.0.1:27999"}}]',
        'users: [{name: gone, user: {token: x}}]',
        'contexts: [{name: gone, context: {cluster: gone, user: gone}}]',
        'current-context: gone',
      ].join('\n'),
    );
    const down: ClusterProvider = { ...cluster.provider, connection: async () => ({ kubeconfig, context: 'gone', kubectlDir: '' }) };
    const offline = createLabEngine({ provider: down, stateDir: mkdtempSync(join(tmpdir(), 'lab-offline-')) });
    const report = LabReportSchema.parse(await offline.check('first-daemonset'));
    expect(report.environment?.fix).toBe('npm run cluster -- up');
    expect(report.environment?.message).toMatch(/^The lab cluster does not answer \(.*ECONNREFUSED/);
    await expect(offline.start('first-daemonset')).rejects.toBeInstanceOf(EnvironmentError);
    offline.close();
  });

  it('refuses to change a cluster without the lab marker, unless allowed', async () => {
    await cluster.clients.core.deleteNamespacedConfigMap(LAB_MARKER);
    try {
      await expect(engine.start('tolerations')).rejects.toThrow(/Refusing to set up lab tolerations: .* is not a lab cluster/);
      const allowed = createLabEngine({ provider: cluster.provider, stateDir, allowNonLabCluster: true });
      const report = await allowed.start('tolerations');
      allowed.close();
      expect(report.passed).toBe(false);
    } finally {
      await markLabCluster(cluster.clients, 'embedded');
    }
  });

  it('marks node-lifecycle node checks not applicable on an engine that cannot add nodes, never passed', async () => {
    const kind: ClusterProvider = { ...cluster.provider, name: 'kind', canChangeNodes: false };
    const kindState = mkdtempSync(join(tmpdir(), 'lab-kind-'));
    const fixedNodes = createLabEngine({ provider: kind, stateDir: kindState });
    await fixedNodes.start('node-lifecycle');
    const report = LabReportSchema.parse(await fixedNodes.check('node-lifecycle'));
    const progress = fixedNodes.progress().labs.find((l) => l.labId === 'node-lifecycle');
    fixedNodes.close();
    const byKey = new Map(checks(report).map((c) => [c.key, c]));
    for (const key of ['add-node/pod-on-added-node', 'remove-node/pod-collected']) {
      expect(byKey.get(key)).toMatchObject({ status: 'not-applicable' });
      expect(byKey.get(key)?.observed).toContain('the kind engine cannot add or remove nodes');
      expect(byKey.get(key)?.hint).toBeUndefined();
    }
    expect(report.steps.find((s) => s.id === 'add-node')?.passed).toBe(false);
    expect(report.passed).toBe(false);
    expect(progress?.passedSteps.map((p) => p.stepId) ?? []).not.toContain('add-node');
    expect(progress?.completedAt).toBeUndefined();
    expect(reportToJUnit(report)).toContain('<skipped message="Not applicable here: the kind engine cannot add or remove nodes.');
  });
});
