/**
 * `npm run bench -- --only grade`: `lab grade` as CI runs it (the CLI, its own cluster from a cold
 * start): one lab, all labs, and the peak memory of the grader with its cluster; then verdict
 * stability: the reference and a known-wrong submission graded again and again on one cluster,
 * counting how many different verdicts came out (1 means stable).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration } from '../src/server/progress.ts';
import { startGradingCluster } from '../src/server/labs/grade-cluster.ts';
import { gradeSubmission } from '../src/server/labs/grade.ts';
import type { GradeReport } from '../src/server/labs/grade-result.ts';
import { labIds } from '../src/server/labs/registry.ts';
import { REPO_ROOT } from '../src/server/paths.ts';
import { gradableWrongTrials, writeTrialSubmission } from '../tests/labs/grade-trials.ts';

const REFERENCE = join(REPO_ROOT, 'examples/assignment/submission');

/** Resident memory (MB) of every process that belongs to a grading run: the CLI and its cluster's components. */
function gradingMemoryMB(cliPid: number): number {
  let kb = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (Number(entry) !== cliPid && !cmdline.includes('daemonset-lab-grade-')) continue;
      kb += Number(readFileSync(`/proc/${entry}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
    } catch {
      // The process ended while we looked.
    }
  }
  return kb / 1024;
}

/** Runs the grade CLI once; returns its wall time, exit code and the peak memory seen (sampled every 200 ms). */
async function timeGradeCli(args: string[]): Promise<{ ms: number; code: number; peakMB: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/lab.ts'), 'grade', ...args], { cwd: REPO_ROOT, stdio: 'ignore' });
  let peakMB = 0;
  const sampler = setInterval(() => (peakMB = Math.max(peakMB, gradingMemoryMB(child.pid!))), 200);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  clearInterval(sampler);
  return { ms: performance.now() - started, code, peakMB };
}

/** Figures of the CLI from a cold start. */
export async function benchGradeCli(runs: number) {
  const one: number[] = [];
  const all: number[] = [];
  const peak: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const single = await timeGradeCli([REFERENCE, '--labs', 'first-daemonset']);
    one.push(single.ms);
    const every = await timeGradeCli([REFERENCE, '--labs', 'all']);
    all.push(every.ms);
    peak.push(Math.max(single.peakMB, every.peakMB));
    process.stderr.write(`  run ${run + 1}/${runs}: one lab ${formatDuration(single.ms)} (exit ${single.code}), all labs ${formatDuration(every.ms)} (exit ${every.code}), peak ${peak.at(-1)!.toFixed(0)} MB\n`);
  }
  return [
    { metric: 'grade one lab from a cold start (CLI: cluster up, first-daemonset, cluster deleted)', samples: one, unit: 'ms' as const, target: 30_000 },
    { metric: `grade all ${labIds().length} labs from a cold start (CLI, reference submission)`, samples: all, unit: 'ms' as const, target: 180_000 },
    { metric: 'peak memory while grading (grader + its cluster, RSS sampled every 200 ms)', samples: peak, unit: 'MB' as const, target: 2048 },
  ];
}

/** The verdict of a report: every check's status, in order. */
const verdict = (report: GradeReport) => JSON.stringify(report.labs.map((l) => [l.labId, l.outcome, l.checks.map((c) => c.status)]));

/** Grades the reference and a known-wrong submission `runs` times each on one cluster; returns lines to print. */
export async function benchGradeStability(runs: number, labs: readonly string[] = labIds()): Promise<string[]> {
  const wrong = mkdtempSync(join(tmpdir(), 'daemonset-lab-bench-wrong-'));
  for (const id of labs) {
    const trial = gradableWrongTrials(id)[0];
    if (trial) await writeTrialSubmission(wrong, id, trial);
  }
  const cluster = await startGradingCluster('embedded');
  const lines: string[] = [];
  try {
    for (const [name, dir] of [['reference', REFERENCE], ['known-wrong (first wrong trial of each lab)', wrong]] as const) {
      const verdicts = new Map<string, number>();
      const exitCodes = new Set<number>();
      for (let run = 0; run < runs; run += 1) {
        const report = await gradeSubmission({ submissionDir: dir, labIds: labs, engine: cluster.engine, provider: cluster.provider, timeoutMs: 90_000 });
        verdicts.set(verdict(report), (verdicts.get(verdict(report)) ?? 0) + 1);
        exitCodes.add(report.exitCode);
        process.stderr.write(`  ${name} ${run + 1}/${runs}: exit ${report.exitCode}, ${report.score}/${report.maxScore} points, ${formatDuration(report.durationMs)}\n`);
      }
      lines.push(`${name}, labs ${labs.join(', ')}: ${runs} runs, ${verdicts.size} distinct verdict${verdicts.size === 1 ? '' : 's'} (${[...verdicts.values()].join(' + ')} runs), exit codes ${[...exitCodes].join(', ')}${verdicts.size === 1 ? ' ✓ stable' : ' ✗ UNSTABLE'}`);
    }
  } finally {
    await cluster.close();
  }
  return lines;
}
