/**
 * verify-all: proves every lab against a real cluster. For each lab: after setup every check
 * fails; each wrong trial fails its check with its hint; each alternative solution passes; solve
 * passes everything; reset restores the start state (node labels, taints, cordons, DaemonSets,
 * start files) and the checks fail again. Also: timing for `npm run bench`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CheckStatus, LabReport } from '../../shared/lab-results.ts';
import { NodeChangesUnsupportedError } from '../errors.ts';
import { waitFor, type KubeClients } from '../cluster/kube.ts';
import type { LabDefinition } from './define.ts';
import type { LabEngine } from './engine.ts';
import { findLab } from './registry.ts';
import { LAB_NAMESPACE } from './snapshot.ts';

/**
 * One part of a lab's verification. not-applicable: this engine cannot show it (a trial that adds
 * a node on kind, a solve whose node checks say so); never counted as passed.
 */
export interface VerificationItem {
  /** e.g. "setup: every check fails", "wrong: toleration with effect NoExecute". */
  readonly name: string;
  readonly status: CheckStatus;
  /** What was seen when it failed, or why it is not applicable. */
  readonly detail?: string;
}

/**
 * The verification of one lab. status: fail when any item failed; else not-applicable when some
 * item could not be judged on this engine (the rest passed); else pass. `ok`: nothing failed.
 */
export interface LabVerification {
  readonly labId: string;
  readonly status: CheckStatus;
  readonly ok: boolean;
  readonly items: readonly VerificationItem[];
  readonly durationMs: number;
}

/** An item's outcome: a problem (fail), a reason it cannot be judged here, or nothing (pass). */
type ItemOutcome = string | { notApplicable: string } | undefined;

/** The not-applicable checks of a report, as one line, or undefined when there are none. */
function notApplicableChecks(report: LabReport): { notApplicable: string } | undefined {
  const checks = allChecks(report).filter((c) => c.status === 'not-applicable');
  return checks.length ? { notApplicable: checks.map((c) => `${c.step}/${c.id}: ${c.observed}`).join('; ') } : undefined;
}

/** How long a trial may take to show its expected result (pods start in ~1-2 s). */
const TRIAL_TIMEOUT_MS = 45_000;

const allChecks = (report: LabReport) => report.steps.flatMap((s) => s.checks.map((c) => ({ step: s.id, ...c })));

/** What reset must restore: nodes (labels, taints, cordon) and the lab's DaemonSets' templates. */
async function clusterFingerprint(clients: KubeClients): Promise<string> {
  const nodes = (await clients.core.listNode()).items.map((n) => ({
    name: n.metadata?.name,
    labels: Object.entries(n.metadata?.labels ?? {}).sort(),
    taints: (n.spec?.taints ?? []).map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`).sort(),
    unschedulable: Boolean(n.spec?.unschedulable),
  }));
  const daemonSets = (await clients.apps.listNamespacedDaemonSet({ namespace: LAB_NAMESPACE })).items.map((d) => ({
    name: d.metadata?.name,
    template: d.spec?.template,
    strategy: d.spec?.updateStrategy,
  }));
  const sort = <T extends { name?: string }>(list: T[]) => list.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  return JSON.stringify({ nodes: sort(nodes), daemonSets: sort(daemonSets) });
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i += 1;
  return `before …${a.slice(Math.max(0, i - 80), i + 80)}… after …${b.slice(Math.max(0, i - 80), i + 80)}…`;
}

/**
 * A trial is not applicable when the check it must fail, or a check of a step it must pass, says
 * so (and, for a correct one, nothing else in those steps fails).
 */
function trialNotApplicable(trial: LabDefinition['trials'][number], report: LabReport): { notApplicable: string } | undefined {
  const steps = trial.kind === 'correct' ? trial.passingSteps : [trial.failingCheck.split('/')[0]!];
  const checks = allChecks(report).filter((c) => steps.includes(c.step) && (trial.kind === 'correct' || `${c.step}/${c.id}` === trial.failingCheck));
  const unjudged = checks.filter((c) => c.status === 'not-applicable');
  if (!unjudged.length || checks.some((c) => c.status === 'fail')) return undefined;
  return { notApplicable: unjudged.map((c) => `${c.step}/${c.id}: ${c.observed}`).join('; ') };
}

/** Runs the whole cycle for one lab. Never throws for a lab that misbehaves: that is an item that is not ok. */
export async function verifyLab(engine: LabEngine, id: string): Promise<LabVerification> {
  const started = performance.now();
  const lab = findLab(id).definition;
  const items: VerificationItem[] = [];
  const attempt = async (name: string, run: () => Promise<ItemOutcome>) => {
    try {
      const outcome = await run();
      if (outcome === undefined) items.push({ name, status: 'pass' });
      else if (typeof outcome === 'string') items.push({ name, status: 'fail', detail: outcome });
      else items.push({ name, status: 'not-applicable', detail: outcome.notApplicable });
    } catch (error) {
      if (error instanceof NodeChangesUnsupportedError) items.push({ name, status: 'not-applicable', detail: error.message });
      else items.push({ name, status: 'fail', detail: error instanceof Error ? error.message : String(error) });
    }
  };

  let startFingerprint = '';
  await attempt('setup: every check fails', async () => {
    const report = await engine.start(id);
    startFingerprint = await clusterFingerprint((await engine.actions(id)).clients);
    if (report.environment) return report.environment.message;
    const passing = allChecks(report).filter((c) => c.status === 'pass');
    return passing.length ? `passing right after setup: ${passing.map((c) => `${c.step}/${c.id} (${c.observed})`).join('; ')}` : undefined;
  });

  for (const trial of lab.trials) {
    await attempt(`${trial.kind}: ${trial.title}`, async () => {
      await engine.start(id);
      await trial.act(await engine.actions(id));
      let last: LabReport | undefined;
      let notApplicable: { notApplicable: string } | undefined;
      try {
        await waitFor(
          trial.kind === 'wrong' ? `check ${trial.failingCheck} to fail with a hint about "${trial.hintIncludes}"` : `steps ${trial.passingSteps.join(', ')} to pass`,
          async () => {
            last = await engine.check(id);
            // The checks this trial is about cannot be judged on this engine (a node condition on kind).
            notApplicable = trialNotApplicable(trial, last);
            if (notApplicable) return true;
            if (trial.kind === 'correct') return trial.passingSteps.every((s) => last!.steps.find((r) => r.id === s)?.passed) ? true : undefined;
            const [stepId, checkId] = trial.failingCheck.split('/');
            const check = last.steps.find((s) => s.id === stepId)?.checks.find((c) => c.id === checkId);
            return check?.status === 'fail' && check.hint?.includes(trial.hintIncludes) ? true : undefined;
          },
          TRIAL_TIMEOUT_MS,
          300,
        );
        return notApplicable;
      } catch {
        const seen = last ? allChecks(last).map((c) => `${c.step}/${c.id}: ${c.status} — ${c.observed}${c.hint ? ` [hint: ${c.hint}]` : ''}`).join('\n    ') : 'no report';
        return `not as expected; last check:\n    ${seen}`;
      }
    });
  }

  await attempt('solve: every check passes', async () => {
    await engine.start(id);
    const report = await engine.solve(id);
    const failing = allChecks(report).filter((c) => c.status === 'fail');
    return failing.length ? `failing after solve: ${failing.map((c) => `${c.step}/${c.id} (${c.observed})`).join('; ')}` : notApplicableChecks(report);
  });

  await attempt('reset: start state restored', async () => {
    const workspace = engine.workspaceDir(id);
    const file = findLab(id).startFiles[0]!;
    const edited = `${readFileSync(join(workspace, file), 'utf8')}\n# the learner's edit\n`;
    writeFileSync(join(workspace, file), edited);
    const report = await engine.reset(id);
    const fingerprint = await clusterFingerprint((await engine.actions(id)).clients);
    if (fingerprint !== startFingerprint) return `cluster differs from the start state: ${firstDifference(startFingerprint, fingerprint)}`;
    const passing = allChecks(report).filter((c) => c.status === 'pass');
    if (passing.length) return `passing after reset: ${passing.map((c) => `${c.step}/${c.id}`).join(', ')}`;
    if (readFileSync(join(workspace, file), 'utf8') === edited) return `${file} was not restored`;
    const backups = join(workspace, '.backup');
    if (!existsSync(backups)) return `the edited ${file} was not kept in .backup/`;
    return undefined;
  });

  const status: CheckStatus = items.some((i) => i.status === 'fail') ? 'fail' : items.some((i) => i.status === 'not-applicable') ? 'not-applicable' : 'pass';
  return { labId: id, status, ok: status !== 'fail', items, durationMs: Math.round(performance.now() - started) };
}

/** Formats verifications as a table for the terminal. */
export function verificationTable(results: readonly LabVerification[]): string {
  const rows = results.map((r) => {
    const count = (status: CheckStatus) => r.items.filter((i) => i.status === status).length;
    const result = { pass: '✓ pass', fail: '✗ FAIL', 'not-applicable': '– partly not applicable here' }[r.status];
    const notApplicable = count('not-applicable') ? ` (${count('not-applicable')} not applicable)` : '';
    return [r.labId, result, `${count('pass')}/${r.items.length}${notApplicable}`, `${(r.durationMs / 1000).toFixed(1)}s`];
  });
  const header = ['lab', 'result', 'items passed', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const problems = results.flatMap((r) =>
    r.items.filter((i) => i.status !== 'pass').map((i) => `${i.status === 'fail' ? '✗' : '–'} ${r.labId} · ${i.name}${i.status === 'fail' ? '' : ' (not applicable here)'}\n  ${i.detail ?? ''}`),
  );
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...(problems.length ? ['', ...problems] : [])].join('\n');
}

/** Raw durations in milliseconds of `runs` checks and `runs` resets of one lab (started first). */
export async function benchmarkLab(engine: LabEngine, id: string, runs: number): Promise<{ check: number[]; reset: number[] }> {
  await engine.start(id);
  const time = async (work: () => Promise<unknown>) => {
    const t0 = performance.now();
    await work();
    return performance.now() - t0;
  };
  const check: number[] = [];
  for (let i = 0; i < runs; i += 1) check.push(await time(() => engine.check(id)));
  const reset: number[] = [];
  for (let i = 0; i < runs; i += 1) reset.push(await time(() => engine.reset(id)));
  return { check, reset };
}
