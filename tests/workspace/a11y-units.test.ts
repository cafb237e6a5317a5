/**
 * The lab page's check-result logic without a browser: which failing checks wait for another
 * (shown once instead of the same hint under each), and what the live region announces.
 */
import { describe, expect, it } from 'vitest';
import { checkChanges, waitingChecks } from '../../src/components/lab/check-changes.ts';
import type { CheckResult, LabReport } from '../../src/shared/lab-results.ts';

const MISSING = { observed: 'There is no DaemonSet nginx-daemonset in namespace default.', hint: 'Create it from your file: kubectl apply -f nginx-daemonset.yaml.' };

function check(id: string, status: 'pass' | 'fail', reason: Partial<CheckResult> = MISSING): CheckResult {
  return { id, title: `Check ${id}`, status, observed: reason.observed ?? 'ok', ...(status === 'fail' && reason.hint ? { hint: reason.hint } : {}) };
}

function report(steps: Array<[string, CheckResult[]]>, environment?: LabReport['environment']): LabReport {
  const reports = steps.map(([id, checks]) => ({ id, title: `Step ${id}`, passed: checks.every((c) => c.status === 'pass'), checks }));
  return { labId: 'first-daemonset', checkedAt: '2026-11-24T07:00:00Z', durationMs: 5, passed: reports.every((s) => s.passed), steps: reports, ...(environment ? { environment } : {}) };
}

describe('waitingChecks', () => {
  it('names the first check with the same observation and hint, across steps', () => {
    const waiting = waitingChecks(report([['create', [check('exists', 'fail'), check('selector', 'fail'), check('pods', 'fail')]], ['resources', [check('limits', 'fail')]]]));
    expect(Object.fromEntries(waiting)).toEqual({
      'create/selector': { stepIndex: 0, stepTitle: 'Step create', checkTitle: 'Check exists' },
      'create/pods': { stepIndex: 0, stepTitle: 'Step create', checkTitle: 'Check exists' },
      'resources/limits': { stepIndex: 0, stepTitle: 'Step create', checkTitle: 'Check exists' },
    });
  });

  it('leaves checks that fail for their own reasons, and passing checks, alone', () => {
    const own = { observed: 'spec.selector.matchLabels {name=x} does not match the template labels {app=nginx}.', hint: 'Fix the template labels.' };
    const waiting = waitingChecks(report([['create', [check('exists', 'pass'), check('selector', 'fail', own), check('pods', 'fail', { observed: '0 of 3 nodes run a pod.', hint: 'kubectl describe ds' })]]]));
    expect(waiting.size).toBe(0);
    expect(waitingChecks(undefined).size).toBe(0);
  });
});

describe('checkChanges', () => {
  const before = report([['create', [check('exists', 'fail'), check('pods', 'fail')]], ['resources', [check('limits', 'fail')]]]);

  it('says nothing for the first report or when the checks could not run', () => {
    expect(checkChanges(undefined, before)).toEqual([]);
    expect(checkChanges(before, report([], { message: 'The lab cluster does not answer', fix: 'npm run cluster -- up' }))).toEqual([]);
  });

  it('announces checks that pass, steps done and the lab complete, in step order', () => {
    const halfway = report([['create', [check('exists', 'pass'), check('pods', 'pass')]], ['resources', [check('limits', 'fail')]]]);
    expect(checkChanges(before, halfway)).toEqual(['Passes: Check exists.', 'Passes: Check pods.', 'Step 1 done: Step create.']);
    const done = report([['create', [check('exists', 'pass'), check('pods', 'pass')]], ['resources', [check('limits', 'pass')]]]);
    expect(checkChanges(halfway, done)).toEqual(['Passes: Check limits.', 'Step 2 done: Step resources.', 'Lab complete: every step passes.']);
    expect(checkChanges(done, done)).toEqual([]);
  });

  it('announces a check that fails again, with what was observed', () => {
    const passing = report([['create', [check('exists', 'pass'), check('pods', 'pass')]]]);
    const broken = report([['create', [check('exists', 'pass'), check('pods', 'fail', { observed: '2 of 3 eligible nodes run a Ready pod.', hint: 'kubectl describe pod' })]]]);
    expect(checkChanges(passing, broken)).toEqual(['Fails again: Check pods. 2 of 3 eligible nodes run a Ready pod.']);
  });
});
