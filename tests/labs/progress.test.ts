/**
 * The progress database: attempts, passed steps and completion survive reopening; a new start
 * begins a new attempt; exports as JSON (schema-valid) and JUnit.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProgressSnapshotSchema } from '../../src/shared/lab-summary.ts';
import { LabReportSchema, type LabReport } from '../../src/shared/lab-results.ts';
import { openProgressStore } from '../../src/server/labs/progress-db.ts';
import { progressToJUnit, reportToJUnit } from '../../src/server/labs/junit.ts';
import { labSummary } from '../../src/server/labs/engine.ts';
import { findLab } from '../../src/server/labs/registry.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute));

describe('progress database', () => {
  it('keeps attempts, passed steps and completion across reopening', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'progress-')), 'progress.sqlite');
    const steps = ['create', 'resources'];
    let store = openProgressStore(file);
    store.recordStart('first-daemonset', at(0));
    expect(store.recordPassed('first-daemonset', ['create'], steps, at(1))).toEqual(['create']);
    expect(store.recordPassed('first-daemonset', ['create'], steps, at(2))).toEqual([]);
    store.close();

    store = openProgressStore(file);
    expect(store.recordPassed('first-daemonset', ['create', 'resources'], steps, at(3))).toEqual(['resources']);
    const snapshot = ProgressSnapshotSchema.parse(store.snapshot());
    expect(snapshot.labs).toEqual([
      {
        labId: 'first-daemonset',
        startedAt: at(0).toISOString(),
        completedAt: at(3).toISOString(),
        timesStarted: 1,
        passedSteps: [
          { stepId: 'create', passedAt: at(1).toISOString() },
          { stepId: 'resources', passedAt: at(3).toISOString() },
        ],
      },
    ]);

    store.recordStart('first-daemonset', at(10));
    expect(store.passedSteps('first-daemonset')).toEqual(new Set());
    expect(store.snapshot().labs[0]).toMatchObject({ timesStarted: 2, startedAt: at(10).toISOString(), passedSteps: [] });
    expect(store.snapshot().labs[0]?.completedAt).toBeUndefined();
    store.close();
  });

  it('counts a check without a start as the start of an attempt', () => {
    const store = openProgressStore(join(mkdtempSync(join(tmpdir(), 'progress-')), 'progress.sqlite'));
    store.recordPassed('tolerations', ['tolerate'], ['tolerate'], at(5));
    expect(store.snapshot().labs[0]).toMatchObject({ labId: 'tolerations', startedAt: at(5).toISOString(), completedAt: at(5).toISOString() });
    store.close();
  });
});

describe('JUnit export', () => {
  const report: LabReport = LabReportSchema.parse({
    labId: 'tolerations',
    checkedAt: at(0).toISOString(),
    durationMs: 12,
    passed: false,
    steps: [
      {
        id: 'tolerate',
        title: 'Run on the tainted worker too',
        passed: false,
        checks: [
          { id: 'a', title: 'A pod on <the> tainted worker', status: 'fail', observed: '2 of 3 workers run a Ready pod', hint: 'Compare "taints" & tolerations' },
          { id: 'b', title: 'Something else', status: 'pass', observed: 'fine' },
        ],
      },
    ],
  });

  it('writes one test case per check, failures with observation and hint, escaped', () => {
    const xml = reportToJUnit(report);
    expect(xml).toContain('<testsuite name="tolerations" tests="2" failures="1" errors="0" skipped="0" time="0.012">');
    expect(xml).toContain('<testcase classname="tolerations.tolerate" name="A pod on &lt;the&gt; tainted worker">');
    expect(xml).toContain('<failure message="2 of 3 workers run a Ready pod">Compare &quot;taints&quot; &amp; tolerations</failure>');
    expect(xml).toContain('<testcase classname="tolerations.tolerate" name="Something else"/>');
  });

  it('reports a not-applicable check as skipped, never as passed', () => {
    const notApplicable = LabReportSchema.parse({
      ...report,
      steps: [{ id: 'add-node', title: 'Add a node', passed: false, checks: [{ id: 'pod-on-added-node', title: 'A pod on the added node', status: 'not-applicable', observed: 'Not applicable here: the kind engine cannot add or remove nodes.' }] }],
    });
    const xml = reportToJUnit(notApplicable);
    expect(xml).toContain('tests="1" failures="0" errors="0" skipped="1"');
    expect(xml).toContain('<skipped message="Not applicable here: the kind engine cannot add or remove nodes."/>');
    expect(xml).not.toContain('name="A pod on the added node"/>');
  });

  it('exports progress per step of each started lab', () => {
    const xml = progressToJUnit(
      { exportedAt: at(0).toISOString(), labs: [{ labId: 'first-daemonset', startedAt: at(0).toISOString(), timesStarted: 1, passedSteps: [{ stepId: 'create', passedAt: at(1).toISOString() }] }] },
      [labSummary(findLab('first-daemonset'))],
    );
    expect(xml).toContain('<testsuite name="first-daemonset" tests="2" failures="1"');
    expect(xml).toContain('<testcase classname="first-daemonset" name="Create nginx-daemonset"/>');
    expect(xml).toContain('<failure message="not passed yet">');
  });
});
