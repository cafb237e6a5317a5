/**
 * `npm run lab` as a learner and a CI system use it: exit codes 0/1/2, JSON and JUnit output,
 * progress export, an unknown id, a cluster that is down, and verify-all over every lab (the
 * acceptance cycle: setup fails every check, wrong attempts fail the right check with the right
 * hint, alternative solutions pass, solve passes, reset restores the start).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { LabReportSchema } from '../../src/shared/lab-results.ts';
import { ProgressSnapshotSchema } from '../../src/shared/lab-summary.ts';
import { KNOWN_LAB_IDS } from '../../src/components/lesson/lab-ids.ts';
import { testClusterEnv } from '../support/test-cluster.ts';

const info = inject('testCluster');

async function lab(args: string[], env: Record<string, string> = testClusterEnv(info)) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['scripts/lab.ts', ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm run lab', () => {
  it('lists the labs', async () => {
    const result = await lab(['list']);
    expect(result.code).toBe(0);
    for (const id of KNOWN_LAB_IDS) expect(result.stdout).toContain(id);
  });

  it('exits 2 for an unknown lab id and lists the valid ones', async () => {
    const result = await lab(['start', 'first-deamonset']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Unknown lab "first-deamonset". Valid labs: ${KNOWN_LAB_IDS.join(', ')}.`);
  });

  it('exits 0 after start, 1 while checks fail and 0 once solved, with JSON, JUnit and progress export', async () => {
    expect((await lab(['start', 'first-daemonset'])).code).toBe(0);
    const junit = join(mkdtempSync(join(tmpdir(), 'lab-junit-')), 'report.xml');
    const failing = await lab(['check', 'first-daemonset', '--json', '--junit', junit]);
    expect(failing.code).toBe(1);
    expect(LabReportSchema.parse(JSON.parse(failing.stdout)).passed).toBe(false);
    expect(readFileSync(junit, 'utf8')).toContain('<testsuite name="first-daemonset" tests="4" failures="4"');

    expect((await lab(['solve', 'first-daemonset'])).code).toBe(0);
    const passing = await lab(['check', 'first-daemonset']);
    expect(passing.code).toBe(0);
    expect(passing.stdout).toContain('first-daemonset: 2 of 2 steps pass');

    const status = await lab(['status', '--json']);
    const progress = ProgressSnapshotSchema.parse(JSON.parse(status.stdout));
    expect(progress.labs.find((l) => l.labId === 'first-daemonset')?.completedAt).toBeDefined();
  });

  it('exits 2 when the cluster is down, naming the command that starts it', async () => {
    const emptyState = mkdtempSync(join(tmpdir(), 'lab-nocluster-'));
    const env = { DAEMONSET_LAB_STATE: emptyState, DAEMONSET_LAB_PORT_BASE: '27900', KUBECONFIG: join(emptyState, 'none') };
    const result = await lab(['check', 'first-daemonset'], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Fix: npm run cluster -- up');
    // verify-all says so once, before any lab, instead of a stack trace after "verifying" each.
    const verify = await lab(['verify-all', 'first-daemonset', 'tolerations', '--provider', 'embedded'], env);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain('✗ The embedded lab cluster is not running (not created: run `npm run cluster -- up`).\n  Fix: npm run cluster -- up --provider embedded');
    expect(verify.stderr).not.toContain('Verifying lab');
    expect(verify.stderr).not.toContain('    at ');
  });

  it('verify-all proves every lab against the cluster and prints a table', async () => {
    const result = await lab(['verify-all']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    for (const id of KNOWN_LAB_IDS) expect(result.stdout).toMatch(new RegExp(`^${id} +✓ pass`, 'm'));
  }, 900_000);
});
