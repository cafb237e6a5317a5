/**
 * JUnit XML for CI systems and instructors: a lab report (one test case per check) and a progress
 * export (one test case per step of every started lab).
 */
import type { LabReport } from '../../shared/lab-results.ts';
import type { LabSummary, ProgressSnapshot } from '../../shared/lab-summary.ts';

/**
 * Text as XML 1.0 character data or attribute value: markup escaped, and characters XML 1.0 cannot
 * hold at all (control characters such as the ESC of colored kubectl output) left out.
 */
export const escapeXml = (text: string) =>
  text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

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

/** One test case of the general writer: at most one of failure, error, skipped. */
export interface JUnitCase {
  readonly classname: string;
  readonly name: string;
  readonly timeSeconds: number;
  readonly file?: string;
  readonly line?: number;
  readonly properties?: Readonly<Record<string, string>>;
  readonly failure?: { readonly message: string; readonly type: string; readonly body: string };
  readonly error?: { readonly message: string; readonly type: string; readonly body: string };
  readonly skipped?: { readonly message: string };
}

/** One test suite of the general writer. */
export interface JUnitSuite {
  readonly name: string;
  readonly timeSeconds: number;
  readonly timestamp: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly cases: readonly JUnitCase[];
  readonly systemOut?: string;
}

const attributes = (values: Record<string, string | number | undefined>) =>
  Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXml(String(value))}"`)
    .join('');

const propertyLines = (properties: Readonly<Record<string, string>>, indent: string) => {
  const entries = Object.entries(properties);
  if (!entries.length) return [];
  return [`${indent}<properties>`, ...entries.map(([name, value]) => `${indent}  <property${attributes({ name, value })}/>`), `${indent}</properties>`];
};

function caseLines(c: JUnitCase): string[] {
  const open = `    <testcase${attributes({ classname: c.classname, name: c.name, time: c.timeSeconds.toFixed(3), file: c.file, line: c.line })}`;
  const inner = [...propertyLines(c.properties ?? {}, '      ')];
  if (c.failure) inner.push(`      <failure${attributes({ message: c.failure.message, type: c.failure.type })}>${escapeXml(c.failure.body)}</failure>`);
  if (c.error) inner.push(`      <error${attributes({ message: c.error.message, type: c.error.type })}>${escapeXml(c.error.body)}</error>`);
  if (c.skipped) inner.push(`      <skipped${attributes({ message: c.skipped.message })}/>`);
  return inner.length ? [`${open}>`, ...inner, '    </testcase>'] : [`${open}/>`];
}

/**
 * JUnit XML with failures (wrong result), errors (could not be judged), skipped cases and
 * properties, in the shape Jenkins, GitLab and the common GitHub JUnit report actions read
 * (tests/fixtures/junit/junit.xsd describes it).
 */
export function junitXml(name: string, suites: readonly JUnitSuite[]): string {
  const count = (pick: (c: JUnitCase) => unknown, cases: readonly JUnitCase[]) => cases.filter(pick).length;
  const all = suites.flatMap((s) => s.cases);
  const totals = (cases: readonly JUnitCase[]) => ({
    tests: cases.length,
    failures: count((c) => c.failure, cases),
    errors: count((c) => c.error, cases),
    skipped: count((c) => c.skipped, cases),
  });
  const time = suites.reduce((sum, s) => sum + s.timeSeconds, 0);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attributes({ name, ...totals(all), time: time.toFixed(3) })}>`];
  for (const suite of suites) {
    lines.push(`  <testsuite${attributes({ name: suite.name, ...totals(suite.cases), time: suite.timeSeconds.toFixed(3), timestamp: suite.timestamp })}>`);
    lines.push(...propertyLines(suite.properties, '    '));
    for (const c of suite.cases) lines.push(...caseLines(c));
    if (suite.systemOut) lines.push(`    <system-out>${escapeXml(suite.systemOut)}</system-out>`);
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
