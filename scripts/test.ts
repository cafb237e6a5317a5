/**
 * npm test: every test of the repository against real parts. Obtains the Kubernetes binaries
 * first (with progress, so a fresh machine's long build is visible), checks that Chromium is
 * there, then runs every vitest project and ends with one summary line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../src/server/cli.ts';
import { EnvironmentError } from '../src/server/errors.ts';
import { ensureBinaries } from '../src/server/cluster/binaries.ts';
import { REPO_ROOT } from '../src/server/paths.ts';

/** Where the browser tests expect Debian's Chromium. */
const CHROMIUM = '/usr/bin/chromium';

await runCli(async () => {
  await ensureBinaries();
  if (!existsSync(CHROMIUM)) {
    throw new EnvironmentError(`Chromium is not installed at ${CHROMIUM}; the browser tests need it.`, 'apt-get install -y chromium (Debian), then run npm test again.');
  }
  const resultsDir = join(REPO_ROOT, 'test-results');
  await mkdir(resultsDir, { recursive: true });
  const jsonReport = join(resultsDir, 'vitest.json');
  const code = await new Promise<number>((resolve) => {
    const vitest = spawn(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${jsonReport}`, ...process.argv.slice(2)],
      { cwd: REPO_ROOT, stdio: 'inherit' },
    );
    vitest.on('close', (exitCode) => resolve(exitCode ?? 1));
  });
  if (existsSync(jsonReport)) {
    const report = JSON.parse(await readFile(jsonReport, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number };
    // The plain closing line CI reads: N passed, N failed.
    process.stdout.write(`\ntests: ${report.numPassedTests} passed, ${report.numFailedTests} failed${report.numPendingTests ? `, ${report.numPendingTests} skipped` : ''}\n`);
  }
  return code;
});
