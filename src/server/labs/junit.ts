/**
 * JUnit XML for CI systems and instructors: a lab report (one test case per check) and a progress
 * export (one test case per step of every started lab).
 */
import type { LabReport } from '../../shared/lab-results.ts';
import type { LabSummary, ProgressSnapshot } from '../../shared/lab-summary.ts';

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

interface Case {
  name: string;
  className: string;
  failure?: { message: string; body: string };
  /** Not applicable on this engine: reported as skipped, never as passed. */
  skipped?: string;
}

function suite(name: string, cases: readonly Case[], timeSeconds = 0, error?: string): string {
  const failures = cases.filter((c) => c.failure).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const lines = [`  <testsuite name="${escapeXml(name)}" tests="${cases.length}" failures="${failures}" errors="${error ? 1 : 0}" skipped="${skipped}" time="${timeSeconds.toFixed(3)}">`];
  if (error) lines.push(`    <error message="${escapeXml(error)}"/>`);
  for (const c of cases) {
    if (c.skipped !== undefined) {
      lines.push(
        `    <testcase classname="${escapeXml(c.className)}" name="${escapeXml(c.name)}">`,
        `      <skipped message="${escapeXml(c.skipped)}"/>`,
        '    </testcase>',
      );
      continue;
    }
    if (!c.failure) {
      lines.push(`    <testcase classname="${escapeXml(c.className)}" name="${escapeXml(c.name)}"/>`);
      continue;
    }
    lines.push(
      `    <testcase classname="${escapeXml(c.className)}" name="${escapeXml(c.name)}">`,
      `      <failure message="${escapeXml(c.failure.message)}">${escapeXml(c.failure.body)}</failure>`,
      '    </testcase>',
    );
  }
  lines.push('  </testsuite>');
  return lines.join('\n');
}

const document = (suites: string[]) => `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join('\n')}\n</testsuites>\n`;

/** A check report as JUnit: suite = lab, case = step/check. */
export function reportToJUnit(report: LabReport): string {
  const cases: Case[] = report.steps.flatMap((step) =>
    step.checks.map((check) => ({
      className: `${report.labId}.${step.id}`,
      name: check.title,
      ...(check.status === 'fail' ? { failure: { message: check.observed, body: check.hint ?? '' } } : {}),
      ...(check.status === 'not-applicable' ? { skipped: check.observed } : {}),
    })),
  );
  const error = report.environment ? `${report.environment.message} Fix: ${report.environment.fix}` : undefined;
  return document([suite(report.labId, cases, report.durationMs / 1000, error)]);
}

/** Progress as JUnit: suite = started lab, case = step, failing until it passed in the latest attempt. */
export function progressToJUnit(progress: ProgressSnapshot, labs: readonly LabSummary[]): string {
  const suites = progress.labs.map((lab) => {
    const summary = labs.find((l) => l.id === lab.labId);
    const passed = new Map(lab.passedSteps.map((p) => [p.stepId, p.passedAt]));
    const cases: Case[] = (summary?.steps ?? []).map((step) => ({
      className: lab.labId,
      name: step.title,
      ...(passed.has(step.id) ? {} : { failure: { message: 'not passed yet', body: `started ${lab.startedAt}` } }),
    }));
    return suite(lab.labId, cases);
  });
  return document(suites);
}
