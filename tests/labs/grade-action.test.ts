/**
 * The GitHub Action (action.yml) and the sample assignment workflow: linted with actionlint (built
 * from the Go module proxy), the action's metadata read back with zod, and the action's own `run`
 * steps executed here as GitHub would run them (same inputs, the environment variables GitHub sets,
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), on a submission with one right and one wrong lab.
 * What cannot run without GitHub: the `uses:` steps (setup-node, setup-go, cache), and the install
 * step, whose `npm install` .ci/run has already done in this checkout.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { classroomResult } from '../../src/server/labs/grade-report.ts';
import { findLab } from '../../src/server/labs/registry.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { ensureActionlint } from '../support/actionlint.ts';
import { writeTrialSubmission, gradableWrongTrials } from './grade-trials.ts';
import { parseJUnit, validateJUnit } from './junit-support.ts';

const StepSchema = z.union([
  z.strictObject({ name: z.string(), uses: z.string().regex(/^[\w-]+\/[\w-]+@v\d+$/), with: z.record(z.string(), z.union([z.string(), z.boolean()])).optional() }),
  z.strictObject({
    name: z.string(),
    id: z.string().optional(),
    shell: z.literal('bash'),
    'working-directory': z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    run: z.string(),
  }),
]);
const ActionSchema = z.strictObject({
  name: z.string(),
  description: z.string(),
  author: z.string(),
  branding: z.strictObject({ icon: z.string(), color: z.string() }),
  inputs: z.record(z.string(), z.strictObject({ description: z.string(), required: z.boolean(), default: z.string() })),
  outputs: z.record(z.string(), z.strictObject({ description: z.string(), value: z.string() })),
  runs: z.strictObject({ using: z.literal('composite'), steps: z.array(StepSchema) }),
});
type Action = z.infer<typeof ActionSchema>;

const action: Action = ActionSchema.parse(parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')));

/** Steps that cannot run here, and why. */
const NOT_RUN_LOCALLY: Record<string, string> = { install: '.ci/run has already run npm install in this checkout' };

let actionlint: string;
beforeAll(async () => {
  actionlint = await ensureActionlint();
}, 600_000);

async function lint(cwd: string, files: string[] = []) {
  try {
    await promisify(execFile)(actionlint, ['-no-color', ...files], { cwd });
    return '';
  } catch (error) {
    return (error as { stdout?: string }).stdout ?? String(error);
  }
}

describe('the GitHub Action', () => {
  it('has the inputs and outputs the issue promises, each described', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(['classroom', 'engine', 'fail-under', 'junit-file', 'labs', 'path', 'timeout-seconds']);
    expect(Object.keys(action.outputs).sort()).toEqual(['failed', 'max-score', 'passed', 'result', 'score']);
    const uses = action.runs.steps.flatMap((s) => ('uses' in s ? [s.uses] : []));
    expect(uses).toEqual(['actions/setup-node@v4', 'actions/setup-go@v5', 'actions/cache@v4']);
  });

  it('actionlint passes the sample workflow, and a workflow using the action locally with every input', async () => {
    expect(await lint(REPO_ROOT, ['examples/assignment/.github/workflows/grade.yml'])).toBe('');
    const repo = mkdtempSync(join(tmpdir(), 'grade-actionlint-'));
    cpSync(join(REPO_ROOT, 'action.yml'), join(repo, 'action.yml'));
    mkdirSync(join(repo, '.git'));
    mkdirSync(join(repo, '.github', 'workflows'), { recursive: true });
    const inputs = Object.keys(action.inputs).map((name) => `          ${name}: '${action.inputs[name]!.default}'`).join('\n');
    const outputs = Object.keys(action.outputs).map((name) => `          echo "${name}=\${{ steps.lab.outputs.${name} }}"`).join('\n');
    const workflow = (extra: string) =>
      `name: grade\non: push\njobs:\n  grade:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - id: lab\n        uses: ./\n        with:\n${inputs}\n${extra}      - run: |\n${outputs}\n`;
    writeFileSync(join(repo, '.github', 'workflows', 'grade.yml'), workflow(''));
    expect(await lint(repo)).toBe('');
    // actionlint reads the action's inputs: a misspelt one is caught, so the pass above means something.
    writeFileSync(join(repo, '.github', 'workflows', 'grade.yml'), workflow('          timeout: 10\n'));
    expect(await lint(repo)).toContain('input "timeout" is not defined in action "DaemonSet Lab grade"');
  });

  it('runs its steps as GitHub would: outputs, annotations at the submitted file and line, step summary, Classroom notice and JUnit', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'grade-workspace-'));
    cpSync(join(REPO_ROOT, 'examples/assignment/submission/first-daemonset'), join(workspace, 'submission', 'first-daemonset'), { recursive: true });
    const wrong = gradableWrongTrials('tolerations')[0]!;
    await writeTrialSubmission(join(workspace, 'submission'), 'tolerations', wrong);
    const withInputs: Record<string, string> = { path: 'submission', labs: 'first-daemonset,tolerations', classroom: 'true', 'junit-file': 'daemonset-lab-grade.xml' };
    const inputs = Object.fromEntries(Object.entries(action.inputs).map(([name, input]) => [name, withInputs[name] ?? input.default]));
    const run = await runActionSteps(action, inputs, workspace);

    expect(run.skipped).toEqual(['Set up Node 24', 'Set up Go (builds the Kubernetes binaries on a cache miss)', 'Restore the Kubernetes binaries', 'Install DaemonSet Lab']);
    const grade = run.steps.find((s) => s.id === 'grade')!;
    expect(grade.code, grade.output).toBe(1);
    const outputs = run.outputs;
    const checksOf = (id: string) => findLab(id).definition.steps.flatMap((s) => s.checks).length;
    const right = checksOf('first-daemonset');
    const max = right + checksOf('tolerations');
    expect(outputs).toMatchObject({ score: String(right), 'max-score': String(max), passed: String(right) });
    expect(Number(outputs.failed)).toBeGreaterThan(0);
    const classroom = JSON.parse(Buffer.from(outputs.result!, 'base64').toString('utf8')) as ReturnType<typeof classroomResult>;
    expect(classroom).toMatchObject({ version: 1, status: 'fail', max_score: max });
    expect(grade.output).toContain(`::notice title=Autograding complete::Points ${right}/${max}`);
    const [stepId, checkId] = wrong.failingCheck.split('/');
    expect(grade.output).toMatch(new RegExp(`^::error file=submission/tolerations/01-manifest\\.yaml,line=\\d+,title=tolerations/${stepId}/${checkId}::.+Hint: .*`, 'm'));
    expect(readFileSync(run.summaryFile, 'utf8')).toContain(`### DaemonSet Lab grade: ${right}/${max} points`);
    const xml = readFileSync(join(workspace, 'daemonset-lab-grade.xml'), 'utf8');
    expect((await validateJUnit(xml)).errors).toEqual([]);
    expect(parseJUnit(xml).suites.map((s) => s.name)).toEqual(['lab.first-daemonset', 'lab.tolerations']);
  }, 600_000);
});

/** Evaluates the `${{ … }}` expressions the action uses; anything else fails the test. */
function expand(text: string, scope: { inputs: Record<string, string>; steps: Record<string, Record<string, string>> }): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_all, expression: string) => {
    const input = expression.match(/^inputs\.([\w-]+)$/);
    if (input) return scope.inputs[input[1]!] ?? '';
    if (expression === 'github.action_path') return REPO_ROOT;
    const output = expression.match(/^steps\.([\w-]+)\.outputs\.([\w-]+)$/);
    if (output) return scope.steps[output[1]!]?.[output[2]!] ?? '';
    throw new Error(`action.yml uses \${{ ${expression} }}, which this local runner does not know`);
  });
}

/** Reads a GITHUB_OUTPUT file (name=value lines, and name<<DELIMITER blocks). */
function readOutputs(file: string): Record<string, string> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const outputs: Record<string, string> = {};
  for (let i = 0; i < lines.length; i += 1) {
    const block = lines[i]!.match(/^([\w-]+)<<(.+)$/);
    if (block) {
      const end = lines.indexOf(block[2]!, i + 1);
      outputs[block[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      outputs[lines[i]!.slice(0, lines[i]!.indexOf('='))] = lines[i]!.slice(lines[i]!.indexOf('=') + 1);
    }
  }
  return outputs;
}

/** Runs the action's `run` steps in order, with the environment GitHub gives composite steps. */
async function runActionSteps(actionFile: Action, inputs: Record<string, string>, workspace: string) {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'grade-runner-'));
  const summaryFile = join(runnerTemp, 'step_summary.md');
  writeFileSync(summaryFile, '');
  const scope = { inputs, steps: {} as Record<string, Record<string, string>> };
  const skipped: string[] = [];
  const steps: Array<{ id?: string; code: number; output: string }> = [];
  for (const [index, step] of actionFile.runs.steps.entries()) {
    if ('uses' in step || NOT_RUN_LOCALLY[step.id ?? '']) {
      skipped.push(step.name);
      continue;
    }
    const outputFile = join(runnerTemp, `output_${index}`);
    writeFileSync(outputFile, '');
    const env: Record<string, string> = {
      PATH: `${dirname(process.execPath)}:${process.env.PATH}`, // what setup-node does: Node 24 first
      HOME: process.env.HOME ?? '/root',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: workspace,
      GITHUB_ACTION_PATH: REPO_ROOT,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_ENV: join(runnerTemp, 'env'),
      GITHUB_PATH: join(runnerTemp, 'path'),
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_TEMP: runnerTemp,
      ...(process.env.DAEMONSET_LAB_CACHE ? { DAEMONSET_LAB_CACHE: process.env.DAEMONSET_LAB_CACHE } : {}),
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(v, scope)])),
    };
    const cwd = step['working-directory'] ? resolve(workspace, expand(step['working-directory'], scope)) : workspace;
    // GitHub runs `shell: bash` steps as bash --noprofile --norc -eo pipefail {0}.
    const script = join(runnerTemp, `step_${index}.sh`);
    writeFileSync(script, expand(step.run, scope));
    const result = await new Promise<{ code: number; output: string }>((done) => {
      const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('close', (code) => done({ code: code ?? 1, output }));
    });
    steps.push({ ...(step.id ? { id: step.id } : {}), ...result });
    if (step.id) scope.steps[step.id] = readOutputs(outputFile);
    if (result.code !== 0 && step.id !== 'grade') throw new Error(`step "${step.name}" failed:\n${result.output}`);
  }
  const outputs = Object.fromEntries(Object.entries(actionFile.outputs).map(([name, output]) => [name, expand(output.value, scope)]));
  return { steps, skipped, outputs, summaryFile };
}
