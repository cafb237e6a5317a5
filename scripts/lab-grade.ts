/**
 * `npm run lab -- grade <path> [--labs <id,…>|all] [--engine embedded|kind] [--timeout-seconds N]
 *  [--junit FILE] [--json] [--classroom] [--fail-under PCT]` (see README "Grading in CI").
 * Exit codes: 0 every graded check passes (or the score reaches --fail-under), 1 graded failure,
 * 2 invalid submission or usage, 3 environment failure (the only one worth a retry).
 */
import { appendFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EnvironmentError, UsageError } from '../src/server/errors.ts';
import { withProgress } from '../src/server/progress.ts';
import { GRADE_ENGINES, startGradingCluster, type GradeEngine } from '../src/server/labs/grade-cluster.ts';
import { environmentFailureReport, gradeSubmission } from '../src/server/labs/grade.ts';
import { classroomResultBase64, githubAnnotations, githubOutputs, githubStepSummary, gradeText, gradeToJUnit, pointsNotice } from '../src/server/labs/grade-report.ts';
import { GRADE_EXIT_CODES, type GradeReport } from '../src/server/labs/grade-result.ts';
import { unknownFolders } from '../src/server/labs/grade-submission.ts';
import { findLab, labIds } from '../src/server/labs/registry.ts';

/** The options `grade` reads (parsed by scripts/lab.ts). */
export interface GradeCommandOptions {
  labs?: string;
  engine?: string;
  'timeout-seconds'?: string;
  junit?: string;
  json?: boolean;
  classroom?: boolean;
  'fail-under'?: string;
}

const DEFAULT_TIMEOUT_SECONDS = 90;

/** A number option within bounds, or a UsageError naming the option and the allowed range. */
function numberOption(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${name} ${text}: give a number from ${min} to ${max}.`);
  return value;
}

/** The labs to grade: --labs all, a list, or the lab folders the submission has. */
function chooseLabs(root: string, labs: string | undefined): string[] {
  if (labs === 'all') return labIds();
  if (labs !== undefined) return labs.split(',').map((id) => findLab(id.trim()).definition.id);
  const present = labIds().filter((id) => existsSync(resolve(root, id)));
  if (!present.length) {
    throw new UsageError(`${root} has no lab folders. Put each lab's files in a folder named after the lab: ${labIds().join(', ')} (or pass --labs).`);
  }
  return present;
}

/** Writes the reports: text or JSON on stdout, JUnit file, and on GitHub Actions annotations, summary and outputs. */
function emitReports(report: GradeReport, options: GradeCommandOptions): void {
  const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  if (options.junit) writeFileSync(options.junit, gradeToJUnit(report));
  const onGitHub = process.env.GITHUB_ACTIONS === 'true';
  if (onGitHub && !options.json) for (const line of githubAnnotations(report, process.env.GITHUB_WORKSPACE ?? process.cwd())) out(line);
  if (onGitHub && process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, githubStepSummary(report));
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, githubOutputs(report));
  out(options.json ? JSON.stringify(report, null, 2) : gradeText(report));
  if (options.classroom && !options.json) {
    out(pointsNotice(report));
    if (!process.env.GITHUB_OUTPUT) out(`result=${classroomResultBase64(report)}`);
  }
}

/** An unexpected error while grading, as an environment failure that names it (its stack goes to stderr). */
function graderCrash(error: unknown): EnvironmentError {
  process.stderr.write(`✗ The grader failed unexpectedly:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  const message = error instanceof Error ? error.message : String(error);
  return new EnvironmentError(`The grader failed unexpectedly: ${message}`, 'Run the grading again (exit code 3 is worth a retry); if it fails the same way, report it with the message above.');
}

/** Runs `grade`; returns the exit code. */
export async function gradeCommand(args: readonly string[], options: GradeCommandOptions): Promise<number> {
  const path = args[0];
  if (!path) throw new UsageError('grade needs the submission folder: npm run lab -- grade <path> (one sub-folder per lab).');
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new UsageError(`${path} is not a folder. Give the folder that holds one sub-folder per lab.`);
  const engineName = options.engine ?? 'embedded';
  if (!(GRADE_ENGINES as readonly string[]).includes(engineName)) throw new UsageError(`--engine ${engineName}: grade runs on ${GRADE_ENGINES.join(' or ')}.`);
  const timeoutSeconds = numberOption('timeout-seconds', options['timeout-seconds'], 1, 3600) ?? DEFAULT_TIMEOUT_SECONDS;
  const failUnder = numberOption('fail-under', options['fail-under'], 0, 100);
  const ids = chooseLabs(path, options.labs);
  const strays = unknownFolders(path, labIds());
  if (strays.length) process.stderr.write(`• Not graded (not lab ids): ${strays.map((s) => `${s}/`).join(', ')}. Lab folders are named ${labIds().join(', ')}.\n`);

  let cluster;
  try {
    cluster = await withProgress(`Starting a fresh ${engineName} lab cluster for grading`, () => startGradingCluster(engineName as GradeEngine));
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error;
    process.stderr.write(`✗ ${error.message}\n  Fix: ${error.fix.replaceAll('\n', '\n  ')}\n`);
    emitReports(environmentFailureReport(path, ids, engineName, error, failUnder), options);
    return GRADE_EXIT_CODES.environment;
  }
  try {
    const report = await gradeSubmission({
      submissionDir: path,
      labIds: ids,
      engine: cluster.engine,
      provider: cluster.provider,
      timeoutMs: timeoutSeconds * 1000,
      ...(failUnder !== undefined ? { failUnder } : {}),
      onProgress: (message) => process.stderr.write(`  … ${message}\n`),
    });
    emitReports(report, options);
    return report.exitCode;
  } catch (error) {
    // A crash of the grader is not the learner's failure (exit 1 would say it is): it is reported
    // like an engine failure, with every check an error in JUnit, and its stack on stderr.
    const problem = error instanceof EnvironmentError ? error : graderCrash(error);
    process.stderr.write(`✗ ${problem.message}\n  Fix: ${problem.fix}\n`);
    emitReports(environmentFailureReport(path, ids, engineName, problem, failUnder), options);
    return GRADE_EXIT_CODES.environment;
  } finally {
    await withProgress('Deleting the grading cluster', () => cluster.close());
  }
}
