/**
 * npm test: every test of the repository against real parts. Obtains the Kubernetes binaries
 * first (with progress, so a fresh machine's long build is visible), checks that Chromium is
 * there, then runs every vitest project (the labs project beside the others, then the kind project
 * alone) and ends with one summary line. The run's temporary folders, and so its test clusters'
 * state, live under a folder of its own (test-run-dir.ts): a run stopped by a signal takes its
 * clusters down, and the next run sweeps those of a run that was killed outright.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../src/server/cli.ts';
import { EnvironmentError } from '../src/server/errors.ts';
import { ensureBinaries } from '../src/server/cluster/binaries.ts';
import { chooseNodeImage, ensureKind } from '../src/server/cluster/providers/kind.ts';
import { processRunner } from '../src/server/cluster/providers/runner.ts';
import { REPO_ROOT } from '../src/server/paths.ts';
import { ProjectCountsSchema, VitestReportSchema, countsByProject, mergeReports, readJson, runProblems, testProjects, type VitestReport } from './test-report.ts';
import { createRunDir, removeRunDir, sweepAbandonedRuns } from './test-run-dir.ts';
import { withProgress } from '../src/server/progress.ts';
import { buildClassroomImages } from '../tests/kind/classroom-install.ts';

/** Where the browser tests expect Debian's Chromium. */
const CHROMIUM = '/usr/bin/chromium';

/** One vitest run: a name for its output lines and the arguments that choose its projects. */
interface Lane {
  readonly name: string;
  readonly args: readonly string[];
}

/**
 * The phases of a full run, one after another; the lanes of a phase run at the same time.
 * Vitest runs the files of these projects one at a time on a 2-core machine, and the labs project's
 * verify-all and grading runs spend most of their time waiting for the cluster (rollouts, node
 * failures, back-offs): run beside the other projects it overlaps those waits with their work.
 * The kind project's cluster (four node containers) takes much of a small machine for as long as
 * it is up, and vitest starts every project's cluster before the first test: run alone, after the
 * others, it neither slows them nor is slowed by them.
 */
const FULL_RUN_PHASES: readonly (readonly Lane[])[] = [
  [
    { name: 'labs', args: ['--project', 'labs'] },
    { name: 'others', args: ['--project', '!labs', '--project', '!kind'] },
  ],
  [{ name: 'kind', args: ['--project', 'kind'] }],
];

/** Copies `stream` to stdout line by line, each line after `prefix`. */
function prefixLines(stream: NodeJS.ReadableStream, prefix: string): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    if (lines.length) process.stdout.write(lines.map((line) => `${prefix}${line}\n`).join(''));
  });
  stream.on('end', () => {
    if (pending) process.stdout.write(`${prefix}${pending}\n`);
  });
}

/** The vitest processes running now, so a signal can stop them. */
const running = new Set<ChildProcess>();

/** Set by a signal: the handler cleans up and exits, and the run goes no further meanwhile. */
let stopping = false;

/**
 * Runs vitest once with `args`, writing its JSON report to `jsonReport`; resolves to its exit code.
 * With a `prefix` (a lane beside others) its output lines carry it, so interleaved lines stay legible.
 * Its temporary folders (and so its clusters' state) go under `runDir`.
 */
function runVitest(args: readonly string[], jsonReport: string, runDir: string, prefix?: string): Promise<number> {
  return new Promise<number>((resolve) => {
    const vitest = spawn(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${jsonReport}`, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, TMPDIR: runDir }, stdio: prefix === undefined ? 'inherit' : ['ignore', 'pipe', 'pipe'] },
    );
    running.add(vitest);
    vitest.on('close', () => running.delete(vitest));
    if (prefix !== undefined) {
      prefixLines(vitest.stdout!, prefix);
      prefixLines(vitest.stderr!, prefix);
    }
    vitest.on('close', (exitCode) => resolve(exitCode ?? 1));
  });
}

/**
 * Obtains what the kind phase needs and a fresh machine lacks: kind (built from its Go module), the
 * node image (an offline build of many minutes) and the classroom's learner and PostgreSQL images.
 * Started with the first phase, so those builds overlap the other projects' tests (which spend
 * much of their time waiting on their clusters); with everything cached it takes seconds.
 * Resolves to the error that stopped it, if any, so the kind phase can be skipped with that reason.
 */
async function prepareKindPhase(): Promise<unknown> {
  try {
    await ensureKind();
    await chooseNodeImage(processRunner, 'podman');
    await withProgress('Building the classroom\'s learner and PostgreSQL images (for the kind phase)', () => buildClassroomImages());
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Runs the lanes of one phase at the same time; resolves to their exit codes and JSON report paths. */
async function runPhase(lanes: readonly Lane[], resultsDir: string, runDir: string, phaseNumber: number, single: boolean): Promise<{ code: number; reports: string[] }> {
  const runs = lanes.map(async (lane) => {
    const jsonReport = join(resultsDir, single ? 'vitest.json' : `vitest-${phaseNumber}-${lane.name}.json`);
    // A report left by an earlier run must never be read as this run's.
    await rm(jsonReport, { force: true });
    const code = await runVitest(lane.args, jsonReport, runDir, lanes.length > 1 ? `${lane.name.padEnd(6)} │ ` : undefined);
    return { code, jsonReport };
  });
  const results = await Promise.all(runs);
  return { code: results.find((r) => r.code !== 0)?.code ?? 0, reports: results.map((r) => r.jsonReport) };
}

/** Reports what was taken down, if anything. */
function sayStopped(stopped: readonly string[], why: string): void {
  if (stopped.length) process.stdout.write(`▸ ${why}: took down ${stopped.join('; ')}\n`);
}

/**
 * On SIGINT, SIGTERM or SIGHUP: stops the vitest processes, takes down the clusters they left in
 * `runDir` (their global teardown may never run) and exits with 128 + the signal's number.
 */
function stopOnSignals(runDir: string): void {
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`\n✗ ${signal}: stopping the tests and taking down their clusters\n`);
      const exited = [...running].map((child) => new Promise((resolve) => {
        child.once('close', resolve);
        child.kill('SIGTERM');
      }));
      // Vitest gets 20 s to run its teardowns; what it leaves is taken down after.
      void Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, 20_000))])
        .then(() => removeRunDir(runDir))
        .then((stopped) => sayStopped(stopped, 'after the signal'))
        .finally(() => process.exit(128 + number));
    });
  }
}

await runCli(async () => {
  sayStopped(await sweepAbandonedRuns(), 'runs that were killed before they could clean up');
  const runDir = await createRunDir();
  stopOnSignals(runDir);
  try {
    return await runAllTests(runDir);
  } finally {
    sayStopped(await removeRunDir(runDir), 'clusters the tests left running');
  }
});

/** Every phase of the run (or the filtered one); the run's exit code. */
async function runAllTests(runDir: string): Promise<number> {
  await ensureBinaries();
  if (!existsSync(CHROMIUM)) {
    throw new EnvironmentError(`Chromium is not installed at ${CHROMIUM}; the browser tests need it.`, 'apt-get install -y chromium (Debian), then run npm test again.');
  }
  const resultsDir = join(REPO_ROOT, 'test-results');
  await mkdir(resultsDir, { recursive: true });
  const countsFile = join(resultsDir, 'test-counts.json');
  const filters = process.argv.slice(2);
  const phases: readonly (readonly Lane[])[] = filters.length === 0 ? FULL_RUN_PHASES : [[{ name: 'tests', args: filters }]];
  let code = 0;
  const reports: VitestReport[] = [];
  const kindPrepared = filters.length === 0 ? prepareKindPhase() : Promise.resolve(undefined);
  for (const [index, lanes] of phases.entries()) {
    if (lanes.some((lane) => lane.name === 'kind')) {
      const problem = await kindPrepared;
      if (problem) {
        // The kind project then runs nothing, which the check of the full run below reports too.
        process.stdout.write(`\n✗ The kind project cannot run: ${problem instanceof Error ? problem.message : String(problem)}\n`);
        if (problem instanceof EnvironmentError) process.stdout.write(`  ${problem.fix}\n`);
        code = code || 1;
        continue;
      }
    }
    const phase = await runPhase(lanes, resultsDir, runDir, index + 1, phases.length === 1);
    if (stopping) await new Promise(() => undefined); // The signal's handler ends the process.
    code = phase.code || code;
    for (const jsonReport of phase.reports) {
      const report = readJson(jsonReport, VitestReportSchema);
      if (!report) {
        process.stdout.write(`\ntests: no report from vitest (${jsonReport}); the run did not finish\n`);
        return code || 1;
      }
      reports.push(report);
    }
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
}
