/**
 * The same labs on real kubelets: `npm run lab -- verify-all --provider kind` proves every lab
 * (setup fails every check, each wrong attempt fails the check it should, alternatives and the
 * solution pass, reset restores the start) against the kind cluster, with unchanged definitions.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { labIds } from '../../src/server/labs/registry.ts';

const cluster = inject('kindCluster');

interface Verification {
  readonly id: string;
  readonly ok: boolean;
}

it('verify-all passes for every lab on kind', async () => {
  const output = await new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/lab.ts'), 'verify-all', '--provider', 'kind', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DAEMONSET_LAB_STATE: cluster.stateDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
  const results = JSON.parse(output.stdout) as Verification[];
  expect(results.map((r) => r.id)).toEqual(labIds());
  expect(results.filter((r) => !r.ok), JSON.stringify(results.filter((r) => !r.ok), null, 2)).toEqual([]);
  expect(output.code).toBe(0);
}, 2_700_000);
