/**
 * The reports of `lab grade`: text for people, JUnit for CI systems, GitHub Classroom's result
 * format, and on GitHub Actions the annotations, step summary and step outputs.
 */
import { isAbsolute, join, relative } from 'node:path';
import type { GradeReport, GradedCheck, LabGrade } from './grade-result.ts';
import { junitXml, type JUnitCase, type JUnitSuite } from './junit.ts';

/** How many failures become GitHub annotations (GitHub shows 10 error annotations per step). */
export const MAX_ANNOTATIONS = 10;

const problemText = (lab: LabGrade) => lab.problems.map((p) => `${p.file}:${p.line}${p.field ? ` (${p.field})` : ''}: ${p.message}`).join('\n');

/** Why a check was not graded, as a JUnit error type. */
const errorType = (lab: LabGrade) => (lab.outcome === 'environment' ? 'EngineFailure' : lab.commands?.timedOut ? 'Timeout' : 'InvalidSubmission');

function junitCase(lab: LabGrade, check: GradedCheck, submission: string): JUnitCase {
  const base = {
    classname: `lab.${lab.labId}`,
    name: `${check.name}: ${check.title}`,
    timeSeconds: check.durationMs / 1000,
    properties: { weight: String(check.weight), points: String(check.points) },
    ...(check.location ? { file: join(submission, check.location.file), line: check.location.line } : {}),
  };
  switch (check.status) {
    case 'passed':
      return base;
    case 'failed':
      return { ...base, failure: { message: check.observed, type: 'WrongClusterState', body: `${check.observed}${check.hint ? `\nHint: ${check.hint}` : ''}` } };
    case 'skipped':
      return { ...base, skipped: { message: check.reason ?? check.observed } };
    case 'error':
      return { ...base, error: { message: check.observed, type: errorType(lab), body: [check.observed, problemText(lab), lab.environment ? `Fix: ${lab.environment.fix}` : ''].filter(Boolean).join('\n') } };
  }
}

/** JUnit: one testsuite per lab, one testcase per check (classname lab.<id>, name "step/check: title"). */
export function gradeToJUnit(report: GradeReport): string {
  const suites: JUnitSuite[] = report.labs.map((lab) => ({
    name: `lab.${lab.labId}`,
    timeSeconds: lab.durationMs / 1000,
    timestamp: report.startedAt.replace(/\.\d+Z$/, ''),
    properties: {
      engine: report.engine,
      'kubernetes-version': report.kubernetesVersion,
      outcome: lab.outcome,
      score: String(lab.score),
      'max-score': String(lab.maxScore),
    },
    cases: lab.checks.map((check) => junitCase(lab, check, report.submission)),
    ...(lab.commands ? { systemOut: `commands.sh (exit ${lab.commands.exitCode}):\n${lab.commands.output}` } : {}),
  }));
  return junitXml('lab grade', suites);
}

const MARK: Record<GradedCheck['status'], string> = { passed: '✓', failed: '✗', error: '!', skipped: '–' };

/** The report for people. */
export function gradeText(report: GradeReport): string {
  const lines: string[] = [];
  for (const lab of report.labs) {
    lines.push(`${lab.labId} — ${lab.title}: ${lab.score}/${lab.maxScore} points (${lab.outcome}, ${(lab.durationMs / 1000).toFixed(1)} s)`);
    for (const p of lab.problems) lines.push(`  ! ${p.file}:${p.line}${p.field ? ` (${p.field})` : ''}: ${p.message}`);
    if (lab.environment) lines.push(`  ! ${lab.environment.message}\n    Fix: ${lab.environment.fix}`);
    for (const check of lab.checks) {
      lines.push(`  ${MARK[check.status]} ${check.name}  ${check.title}`);
      if (check.status === 'failed') {
        lines.push(`      ${check.observed}`);
        if (check.hint) lines.push(`      Hint: ${check.hint}`);
        if (check.location) lines.push(`      at ${check.location.file}:${check.location.line}`);
      }
      if (check.status === 'skipped') lines.push(`      skipped: ${check.reason}`);
    }
  }
  const { counts } = report;
  lines.push(
    '',
    `Score: ${report.score}/${report.maxScore} (${report.percent}%) · ${counts.passed} passed, ${counts.failed} failed, ${counts.errors} errors, ${counts.skipped} skipped · ${report.engine} engine, Kubernetes ${report.kubernetesVersion}`,
    `Result: ${report.result} (exit ${report.exitCode})`,
  );
  return `${lines.join('\n')}\n`;
}

/** GitHub Classroom's autograding result: what its grading reporter reads from a runner's `result` output. */
export function classroomResult(report: GradeReport) {
  const status = report.result === 'pass' ? 'pass' : report.result === 'fail' ? 'fail' : 'error';
  const tests = report.labs.flatMap((lab) =>
    lab.checks
      .filter((c) => c.status !== 'skipped')
      .map((c) => ({
        name: `${lab.labId}/${c.name}: ${c.title}`,
        status: c.status === 'passed' ? 'pass' : c.status === 'failed' ? 'fail' : 'error',
        message: c.status === 'passed' ? c.observed : `${c.observed}${c.hint ? ` Hint: ${c.hint}` : ''}`,
        score: c.points,
        max_score: c.weight,
        execution_time: `${(c.durationMs / 1000).toFixed(1)}s`,
        ...(c.location ? { filename: join(report.submission, c.location.file), line_no: c.location.line } : {}),
      })),
  );
  return { version: 1, status, max_score: report.maxScore, tests };
}

/** The Classroom result, base64-encoded JSON, as Classroom runners put it in their `result` output. */
export const classroomResultBase64 = (report: GradeReport) => Buffer.from(JSON.stringify(classroomResult(report))).toString('base64');

/** The "Points X/Y" notice GitHub Classroom shows. */
export const pointsNotice = (report: GradeReport) => `::notice title=Autograding complete::Points ${report.score}/${report.maxScore}`;

/** Escapes for workflow commands: data, and properties (which also escape ":" and ","). */
const escapeData = (text: string) => text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
const escapeProperty = (text: string) => escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');

/** A submission path relative to the workspace, as annotations need it. */
function workspacePath(submission: string, file: string, workspace: string): string {
  const full = join(submission, file);
  return isAbsolute(full) ? relative(workspace, full) : full;
}

/**
 * `::error` annotations for the first MAX_ANNOTATIONS failures and submission problems, pointing
 * at the submitted file and line.
 */
export function githubAnnotations(report: GradeReport, workspace: string): string[] {
  const lines: string[] = [];
  for (const lab of report.labs) {
    for (const p of lab.problems) {
      lines.push(`::error file=${escapeProperty(workspacePath(report.submission, p.file, workspace))},line=${p.line},title=${escapeProperty(`${lab.labId}: invalid submission`)}::${escapeData(p.message)}`);
    }
    for (const c of lab.checks.filter((check) => check.status === 'failed' || (check.status === 'error' && !lab.problems.length))) {
      const where = c.location ? `file=${escapeProperty(workspacePath(report.submission, c.location.file, workspace))},line=${c.location.line},` : '';
      lines.push(`::error ${where}title=${escapeProperty(`${lab.labId}/${c.name}`)}::${escapeData(`${c.observed}${c.hint ? `\nHint: ${c.hint}` : ''}`)}`);
    }
  }
  return lines.slice(0, MAX_ANNOTATIONS);
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The Markdown step summary: totals, then one row per check. */
export function githubStepSummary(report: GradeReport): string {
  const icon: Record<GradedCheck['status'], string> = { passed: '✅ passed', failed: '❌ failed', error: '⚠️ error', skipped: '⏭️ skipped' };
  const rows = report.labs.flatMap((lab) =>
    lab.checks.map((c) => `| ${lab.labId} | ${cell(c.title)} | ${icon[c.status]} | ${c.points}/${c.weight} | ${cell(c.status === 'passed' ? c.observed : `${c.observed}${c.hint ? ` Hint: ${c.hint}` : ''}`)} |`),
  );
  return [
    `### DaemonSet Lab grade: ${report.score}/${report.maxScore} points (${report.percent}%)`,
    '',
    `Result **${report.result}** · ${report.counts.passed} passed, ${report.counts.failed} failed, ${report.counts.errors} errors, ${report.counts.skipped} skipped · ${report.engine} engine, Kubernetes ${report.kubernetesVersion}`,
    '',
    '| lab | check | result | points | observed |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** The step outputs of the GitHub Action (score, max-score, passed, failed, result) as GITHUB_OUTPUT lines. */
export function githubOutputs(report: GradeReport): string {
  return [
    `score=${report.score}`,
    `max-score=${report.maxScore}`,
    `passed=${report.counts.passed}`,
    `failed=${report.counts.failed + report.counts.errors}`,
    `result=${classroomResultBase64(report)}`,
    '',
  ].join('\n');
}
