/**
 * `lab grade` without a cluster: reading submissions (file, line and field of each problem), the
 * commands.sh runner (real bash), the result rules (exit codes, --fail-under), and the reports:
 * JUnit valid against the XSD and read back, GitHub Classroom's format, annotations and summary.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvironmentError, NodeChangesUnsupportedError, SolveStalledError } from '../../src/server/errors.ts';
import { isTransportError } from '../../src/server/labs/actions.ts';
import { runCommands } from '../../src/server/labs/grade-apply.ts';
import { classroomResult, classroomResultBase64, githubAnnotations, githubOutputs, githubStepSummary, gradeToJUnit, pointsNotice } from '../../src/server/labs/grade-report.ts';
import { GradeReportSchema, summarize, type GradeReport, type LabGrade } from '../../src/server/labs/grade-result.ts';
import { fieldPath, parseSubmittedFile, readLabSubmission } from '../../src/server/labs/grade-submission.ts';
import { labDefinitionProblems } from '../../src/shared/lab-definition.ts';
import { brokenLab } from './fixtures/labs.ts';
import { parseJUnit, validateJUnit } from './junit-support.ts';

const DS = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: nginx-daemonset
spec:
  template:
    spec:
      containers:
      - name: nginx
        image: nginx:1.19
      tolerations:
      - key: special
        effect: NoSchedule
`;

describe('grading fields of the lab schema', () => {
  it('accepts a weight and a reason a step or check cannot be graded from files', () => {
    const lab = brokenLab((l) => {
      (l.steps[0]!.checks as Array<Record<string, unknown>>)[0]!.weight = 3;
      l.steps[1]!.notGradableFromFiles = 'the learner watches the pod appear';
      (l.steps[0]!.checks as Array<Record<string, unknown>>)[0]!.notGradableFromFiles = 'it needs a live node';
    });
    expect(labDefinitionProblems(lab)).toEqual([]);
  });

  it('rejects a weight that is not a positive number and an empty reason, naming the field', () => {
    const lab = brokenLab((l) => {
      (l.steps[0]!.checks as Array<Record<string, unknown>>)[0]!.weight = 0;
      l.steps[1]!.notGradableFromFiles = '';
    });
    expect(labDefinitionProblems(lab)).toEqual([
      { path: 'steps[0].checks[0].weight', message: 'Too small: expected number to be >0' },
      { path: 'steps[1].notGradableFromFiles', message: 'Say why it cannot be graded from files, e.g. "the learner adds a node and checks while it is there"' },
    ]);
  });
});

describe('reading a submission', () => {
  it('finds the line of any field, through lists, in every document of a file', () => {
    const { file, problems } = parseSubmittedFile('tolerations/ds.yaml', `# comment\n---\n${DS}`);
    expect(problems).toEqual([]);
    const [object] = file.objects;
    expect(object!.location).toEqual({ file: 'tolerations/ds.yaml', line: 3 });
    expect(object!.lineOf('spec.template.spec.containers[0].image')).toBe(12);
    expect(object!.lineOf('.spec.template.spec.tolerations[0].effect')).toBe(15);
    // A field the file does not write: the line of its nearest written parent.
    expect(object!.lineOf('spec.template.spec.nodeSelector')).toBe(9);
    expect(fieldPath('spec.containers[10].ports[0].name')).toEqual(['spec', 'containers', 10, 'ports', 0, 'name']);
  });

  it('names file and line of a YAML syntax error, and the missing field of an incomplete object', () => {
    const broken = parseSubmittedFile('first-daemonset/ds.yaml', 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: x\n spec: [\n');
    expect(broken.problems).toHaveLength(1);
    expect(broken.problems[0]).toMatchObject({ file: 'first-daemonset/ds.yaml', line: 5 });
    expect(broken.problems[0]!.message).toMatch(/^not valid YAML: /);

    const incomplete = parseSubmittedFile('first-daemonset/ds.yaml', 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  labels: {}\n');
    expect(incomplete.problems).toEqual([
      { file: 'first-daemonset/ds.yaml', line: 3, field: 'metadata.name', message: 'metadata.name is missing: every object needs apiVersion, kind and metadata.name' },
    ]);
  });

  it('reads manifests in name order like kubectl apply -f <folder>, and reports an empty lab folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'grade-read-'));
    mkdirSync(join(root, 'tolerations', 'notes'), { recursive: true });
    writeFileSync(join(root, 'tolerations', 'b.yaml'), DS);
    writeFileSync(join(root, 'tolerations', 'a.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }));
    writeFileSync(join(root, 'tolerations', 'README.md'), 'not a manifest');
    writeFileSync(join(root, 'tolerations', 'notes', 'c.yaml'), DS);
    const submission = readLabSubmission(root, 'tolerations')!;
    expect(submission.files.map((f) => f.path)).toEqual(['tolerations/a.json', 'tolerations/b.yaml']);
    expect(submission.problems).toEqual([]);
    mkdirSync(join(root, 'first-daemonset'));
    expect(readLabSubmission(root, 'first-daemonset')!.problems[0]!.message).toContain('no manifests');
    expect(readLabSubmission(root, 'log-collector')).toBeUndefined();
  });
});

describe('commands.sh', () => {
  const folder = (script: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'grade-sh-'));
    writeFileSync(join(dir, 'commands.sh'), script);
    writeFileSync(join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\ncontexts: []\n');
    return dir;
  };

  it('runs in the lab folder with the lab kubeconfig and stops at the first failing command, naming its line', async () => {
    const dir = folder('echo "in $(basename "$PWD")"\necho "context $(grep current-context "$KUBECONFIG")"\nfalse\necho never\n');
    const run = await runCommands({ dir, kubectlDir: '/nonexistent', kubeconfig: join(dir, 'kubeconfig'), context: 'kwok-daemonset-lab', timeoutMs: 10_000 });
    expect(run.exitCode).toBe(1);
    expect(run.failedLine).toBe(3);
    expect(run.output).toContain(`in ${dir.split('/').at(-1)}`);
    expect(run.output).toContain('context current-context: kwok-daemonset-lab');
    expect(run.output).not.toContain('never');
  });

  it('sees none of the grader\'s environment and is stopped, children included, at the timeout', async () => {
    process.env.GRADE_SECRET_FOR_TEST = 'secret';
    const dir = folder('echo "secret=${GRADE_SECRET_FOR_TEST:-none}"\nsleep 30 &\nsleep 30\n');
    const run = await runCommands({ dir, kubectlDir: '/nonexistent', kubeconfig: join(dir, 'kubeconfig'), context: 'c', timeoutMs: 500 });
    expect(run.timedOut).toBe(true);
    expect(run.output).toContain('secret=none');
    // The background sleep held the output open: only killing the whole group ends the run this early.
    expect(run.durationMs).toBeLessThan(20_000);
  });
});

/** A report with every kind of outcome, and text that needs escaping. */
function sampleReport(): GradeReport {
  const check = (name: string, status: 'passed' | 'failed' | 'error' | 'skipped', extra: object = {}) => ({
    step: name.split('/')[0]!, check: name.split('/')[1]!, name, title: `Title of ${name} <&> "quoted"`, status,
    observed: status === 'passed' ? 'fine' : `observed ${name}: daemonset-lab-worker3 has none\u001b[31m`, weight: 2, points: status === 'passed' ? 2 : 0, durationMs: 1234, ...extra,
  });
  const labs: LabGrade[] = [
    {
      labId: 'tolerations', title: 'Taints', outcome: 'graded', durationMs: 9000, score: 2, maxScore: 4, problems: [],
      commands: { exitCode: 0, output: 'node/daemonset-lab-worker3 labeled\n', timedOut: false, durationMs: 300 },
      checks: [check('tolerate/a', 'passed'), check('tolerate/b', 'failed', { hint: 'Look at the taint, 100% sure: yes', location: { file: 'tolerations/ds.yaml', line: 7 } })],
    },
    {
      labId: 'node-lifecycle', title: 'Nodes', outcome: 'graded', durationMs: 100, score: 0, maxScore: 0, problems: [],
      checks: [check('add-node/x', 'skipped', { reason: 'needs a live node' })],
    },
    {
      labId: 'first-daemonset', title: 'First', outcome: 'invalid', durationMs: 5, score: 0, maxScore: 2, checks: [check('create/exists', 'error')],
      problems: [{ file: 'first-daemonset/ds.yaml', line: 5, field: 'spec.template', message: 'not valid YAML: bad indentation' }],
    },
  ];
  return GradeReportSchema.parse({ version: 1, submission: 'submission', engine: 'embedded', kubernetesVersion: 'v1.36.1', startedAt: '2026-01-02T03:04:05.678Z', durationMs: 9105, ...summarize(labs, undefined), labs });
}

describe('grade results', () => {
  it('an engine failure outranks an invalid submission, which outranks the score; --fail-under only turns a failure into a pass', () => {
    const report = sampleReport();
    expect(summarize(report.labs, undefined)).toMatchObject({ result: 'invalid', exitCode: 2, score: 2, maxScore: 6, percent: 33.33 });
    const graded = report.labs.filter((l) => l.outcome === 'graded');
    expect(summarize(graded, undefined)).toMatchObject({ result: 'fail', exitCode: 1, counts: { passed: 1, failed: 1, errors: 0, skipped: 1 } });
    expect(summarize(graded, 50)).toMatchObject({ result: 'pass', exitCode: 0 });
    expect(summarize(graded, 51)).toMatchObject({ result: 'fail', exitCode: 1 });
    expect(summarize([...report.labs, { ...report.labs[0]!, outcome: 'environment' }], 0)).toMatchObject({ result: 'environment', exitCode: 3 });
  });
});

describe('grade reports', () => {
  it('JUnit: valid against the XSD; one suite per lab, one case per check, failure/error/skipped with text, properties', async () => {
    const xml = gradeToJUnit(sampleReport());
    const validation = await validateJUnit(xml);
    expect(validation.errors).toEqual([]);
    expect(validation.valid).toBe(true);
    const { suites, cases } = parseJUnit(xml);
    expect(suites.map((s) => s.name)).toEqual(['lab.tolerations', 'lab.node-lifecycle', 'lab.first-daemonset']);
    expect(suites[0]!.properties).toMatchObject({ engine: 'embedded', 'kubernetes-version': 'v1.36.1' });
    const failed = cases.find((c) => c.name.startsWith('tolerate/b'))!;
    expect(failed).toMatchObject({ classname: 'lab.tolerations', outcome: 'failure', file: 'submission/tolerations/ds.yaml', line: 7, properties: { weight: '2', points: '0' } });
    expect(failed.name).toBe('tolerate/b: Title of tolerate/b <&> "quoted"');
    expect(failed.body).toContain('Hint: Look at the taint');
    expect(failed.body).not.toContain('\u001b');
    expect(cases.find((c) => c.name.startsWith('add-node/x'))).toMatchObject({ outcome: 'skipped', message: 'needs a live node' });
    const error = cases.find((c) => c.classname === 'lab.first-daemonset')!;
    expect(error.outcome).toBe('error');
    expect(error.body).toContain('first-daemonset/ds.yaml:5 (spec.template): not valid YAML');
    expect(new Set(cases.map((c) => `${c.classname}\n${c.name}`)).size).toBe(cases.length);
  });

  it('the XSD rejects what GitLab and Jenkins would not read', async () => {
    expect((await validateJUnit('<testsuites><testsuite name="x" tests="1"><testcase name="a"/></testsuite></testsuites>')).valid).toBe(false);
    expect((await validateJUnit('<testsuites><testsuite name="x" tests="1"><testcase name="a" classname="c"><failure/><skipped/></testcase></testsuite></testsuites>')).valid).toBe(false);
  });

  it('GitHub Classroom: base64 JSON with version, status, max_score and tests; skipped checks are left out', () => {
    const report = sampleReport();
    const decoded = JSON.parse(Buffer.from(classroomResultBase64(report), 'base64').toString('utf8'));
    expect(decoded).toEqual(classroomResult(report));
    expect(decoded).toMatchObject({ version: 1, status: 'error', max_score: 6 });
    expect(decoded.tests.map((t: { status: string; score: number }) => [t.status, t.score])).toEqual([['pass', 2], ['fail', 0], ['error', 0]]);
    expect(decoded.tests[1]).toMatchObject({ filename: 'submission/tolerations/ds.yaml', line_no: 7 });
    expect(pointsNotice(report)).toBe('::notice title=Autograding complete::Points 2/6');
  });

  it('GitHub: escaped error annotations at the submitted file and line, a summary table and the step outputs', () => {
    const report = sampleReport();
    const annotations = githubAnnotations(report, '/work');
    expect(annotations).toEqual([
      '::error file=submission/tolerations/ds.yaml,line=7,title=tolerations/tolerate/b::observed tolerate/b: daemonset-lab-worker3 has none\u001b[31m%0AHint: Look at the taint, 100%25 sure: yes',
      '::error file=submission/first-daemonset/ds.yaml,line=5,title=first-daemonset%3A invalid submission::not valid YAML: bad indentation',
    ]);
    const summary = githubStepSummary(report);
    expect(summary).toContain('### DaemonSet Lab grade: 2/6 points (33.33%)');
    expect(summary).toContain('| tolerations | Title of tolerate/b <&> "quoted" | ❌ failed | 0/2 |');
    expect(githubOutputs(report)).toMatch(/^score=2\nmax-score=6\npassed=1\nfailed=2\nresult=[A-Za-z0-9+/=]+\n$/);
  });
});

describe('which failures mean "the cluster does not answer" (a grade of environment, not of the work)', () => {
  it('counts a refused connection and our own EnvironmentError', () => {
    expect(isTransportError(new TypeError('fetch failed'))).toBe(true);
    expect(isTransportError(Object.assign(new Error('connect'), { cause: { code: 'ECONNREFUSED' } }))).toBe(true);
    expect(isTransportError(new EnvironmentError('The lab cluster does not answer.', 'npm run cluster -- up'))).toBe(true);
  });

  it('does not count answers from a reachable cluster: a stalled solve, an engine that cannot change nodes, an API error', () => {
    expect(isTransportError(new SolveStalledError('step "Every node" did not pass', 'Run Solve again', 'every-node'))).toBe(false);
    expect(isTransportError(new NodeChangesUnsupportedError('kind cannot add a node to a running cluster.', 'Use the embedded engine'))).toBe(false);
    expect(isTransportError(Object.assign(new Error('HTTP 409'), { code: 409 }))).toBe(false);
  });
});
