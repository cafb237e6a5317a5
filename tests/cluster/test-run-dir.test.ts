/**
 * `npm test`'s clean-up of a stopped run (scripts/test-run-dir.ts): a real embedded cluster started
 * in a run's folder is taken down with it, a process that does not name the folder is left alone,
 * and a folder whose run is gone is swept while a live run's is not.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRunDir, processesNaming, removeRunDir, sweepAbandonedRuns } from '../../scripts/test-run-dir.ts';
import { startTestCluster } from '../support/test-cluster.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('a test run\'s folder', () => {
  it('takes down the embedded cluster started in it, and is deleted', async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = await mkdtemp(join(tmpdir(), 'run-dir-test-'));
    const base = process.env.TMPDIR;
    let runDir = '';
    try {
      runDir = await createRunDir();
      process.env.TMPDIR = runDir;
      const cluster = await startTestCluster('run-dir', 39400);
      cleanups.push(cluster.stop);
      expect((await processesNaming(runDir)).length, 'the cluster\'s components name its state folder').toBeGreaterThanOrEqual(5);
    } finally {
      // process.env coerces undefined to "undefined": remove the variable instead.
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    const stopped = await removeRunDir(runDir);
    expect(stopped).toEqual([expect.stringMatching(/^\d+ processes of daemonset-lab-run-dir-\w+$/)]);
    expect(Number(stopped[0]!.split(' ')[0])).toBeGreaterThanOrEqual(6);
    expect(await processesNaming(runDir)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
    await rm(base, { recursive: true, force: true });
  }, 120_000);

  it('kills what names a cluster folder in it, and nothing else', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'run-dir-own-'));
    cleanups.push(() => rm(runDir, { recursive: true, force: true }));
    const stateDir = join(runDir, 'old-cluster');
    await mkdir(stateDir);
    const named = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', stateDir], { stdio: 'ignore' });
    const bystander = spawn('sleep', ['61'], { stdio: 'ignore' });
    cleanups.push(async () => bystander.kill('SIGKILL'));
    const namedExit = new Promise((resolve) => named.on('close', (_code, signal) => resolve(signal)));
    // Until it has exec'd, the child's command line is still this process's.
    while (!(await processesNaming(stateDir)).includes(named.pid!)) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await removeRunDir(runDir)).toEqual(['1 processes of old-cluster']);
    expect(await namedExit).toBe('SIGKILL');
    expect(existsSync(`/proc/${bystander.pid}`)).toBe(true);
  });

  it('is swept when its run is gone, and left alone while its run goes on', async () => {
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('close', resolve));
    const abandoned = await mkdtemp(join(tmpdir(), `daemonset-lab-test-run-${gone.pid}-`));
    const live = await mkdtemp(join(tmpdir(), `daemonset-lab-test-run-${process.ppid}-`));
    cleanups.push(() => rm(live, { recursive: true, force: true }));
    await sweepAbandonedRuns();
    expect(existsSync(abandoned), 'the folder of a run whose process is gone').toBe(false);
    expect(existsSync(live), 'the folder of a run whose process lives').toBe(true);
  });
});
