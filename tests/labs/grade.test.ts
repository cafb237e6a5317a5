/**
 * `npm run lab -- grade` as a CI job runs it, on the embedded engine (each run starts its own
 * cluster, as in CI): every lab's reference submission passes (exit 0); every lab's wrong trials,
 * written as the files and commands a learner would push, fail their check with the expected
 * hint in JUnit (exit 1); broken YAML, a refused field and a failing command exit 2 naming file
 * and line; an engine that cannot start exits 3. Every JUnit file is validated against the XSD and
 * read back.
 *
 * The gradings are independent (each has its own cluster on its own ports), and most of a grading
 * is waiting for the cluster to settle, so up to GRADINGS_AT_ONCE of them run at the same time:
 * the cases are concurrent, and the wrong trials are spread over as few, evenly filled runs as
 * their labs allow (one trial per lab in a run, several labs in one run).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, type ExpectStatic } from 'vitest';
import type { WrongTrial } from '../../src/server/labs/define.ts';
import { GRADE_EXIT_CODES, GradeReportSchema } from '../../src/server/labs/grade-result.ts';
import { findLab, labIds } from '../../src/server/labs/registry.ts';
import { parseJUnit, validateJUnit } from './junit-support.ts';
import { gradableWrongTrials, writeTrialSubmission } from './grade-trials.ts';

/** How many gradings (each a CLI with its own cluster) may run at once. */
const GRADINGS_AT_ONCE = 3;

/** Runs tasks with at most `max` at once; a finished task hands its slot to the next one waiting. */
function slots(max: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running < max) running += 1;
    else await new Promise<void>((resume) => waiting.push(resume));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

const gradingSlot = slots(GRADINGS_AT_ONCE);

/**
 * Runs `npm run lab -- grade …` (its own cluster, like CI) in a grading slot; never throws on a
 * non-zero exit. Like a CI job, it grades once more after exit 3 (the engine failed: the only
 * exit code worth a retry), saying why on stderr.
 */
async function gradeCli(args: string[], env: Record<string, string> = {}) {
  const first = await gradingSlot(() => runGradeCli(args, env));
  if (first.code !== GRADE_EXIT_CODES.environment) return first;
  process.stderr.write(`lab grade ${args.join(' ')} exited 3 (environment); grading again, as CI would:\n${first.stderr.slice(-2000)}\n`);
  return gradingSlot(() => runGradeCli(args, env));
}

/** Runs `npm run lab -- grade …` at once; never throws on a non-zero exit. */
async function runGradeCli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['scripts/lab.ts', 'grade', ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Validates a JUnit file against the XSD and reads it back; without one, fails quoting what the CLI printed. */
async function readJUnit(file: string, expect: ExpectStatic, cli?: { stdout: string; stderr: string }) {
  expect(existsSync(file), `no JUnit file was written; the CLI printed:\n${cli?.stdout ?? ''}\n${cli?.stderr ?? ''}`).toBe(true);
  const xml = readFileSync(file, 'utf8');
  const validation = await validateJUnit(xml);
  expect(validation.errors).toEqual([]);
  expect(Buffer.byteLength(xml)).toBeLessThan(30 * 1024 * 1024);
  const parsed = parseJUnit(xml);
  expect(new Set(parsed.cases.map((c) => `${c.classname}\n${c.name}`)).size).toBe(parsed.cases.length);
  return parsed;
}

const scratch = (name: string) => mkdtempSync(join(tmpdir(), `grade-${name}-`));

/** One wrong trial of one lab. */
interface PlannedTrial {
  readonly id: string;
  readonly trial: WrongTrial;
}

/**
 * The gradable wrong trials spread over as few CLI runs as the labs allow (a lab has one folder per
 * submission, so one trial per lab in a run), filled evenly: the lab with the most trials first,
 * each trial into the emptiest run that does not hold its lab yet.
 */
function planWrongTrialRuns(): PlannedTrial[][] {
  const byLab = labIds().map((id) => ({ id, trials: gradableWrongTrials(id) })).sort((a, b) => b.trials.length - a.trials.length);
  const runs: PlannedTrial[][] = Array.from({ length: byLab[0]?.trials.length ?? 0 }, () => []);
  for (const { id, trials } of byLab) {
    for (const trial of trials) {
      const run = runs.filter((r) => !r.some((t) => t.id === id)).sort((a, b) => a.length - b.length)[0]!;
      run.push({ id, trial });
    }
  }
  // Graded in the order of labIds(), as `--labs` lists them.
  return runs.map((run) => run.sort((a, b) => labIds().indexOf(a.id) - labIds().indexOf(b.id)));
}

const WRONG_TRIAL_RUNS = planWrongTrialRuns();

describe.concurrent('lab grade', () => {
  it('grades the reference submission of every lab: exit 0, every graded check passes, live-only steps skipped with their reason', async ({ expect }) => {
    const junit = join(scratch('reference'), 'grade.xml');
    const result = await gradeCli(['examples/assignment/submission', '--labs', 'all', '--json', '--junit', junit]);
    const report = GradeReportSchema.parse(JSON.parse(result.stdout));
    const notPassing = report.labs.flatMap((l) => l.checks.filter((c) => c.status !== 'passed' && c.status !== 'skipped').map((c) => `${l.labId}/${c.name}: ${c.status} ${c.observed}`));
    expect(notPassing, result.stderr).toEqual([]);
    expect(result.code).toBe(0);
    expect(report.labs.map((l) => l.labId)).toEqual(labIds());
    expect(report.kubernetesVersion).toMatch(/^v1\.36\./);
    expect(report.score).toBe(report.maxScore);

    const declared = labIds().flatMap((id) =>
      findLab(id).definition.steps.flatMap((s) => s.checks.filter((c) => c.notGradableFromFiles ?? s.notGradableFromFiles).map((c) => `${id}/${s.id}/${c.id}`)),
    );
    const skipped = report.labs.flatMap((l) => l.checks.filter((c) => c.status === 'skipped').map((c) => `${l.labId}/${c.name}`));
    expect(skipped).toEqual(declared);
    expect(skipped.length).toBeGreaterThan(0);

    const { suites, cases } = await readJUnit(junit, expect, result);
    expect(suites.map((s) => s.name)).toEqual(labIds().map((id) => `lab.${id}`));
    expect(suites[0]!.properties).toMatchObject({ engine: 'embedded', 'kubernetes-version': report.kubernetesVersion });
    expect(cases.filter((c) => c.outcome === 'skipped').map((c) => c.message)).toEqual(report.labs.flatMap((l) => l.checks.filter((c) => c.status === 'skipped').map((c) => c.reason)));
    expect(cases.filter((c) => c.outcome === 'failure' || c.outcome === 'error')).toEqual([]);
    expect(cases.every((c) => c.properties.weight === '1')).toBe(true);
  }, 900_000);

  it('spreads every gradable wrong trial over the runs below, and most wrong trials are gradable', () => {
    const planned = WRONG_TRIAL_RUNS.flat().map(({ id, trial }) => `${id}: ${trial.title}`);
    const gradable = labIds().flatMap((id) => gradableWrongTrials(id).map((t) => `${id}: ${t.title}`));
    expect(planned.sort()).toEqual(gradable.sort());
    expect(WRONG_TRIAL_RUNS.every((run) => new Set(run.map((t) => t.id)).size === run.length)).toBe(true);
    // Every wrong trial is graded, except those whose check is declared not gradable from files.
    const everyWrong = labIds().flatMap((id) => findLab(id).definition.trials.filter((t) => t.kind === 'wrong'));
    expect(everyWrong.length - planned.length).toBeLessThan(everyWrong.length / 2);
  });

  for (const [index, run] of WRONG_TRIAL_RUNS.entries()) {
    const labs = run.map((t) => t.id).join(', ');
    it(`grades wrong trials as a learner would push them (run ${index + 1} of ${WRONG_TRIAL_RUNS.length}: ${labs}): exit 1, each trial's check fails with its hint in JUnit`, async ({ expect }) => {
      const root = scratch(`wrong-${index + 1}`);
      for (const { id, trial } of run) await writeTrialSubmission(root, id, trial);
      const junit = join(root, 'grade.xml');
      const result = await gradeCli([root, '--labs', run.map((t) => t.id).join(','), '--junit', junit, '--timeout-seconds', '60']);
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(1);
      const { cases } = await readJUnit(junit, expect, result);
      for (const { id, trial } of run) {
        const testcase = cases.find((c) => c.classname === `lab.${id}` && c.name.startsWith(`${trial.failingCheck}: `));
        expect(testcase, `${id}: no test case for ${trial.failingCheck}`).toBeDefined();
        expect({ trial: `${id}: ${trial.title}`, outcome: testcase!.outcome }).toEqual({ trial: `${id}: ${trial.title}`, outcome: 'failure' });
        expect(testcase!.body, `${id}: ${trial.title}`).toContain(trial.hintIncludes);
      }
    }, 1_800_000);
  }

  it('exits 2 for broken YAML, a field the API server refuses and a failing command, naming file, line and field', async ({ expect }) => {
    const root = scratch('invalid');
    mkdirSync(join(root, 'first-daemonset'));
    writeFileSync(join(root, 'first-daemonset', 'nginx-daemonset.yaml'), 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: nginx-daemonset\n spec: {}\n');
    mkdirSync(join(root, 'tolerations'));
    const solution = readFileSync('labs/tolerations/solution/nginx-daemonset.yaml', 'utf8').replace('      tolerations:', '      tolerationz:');
    writeFileSync(join(root, 'tolerations', 'nginx-daemonset.yaml'), solution);
    const line = solution.split('\n').findIndex((l) => l.includes('tolerationz')) + 1;
    mkdirSync(join(root, 'node-selection'));
    writeFileSync(join(root, 'node-selection', 'commands.sh'), '# label the node\nkubectl label node daemonset-lab-worker9 disktype=ssd\n');
    const junit = join(root, 'grade.xml');
    const result = await gradeCli([root, '--junit', junit]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toContain('! first-daemonset/nginx-daemonset.yaml:5: not valid YAML');
    expect(result.stdout).toMatch(new RegExp(`! tolerations/nginx-daemonset\\.yaml:${line} \\(spec\\.template\\.spec\\.tolerationz\\): DaemonSet nginx-daemonset: .*unknown field`));
    expect(result.stdout).toMatch(/! node-selection\/commands\.sh:2: a command of node-selection\/commands\.sh failed with exit code 1: .*daemonset-lab-worker9/);
    const { cases } = await readJUnit(junit, expect, result);
    expect(new Set(cases.map((c) => c.outcome))).toEqual(new Set(['error']));
    expect(cases.find((c) => c.classname === 'lab.tolerations')!.body).toContain(`tolerations/nginx-daemonset.yaml:${line} (spec.template.spec.tolerationz)`);
  }, 1_800_000);

  it('exits 3 when the engine cannot start, with every check an error in JUnit', async ({ expect }) => {
    const root = scratch('no-engine');
    const emptyBinaries = scratch('no-binaries');
    const junit = join(root, 'grade.xml');
    // No cluster starts here, so it needs no grading slot.
    const result = await runGradeCli(['examples/assignment/submission', '--labs', 'first-daemonset', '--junit', junit], { DAEMONSET_LAB_BIN_DIR: emptyBinaries });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(`DAEMONSET_LAB_BIN_DIR=${emptyBinaries} lacks`);
    const { cases } = await readJUnit(junit, expect, result);
    expect(cases.length).toBe(findLab('first-daemonset').definition.steps.flatMap((s) => s.checks).length);
    expect(cases.every((c) => c.outcome === 'error' && c.body!.includes('did not start'))).toBe(true);
  }, 120_000);
});
