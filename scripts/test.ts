/**
 * npm test: every test of the repository against real parts. Obtains the Kubernetes binaries
 * first (with progress, so a fresh machine's long build is visible), checks that Chromium is
 * there, then runs every vitest project (the kind project last, alone) and ends with one summary line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../src/server/cli.ts';
import { EnvironmentError } from '../src/server/errors.ts';
import { ensureBinaries } from '../src/server/cluster/binaries.ts';
import { REPO_ROOT } from '../src/server/paths.ts';
import { ProjectCountsSchema, VitestReportSchema, countsByProject, mergeReports, readJson, runProblems, testProjects, type VitestReport } from './test-report.ts';

/** Where the browser tests expect Debian's Chromium. */
const CHROMIUM = '/usr/bin/chromium';

/**
 * The phases of a full run. The kind project's cluster (four node containers) takes much of a small
 * machine for as long as it is up, and vitest starts every project's cluster before the first test:
 * run alone, after the others, it neither slows them nor is slowed by them.
 */
const FULL_RUN_PHASES: readonly (readonly string[])[] = [['--project', '!kind'], ['--project', 'kind']];

/** Runs vitest once with `args`, writing its JSON report to `jsonReport`; resolves to its exit code. */
function runVitest(args: readonly string[], jsonReport: string): Promise<number> {
  return new Promise<number>((resolve) => {
    const vitest = spawn(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${jsonReport}`, ...args],
      { cwd: REPO_ROOT, stdio: 'inherit' },
    );
    vitest.on('close', (exitCode) => resolve(exitCode ?? 1));
  });
}

await runCli(async () => {
  await ensureBinaries();
  if (!existsSync(CHROMIUM)) {
    throw new EnvironmentError(`Chromium is not installed at ${CHROMIUM}; the browser tests need it.`, 'apt-get install -y chromium (Debian), then run npm test again.');
  }
  const resultsDir = join(REPO_ROOT, 'test-results');
  await mkdir(resultsDir, { recursive: true });
  const countsFile = join(resultsDir, 'test-counts.json');
  const filters = process.argv.slice(2);
  const phases = filters.length === 0 ? FULL_RUN_PHASES : [filters];
  let code = 0;
  const reports: VitestReport[] = [];
  for (const [index, args] of phases.entries()) {
    const jsonReport = join(resultsDir, phases.length === 1 ? 'vitest.json' : `vitest-${index + 1}.json`);
    // A report left by an earlier run must never be read as this run's.
    await rm(jsonReport, { force: true });
    code = (await runVitest(args, jsonReport)) || code;
    const report = readJson(jsonReport, VitestReportSchema);
    if (!report) {
      process.stdout.write(`\ntests: no report from vitest (${jsonReport}); the run did not finish\n`);
      return code || 1;
    }
    reports.push(report);
  }
  const report = mergeReports(reports);
  const counts = countsByProject(report, REPO_ROOT);
  // A filtered run (npm test -- tests/workspace) is partial: only a full run is judged and remembered.
  if (filters.length === 0) {
    const problems = runProblems(testProjects(REPO_ROOT), counts, readJson(countsFile, ProjectCountsSchema));
    for (const problem of problems) process.stdout.write(`✗ ${problem}\n`);
    if (problems.length) code = code || 1;
    else await writeFile(countsFile, `${JSON.stringify(counts, null, 2)}\n`);
  }
  // The plain closing line CI reads: N passed, N failed, and per project.
  const perProject = Object.entries(counts).map(([project, n]) => `${project} ${n}`).join(', ');
  process.stdout.write(`\ntests: ${report.numPassedTests} passed, ${report.numFailedTests} failed${report.numPendingTests ? `, ${report.numPendingTests} skipped` : ''} (${perProject})\n`);
  return code;
});
