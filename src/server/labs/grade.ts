/**
 * `lab grade`: judges a learner's submitted manifests on a lab cluster. For each lab: a fresh lab
 * set-up, a parse and server-side dry-run of every file, `kubectl apply` of the files, commands.sh,
 * then the lab's own checks polled until every graded check passes, the cluster settles, or the
 * timeout ends. The checks are the ones the lab pages run, so any correct submission passes.
 */
import { performance } from 'node:perf_hooks';
import { VersionApi } from '@kubernetes/client-node';
import type { CheckResult, LabReport } from '../../shared/lab-results.ts';
import { EnvironmentError } from '../errors.ts';
import { kubeClients, type KubeClients } from '../cluster/kube.ts';
import type { ClusterProvider } from '../cluster/providers/provider.ts';
import { describePod } from './checks/scheduling.ts';
import type { ClusterSnapshot, LabCheck, LabDefinition, LabStep } from './define.ts';
import { SETTLED_REASONS, labTaints, unreachable, type LabEngine } from './engine.ts';
import { applySubmission, dryRunSubmission, runCommands } from './grade-apply.ts';
import { summarize, type GradeReport, type GradedCheck, type LabGrade } from './grade-result.ts';
import { readLabSubmission, type LabSubmission, type SubmissionLocation, type SubmissionProblem } from './grade-submission.ts';
import { isTransportError } from './actions.ts';
import { findLab } from './registry.ts';
import { LAB_NAMESPACE, clusterSnapshot } from './snapshot.ts';

/** What a grading run needs: a running lab cluster and an engine with a scratch state folder. */
export interface GradeOptions {
  /** The folder holding one sub-folder per lab. */
  readonly submissionDir: string;
  readonly labIds: readonly string[];
  readonly engine: LabEngine;
  readonly provider: ClusterProvider;
  /** How long the checks of one lab may take to pass (commands.sh gets the same bound). */
  readonly timeoutMs: number;
  /** Pass when at least this percentage of the points is scored. */
  readonly failUnder?: number;
  /** Progress, e.g. "first-daemonset: applying". */
  readonly onProgress?: (message: string) => void;
}

/** How long the checks' verdicts and the cluster must stay unchanged before a failing verdict is final. */
const QUIET_MS = 4_000;
const POLL_MS = 500;
/** Observations and hints are capped so a report stays small (GitLab refuses JUnit files over 30 MB). */
const MAX_TEXT = 4_000;

const cap = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

/** Each check of a lab with its step, weight, and why it is not gradable (if so). */
function checksOf(lab: LabDefinition) {
  return lab.steps.flatMap((step: LabStep) =>
    step.checks.map((check: LabCheck) => ({
      step,
      check,
      name: `${step.id}/${check.id}`,
      weight: check.weight ?? 1,
      notGradable: check.notGradableFromFiles ?? step.notGradableFromFiles,
    })),
  );
}

/** Every check of a lab with one status and text: not graded because of `reason`, or nothing submitted. */
function uniformChecks(lab: LabDefinition, status: 'failed' | 'error', observed: string, hint?: string): GradedCheck[] {
  return checksOf(lab).map((c) => {
    const base = { step: c.step.id, check: c.check.id, name: c.name, title: c.check.title, weight: c.weight, points: 0, durationMs: 0 };
    if (c.notGradable) return { ...base, status: 'skipped', observed: `Not graded from files: ${c.notGradable}.`, reason: c.notGradable };
    return { ...base, status, observed: cap(observed), ...(hint ? { hint } : {}) };
  });
}

/** A lab grade from its checks. */
function labGrade(lab: LabDefinition, outcome: LabGrade['outcome'], started: number, checks: GradedCheck[], extra: Partial<LabGrade> = {}): LabGrade {
  const graded = checks.filter((c) => c.status !== 'skipped');
  return {
    labId: lab.id,
    title: lab.title,
    outcome,
    durationMs: Math.round(performance.now() - started),
    score: graded.reduce((sum, c) => sum + c.points, 0),
    maxScore: graded.reduce((sum, c) => sum + c.weight, 0),
    problems: [],
    ...extra,
    checks,
  };
}

/** Whether the lab's DaemonSets have seen their latest spec and no pod is on its way somewhere. */
async function clusterSettled(kube: KubeClients): Promise<boolean> {
  const [sets, pods] = await Promise.all([
    kube.apps.listNamespacedDaemonSet({ namespace: LAB_NAMESPACE }),
    kube.core.listNamespacedPod({ namespace: LAB_NAMESPACE }),
  ]);
  const observed = sets.items.every((d) => (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1));
  const podsSettled = pods.items.every((p) => {
    if (p.metadata?.deletionTimestamp) return false;
    const state = describePod(p);
    return SETTLED_REASONS.has(state.reason) || state.lastExitCode !== undefined;
  });
  return observed && podsSettled;
}

/** Per check key: its status in the latest report and when it last changed. */
type Verdicts = Map<string, { status: string; since: number }>;

/**
 * Runs the lab's checks until every graded check passes, or the verdicts and the cluster have been
 * still for QUIET_MS (nothing more will change by itself), or the timeout ends.
 */
async function pollChecks(options: GradeOptions, labId: string, kube: KubeClients, graded: ReadonlySet<string>): Promise<{ report: LabReport; verdicts: Verdicts }> {
  const started = performance.now();
  const verdicts: Verdicts = new Map();
  let quietSince = started;
  for (;;) {
    const report = await options.engine.check(labId);
    if (report.environment) throw new EnvironmentError(report.environment.message, report.environment.fix);
    const now = performance.now();
    let changed = false;
    for (const step of report.steps) {
      for (const check of step.checks) {
        const key = `${step.id}/${check.id}`;
        if (verdicts.get(key)?.status !== check.status) {
          verdicts.set(key, { status: check.status, since: now - started });
          changed = true;
        }
      }
    }
    const allPass = [...graded].every((key) => verdicts.get(key)?.status !== 'fail');
    if (allPass || now - started > options.timeoutMs) return { report, verdicts };
    if (changed || !(await clusterSettled(kube))) quietSince = now;
    else if (now - quietSince >= QUIET_MS) return { report, verdicts };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The submitted file and line of the DaemonSet a check reads (the last file that defines it wins). */
function locationOf(submission: LabSubmission, daemonSets: readonly string[]): SubmissionLocation | undefined {
  for (const name of daemonSets) {
    const found = submission.files
      .flatMap((f) => f.objects)
      .filter((o) => o.object.kind === 'DaemonSet' && o.object.metadata?.name === name)
      .at(-1);
    if (found) return { file: found.location.file, line: found.lineOf('spec') };
  }
  return submission.commands ? { file: submission.commands, line: 1 } : undefined;
}

/** Which DaemonSets a check reads: it runs once more with a snapshot that notes the names asked for. */
async function daemonSetsRead(lab: LabDefinition, check: LabCheck, kube: KubeClients, options: GradeOptions): Promise<string[]> {
  const names: string[] = [];
  const snapshot = clusterSnapshot(kube);
  const recording: ClusterSnapshot = {
    ...snapshot,
    daemonSet: (name) => {
      names.push(name);
      return snapshot.daemonSet(name);
    },
  };
  try {
    const engine = { provider: options.provider.name, canChangeNodes: options.provider.canChangeNodes };
    await check.run({ snapshot: recording, engine, passedSteps: new Set(), labTaints: labTaints(lab) });
  } catch {
    // Only the names matter here.
  }
  return names;
}

/** Turns the final report into graded checks with points, durations and locations. */
async function gradedChecks(options: GradeOptions, lab: LabDefinition, submission: LabSubmission, kube: KubeClients, polled: { report: LabReport; verdicts: Verdicts }): Promise<GradedCheck[]> {
  const results = new Map<string, CheckResult>(polled.report.steps.flatMap((s) => s.checks.map((c) => [`${s.id}/${c.id}`, c] as const)));
  const graded: GradedCheck[] = [];
  for (const c of checksOf(lab)) {
    const base = { step: c.step.id, check: c.check.id, name: c.name, title: c.check.title, weight: c.weight };
    if (c.notGradable) {
      graded.push({ ...base, status: 'skipped', observed: `Not graded from files: ${c.notGradable}.`, reason: c.notGradable, points: 0, durationMs: 0 });
      continue;
    }
    const result = results.get(c.name);
    if (result?.status === 'not-applicable') {
      // This engine cannot show it (e.g. adding nodes on kind): not graded, never passed.
      graded.push({ ...base, status: 'skipped', observed: result.observed, reason: `not applicable on the ${options.provider.name} engine: ${result.observed}`, points: 0, durationMs: 0 });
      continue;
    }
    const passed = result?.status === 'pass';
    const location = passed ? undefined : locationOf(submission, await daemonSetsRead(lab, c.check, kube, options));
    graded.push({
      ...base,
      status: passed ? 'passed' : 'failed',
      observed: cap(result?.observed ?? 'The check gave no result.'),
      ...(result?.hint ? { hint: cap(result.hint) } : {}),
      points: passed ? c.weight : 0,
      durationMs: Math.round(polled.verdicts.get(c.name)?.since ?? 0),
      ...(location ? { location } : {}),
    });
  }
  return graded;
}

/** The problems a commands.sh run shows: a failing command (with its line) or the timeout. */
function commandProblems(submission: LabSubmission, run: Awaited<ReturnType<typeof runCommands>>, timeoutMs: number): SubmissionProblem[] {
  const file = submission.commands!;
  if (run.timedOut) return [{ file, line: 1, message: `${file} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped` }];
  if (run.exitCode === 0) return [];
  const lastLines = run.output.trim().split('\n').slice(-3).join(' / ');
  return [{ file, line: run.failedLine ?? 1, message: `a command of ${file} failed with exit code ${run.exitCode}${lastLines ? `: ${lastLines}` : ''}` }];
}

/** Sets the lab up, applies the submission and runs commands.sh; returns the problems that stop grading. */
async function putOnCluster(options: GradeOptions, submission: LabSubmission, kube: KubeClients): Promise<{ problems: SubmissionProblem[]; commands?: LabGrade['commands'] }> {
  const say = (what: string) => options.onProgress?.(`${submission.labId}: ${what}`);
  say('dry-run of the submitted files');
  const invalid = await dryRunSubmission(kube, submission);
  if (invalid.length) return { problems: invalid };
  say('applying the submitted files');
  const refused = await applySubmission(kube, submission);
  if (refused.length) return { problems: refused };
  if (!submission.commands) return { problems: [] };
  say('running commands.sh');
  const connection = await options.provider.connection();
  const run = await runCommands({ dir: submission.dir, kubectlDir: connection.kubectlDir, kubeconfig: connection.kubeconfig, context: connection.context, timeoutMs: options.timeoutMs });
  const { failedLine, ...rest } = run;
  return { problems: commandProblems(submission, run, options.timeoutMs), commands: { ...rest, ...(failedLine ? { failedLine } : {}) } };
}

/** Grades one lab on the running cluster. Throws EnvironmentError when the engine fails. */
export async function gradeLab(options: GradeOptions, labId: string): Promise<LabGrade> {
  const started = performance.now();
  const lab = findLab(labId).definition;
  if (checksOf(lab).every((c) => c.notGradable)) {
    // Nothing a submission could show: every check is skipped with its reason, no set-up needed.
    return labGrade(lab, 'graded', started, uniformChecks(lab, 'failed', ''));
  }
  const submission = readLabSubmission(options.submissionDir, lab.id);
  if (!submission) {
    const observed = `Nothing submitted for this lab: the submission has no folder ${lab.id}/.`;
    return labGrade(lab, 'missing', started, uniformChecks(lab, 'failed', observed, `Put this lab's manifests in ${lab.id}/ (node operations in ${lab.id}/commands.sh).`));
  }
  const notGraded = (problems: readonly SubmissionProblem[]) =>
    `Not graded: the submission is invalid: ${problems.map((p) => `${p.file}:${p.line}${p.field ? ` (${p.field})` : ''}: ${p.message}`).join('; ')}`;
  if (submission.problems.length) {
    return labGrade(lab, 'invalid', started, uniformChecks(lab, 'error', notGraded(submission.problems)), { problems: [...submission.problems] });
  }
  try {
    options.onProgress?.(`${lab.id}: fresh lab set-up`);
    await options.engine.start(lab.id).catch((error: unknown) => {
      // The lab's own set-up is the grader's environment, not the learner's work: worth a retry.
      if (error instanceof EnvironmentError) throw error;
      throw new EnvironmentError(`The set-up of lab ${lab.id} failed: ${error instanceof Error ? error.message : String(error)}`, 'Run the grading again (exit code 3 is worth a retry).');
    });
    const kube = (await options.engine.actions(lab.id)).clients;
    const { problems, commands } = await putOnCluster(options, submission, kube);
    const extra = { problems, ...(commands ? { commands } : {}) };
    if (problems.length) return labGrade(lab, 'invalid', started, uniformChecks(lab, 'error', notGraded(problems)), extra);
    options.onProgress?.(`${lab.id}: checking`);
    const gradable = new Set(checksOf(lab).filter((c) => !c.notGradable).map((c) => c.name));
    const polled = await pollChecks(options, lab.id, kube, gradable);
    return labGrade(lab, 'graded', started, await gradedChecks(options, lab, submission, kube, polled), extra);
  } catch (error) {
    if (!(error instanceof EnvironmentError) && !isTransportError(error)) throw error;
    const problem = unreachable(error);
    return labGrade(lab, 'environment', started, uniformChecks(lab, 'error', `Not graded: the lab cluster failed: ${problem.message}`), {
      environment: { message: problem.message, fix: problem.fix },
    });
  }
}

/** What the API server says its version is. */
async function serverVersion(options: GradeOptions): Promise<string> {
  try {
    const connection = await options.provider.connection();
    const kube = kubeClients(connection.kubeconfig, connection.context);
    return (await kube.config.makeApiClient(VersionApi).getCode()).gitVersion;
  } catch (error) {
    throw unreachable(error);
  }
}

/** The report when the lab cluster could not start: every check of every lab is an error (exit 3). */
export function environmentFailureReport(submissionDir: string, labIds: readonly string[], engine: string, error: EnvironmentError, failUnder?: number): GradeReport {
  const environment = { message: error.message, fix: error.fix };
  const labs = labIds.map((id) => {
    const lab = findLab(id).definition;
    return labGrade(lab, 'environment', performance.now(), uniformChecks(lab, 'error', `Not graded: the lab cluster did not start: ${error.message}`), { environment });
  });
  return {
    version: 1,
    submission: submissionDir,
    engine,
    kubernetesVersion: 'unknown',
    startedAt: new Date().toISOString(),
    durationMs: 0,
    ...(failUnder !== undefined ? { failUnder } : {}),
    ...summarize(labs, failUnder),
    labs,
  };
}

/** Grades every lab of `options.labIds` in order; after an engine failure the rest are not attempted. */
export async function gradeSubmission(options: GradeOptions): Promise<GradeReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const kubernetesVersion = await serverVersion(options);
  const labs: LabGrade[] = [];
  for (const id of options.labIds) {
    const failed = labs.find((l) => l.outcome === 'environment');
    if (failed?.environment) {
      const lab = findLab(id).definition;
      labs.push(labGrade(lab, 'environment', performance.now(), uniformChecks(lab, 'error', `Not graded: the lab cluster failed earlier: ${failed.environment.message}`), { environment: failed.environment }));
      continue;
    }
    labs.push(await gradeLab(options, id));
  }
  return {
    version: 1,
    submission: options.submissionDir,
    engine: options.provider.name,
    kubernetesVersion,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    ...(options.failUnder !== undefined ? { failUnder: options.failUnder } : {}),
    ...summarize(labs, options.failUnder),
    labs,
  };
}
