/**
 * Rough edges a newcomer meets before the first lab: what Ctrl-C of `npm start` leaves running
 * (said, with how to stop it), and `npm install` without a screenful of engine warnings.
 * Runs the real start script on the test cluster, and the real npm.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { embeddedProvider } from '../../src/server/cluster/providers/embedded.ts';
import { processRunner } from '../../src/server/cluster/providers/runner.ts';
import { testClusterEnv } from '../support/test-cluster.ts';
import { until } from './support.ts';

describe('npm start, stopped with Ctrl-C', () => {
  it('says the cluster is still running and how to stop it, and leaves it running', async () => {
    const info = inject('testCluster');
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'start.ts'), '--provider', 'embedded', '--port', '0'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...testClusterEnv(info), CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await until('the start URL', () => /\?token=/.test(output), 120_000);
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\nnpm start printed:\n${output}`);
    }
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('The site has stopped. The embedded cluster is still running in the background');
    expect(output).toContain('npm run cluster -- down');
    const status = await embeddedProvider({ stateDir: info.stateDir, portBase: info.portBase, runner: processRunner }).status();
    expect(status.running, status.summary).toBe(true);
  });
});

describe('npm install', () => {
  it('prints no EBADENGINE warnings, whatever Node npm itself runs on', () => {
    const result = spawnSync('npm', ['install', '--dry-run', '--no-audit', '--no-fund'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain('EBADENGINE');
  });
});
