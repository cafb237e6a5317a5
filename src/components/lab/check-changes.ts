/**
 * What the lab page says about check results beyond drawing them: which failing checks only
 * wait for another (so the same observation and hint are shown once), and which results changed
 * between two reports (announced through a polite live region). Pure functions of the reports.
 */
import type { CheckResult, LabReport } from '../../shared/lab-results.ts';

/** The earlier check a failing check waits for. */
export interface WaitsFor {
  readonly stepIndex: number;
  readonly stepTitle: string;
  readonly checkTitle: string;
}

const key = (stepId: string, checkId: string) => `${stepId}/${checkId}`;

/**
 * Failing checks whose observation and hint are exactly those of an earlier failing check (in
 * step order): they fail for that check's reason (a DaemonSet that does not exist fails every
 * check that reads it), so the page names that check instead of repeating its hint.
 * Keyed by "stepId/checkId".
 */
export function waitingChecks(report: LabReport | undefined): Map<string, WaitsFor> {
  const waiting = new Map<string, WaitsFor>();
  const first = new Map<string, WaitsFor>();
  report?.steps.forEach((step, stepIndex) => {
    for (const check of step.checks) {
      if (check.status !== 'fail') continue;
      const reason = JSON.stringify([check.observed, check.hint ?? '']);
      const earlier = first.get(reason);
      if (earlier) waiting.set(key(step.id, check.id), earlier);
      else first.set(reason, { stepIndex, stepTitle: step.title, checkTitle: check.title });
    }
  });
  return waiting;
}

/** The key {@link waitingChecks} uses for a check of a step. */
export function checkKey(stepId: string, check: Pick<CheckResult, 'id'>): string {
  return key(stepId, check.id);
}

/**
 * Sentences for what changed from `before` to `after`: checks that now pass or fail again,
 * steps done, the lab complete. Nothing for the first report (the page has just opened) or for
 * reports whose checks could not run.
 */
export function checkChanges(before: LabReport | undefined, after: LabReport): string[] {
  if (!before || before.environment || after.environment) return [];
  const previous = new Map(before.steps.flatMap((step) => step.checks.map((check) => [key(step.id, check.id), check.status] as const)));
  const wasPassed = new Map(before.steps.map((step) => [step.id, step.passed]));
  const sentences: string[] = [];
  after.steps.forEach((step, index) => {
    for (const check of step.checks) {
      const was = previous.get(key(step.id, check.id));
      if (was === 'fail' && check.status === 'pass') sentences.push(`Passes: ${check.title}.`);
      else if (was === 'pass' && check.status === 'fail') sentences.push(`Fails again: ${check.title}. ${check.observed}`);
    }
    if (step.passed && wasPassed.get(step.id) === false) sentences.push(`Step ${index + 1} done: ${step.title}.`);
  });
  if (after.passed && !before.passed) sentences.push('Lab complete: every step passes.');
  return sentences;
}
