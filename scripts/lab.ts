/**
 * npm run lab -- list | start <id> | check <id> [--json] [--junit FILE] [--watch] | solve <id>
 *                | reset <id> | status [--json] [--junit FILE] | verify-all [<id>...] [--json]
 * Exit codes: 0 every check passes (or the command did what it should), 1 some checks fail,
 * 2 an environment or usage error (the message names the fix). `grade` has its own (lab-grade.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabReport } from '../src/shared/lab-results.ts';
import { parseCommandLine, runCli } from '../src/server/cli.ts';
import { EnvironmentError, UsageError } from '../src/server/errors.ts';
import { withProgress } from '../src/server/progress.ts';
import { stateDir } from '../src/server/paths.ts';
import { defaultProviderContext } from '../src/server/cluster/providers/context.ts';
import { parseProviderChoice, resolveProvider } from '../src/server/cluster/providers/registry.ts';
import { ALLOW_NON_LAB_CLUSTER_FLAG } from '../src/server/cluster/providers/existing.ts';
import { START_CLUSTER_COMMAND, createLabEngine } from '../src/server/labs/engine.ts';
import { progressToJUnit, reportToJUnit } from '../src/server/labs/junit.ts';
import { LabDefinitionError } from '../src/server/labs/loader.ts';
import { ApplyError } from '../src/server/labs/actions.ts';
import { labIds } from '../src/server/labs/registry.ts';
import { verificationTable, verifyLab } from '../src/server/labs/verify.ts';
import { gradeCommand } from './lab-grade.ts';

const USAGE = `Usage: npm run lab -- <command> [options]

Commands:
  list                          the labs
  start <id>                    set the cluster up for a lab; its files go to the workspace
  check <id> [--json] [--junit FILE] [--watch]
                                judge the cluster (exit 0 all pass, 1 some fail)
  solve <id>                    apply the reference solution (files in <workspace>/solution/)
  reset <id>                    back to the lab's start (your edited files go to .backup/)
  status [--json] [--junit FILE]
                                your progress (export for instructors)
  verify-all [<id>...] [--json] prove every lab: setup, wrong attempts, alternatives, solve, reset
  grade <path> [--labs <id,…>|all] [--engine embedded|kind] [--timeout-seconds N]
        [--junit FILE] [--json] [--classroom] [--fail-under PCT]
                                grade a submission (<path>/<lab-id>/*.yaml, commands.sh) on a
                                fresh cluster: exit 0 pass, 1 fail, 2 invalid, 3 environment

Options:
  --provider auto|embedded|kind|existing    (default: the engine \`npm run cluster -- up\` started)
  ${ALLOW_NON_LAB_CLUSTER_FLAG}                   let lab setup change a cluster without the lab marker
`;

/** Prints a report for people; returns the exit code. */
function printReport(report: LabReport): number {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (report.environment) {
    out(`✗ ${report.environment.message}\n  Fix: ${report.environment.fix}`);
    return 2;
  }
  for (const step of report.steps) {
    out(`${step.passed ? '✓' : '✗'} ${step.title}`);
    for (const check of step.checks) {
      out(`  ${{ pass: '✓', fail: '✗', 'not-applicable': '–' }[check.status]} ${check.title}${check.status === 'not-applicable' ? ' (not applicable here)' : ''}`);
      out(`      ${check.observed}`);
      if (check.hint) out(`      Hint: ${check.hint}`);
    }
  }
  const passed = report.steps.filter((s) => s.passed).length;
  out(`\n${report.passed ? '✓' : '•'} ${report.labId}: ${passed} of ${report.steps.length} steps pass (checked in ${Math.round(report.durationMs)} ms)`);
  return report.passed ? 0 : 1;
}

const exitCodeOf = (report: LabReport) => (report.environment ? 2 : report.passed ? 0 : 1);

await runCli(async () => {
  const { command, rest, values } = parseCommandLine(
    {
      json: { type: 'boolean' },
      junit: { type: 'string' },
      watch: { type: 'boolean' },
      provider: { type: 'string' },
      'allow-non-lab-cluster': { type: 'boolean' },
      labs: { type: 'string' },
      engine: { type: 'string' },
      'timeout-seconds': { type: 'string' },
      classroom: { type: 'boolean' },
      'fail-under': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  // Grading brings up a cluster of its own: it never uses the learner's.
  if (command === 'grade') return gradeCommand(rest, values);
  const allow = values['allow-non-lab-cluster'] ?? false;
  const context = defaultProviderContext(allow ? { existing: { allowNonLabCluster: true } } : {});
  const choice = values.provider === undefined ? undefined : parseProviderChoice(values.provider);
  const { provider } = await resolveProvider(choice, context);
  const engine = createLabEngine({ provider, stateDir: stateDir(), allowNonLabCluster: allow });
  const needId = () => {
    const id = rest[0];
    if (!id) throw new UsageError(`${command} needs a lab id. Valid labs: ${labIds().join(', ')}.`);
    engine.summary(id);
    return id;
  };
  const emit = (report: LabReport) => {
    if (values.junit) writeFileSync(values.junit, reportToJUnit(report));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return exitCodeOf(report);
    }
    return printReport(report);
  };

  try {
    switch (command) {
      case 'list': {
        const labs = engine.list();
        if (values.json) process.stdout.write(`${JSON.stringify(labs, null, 2)}\n`);
        else for (const lab of labs) process.stdout.write(`${lab.id.padEnd(28)} ${lab.title} (${lab.steps.length} steps)${lab.needsNodeChanges ? ' · adds and removes nodes' : ''}\n`);
        return 0;
      }
      case 'start':
      case 'reset':
      case 'solve': {
        const id = needId();
        const verb = { start: 'Starting', reset: 'Resetting', solve: 'Solving' }[command];
        const report = await withProgress(`${verb} lab ${id}`, () => engine[command](id));
        process.stderr.write(`  Workspace: ${engine.workspaceDir(id)}${command === 'solve' ? ' (reference files in solution/)' : ''}\n`);
        if (command === 'start') {
          for (const step of engine.summary(id).steps) process.stderr.write(`  • ${step.title}\n`);
          process.stderr.write(`  Check your work: npm run lab -- check ${id}\n`);
        }
        const code = emit(report);
        // Unfinished work is where a lab starts: start and reset succeed unless the environment failed.
        return command === 'solve' || code === 2 ? code : 0;
      }
      case 'check': {
        const id = needId();
        if (!values.watch) return emit(await engine.check(id));
        // Re-check every 2 s and print when something changed, until everything passes.
        let last = '';
        for (;;) {
          const report = await engine.check(id);
          const fingerprint = JSON.stringify(report.steps.map((s) => s.checks.map((c) => [c.status, c.observed])).concat(report.environment ? [[report.environment.message]] : []));
          if (fingerprint !== last) {
            process.stdout.write(`\n── ${new Date().toLocaleTimeString()} ──\n`);
            emit(report);
            last = fingerprint;
          }
          if (report.passed) return 0;
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
      case 'status': {
        const progress = engine.progress();
        if (values.junit) writeFileSync(values.junit, progressToJUnit(progress, engine.list()));
        if (values.json) {
          process.stdout.write(`${JSON.stringify(progress, null, 2)}\n`);
          return 0;
        }
        const byId = new Map(progress.labs.map((l) => [l.labId, l]));
        for (const lab of engine.list()) {
          const p = byId.get(lab.id);
          const state = !p ? 'not started' : p.completedAt ? `completed ${p.completedAt}` : `${p.passedSteps.length} of ${lab.steps.length} steps, started ${p.startedAt}`;
          process.stdout.write(`${p?.completedAt ? '✓' : p ? '•' : ' '} ${lab.id.padEnd(28)} ${state}\n`);
        }
        return 0;
      }
      case 'verify-all': {
        const ids = rest.length ? rest.map((id) => engine.summary(id).id) : labIds();
        // Without a cluster every lab would "fail" for the same reason: say that reason once.
        const status = await provider.status();
        if (!status.running) throw new EnvironmentError(`The ${provider.name} lab cluster is not running (${status.summary}).`, `${START_CLUSTER_COMMAND} --provider ${provider.name}`);
        // Trials are not the learner's work: keep their progress and workspaces out of the learner's.
        const scratch = mkdtempSync(join(tmpdir(), 'daemonset-lab-verify-'));
        const verifier = createLabEngine({ provider, stateDir: scratch, allowNonLabCluster: allow });
        const results = [];
        try {
          for (const id of ids) {
            const result = await withProgress(`Verifying lab ${id}`, () => verifyLab(verifier, id), process.stderr, (r) => r.ok);
            results.push(result);
          }
          await withProgress('Resetting the cluster to its baseline', () => provider.reset());
        } finally {
          verifier.close();
          rmSync(scratch, { recursive: true, force: true });
        }
        if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        else process.stdout.write(`${verificationTable(results)}\n`);
        return results.every((r) => r.ok) ? 0 : 1;
      }
      default:
        throw new UsageError(`Unknown command "${command}".\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof EnvironmentError || error instanceof UsageError) throw error;
    if (error instanceof ApplyError) throw new EnvironmentError(error.message, 'The API server refused a lab manifest as quoted above; `npm run cluster -- reset` and start the lab again, or report it.');
    if (error instanceof LabDefinitionError) throw new EnvironmentError(`A lab definition is broken:\n${error.message}`, 'Fix the fields named above; npm run typecheck shows type errors in lab files.');
    throw error;
  } finally {
    engine.close();
  }
});
