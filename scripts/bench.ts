/**
 * npm run bench: speed and memory figures, as medians over several runs, against targets.
 * Never a test: numbers are printed, not asserted.
 *
 *   npm run bench [-- --runs 5] [-- --only cluster|labs|site|workspace|hub|grade|kind]
 *                 [-- --grade-cli-runs 3 --stability-runs 20 --stability-labs id,…]
 * The kind section runs with `--only kind` or `--kind` (minutes per run; 1 run unless --runs).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '../src/server/cli.ts';
import { ensureBinaries } from '../src/server/cluster/binaries.ts';
import { MERGE_PATCH, kubeClients, serverSideApply, waitFor } from '../src/server/cluster/kube.ts';
import { embeddedProvider } from '../src/server/cluster/providers/embedded.ts';
import { chooseNodeImage, kindProvider } from '../src/server/cluster/providers/kind.ts';
import { processRunner } from '../src/server/cluster/providers/runner.ts';
import { formatDuration } from '../src/server/progress.ts';
import { CLUSTER_NAME, WORKER_NAMES } from '../src/server/cluster/topology.ts';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from '../src/server/paths.ts';
import { measurePageJs, measureSiteJsWeights } from '../tests/site/page-weight.ts';
import { createLabEngine } from '../src/server/labs/engine.ts';
import { benchmarkLab } from '../src/server/labs/verify.ts';
import { startTestCluster } from '../tests/support/test-cluster.ts';
import { launchChromium, startTestWorkspace } from '../tests/workspace/support.ts';
import { measureEchoLatency, measureTimeToTerminal } from '../tests/workspace/measure.ts';
import { benchHub } from '../tests/hub/bench.ts';
import { benchGradeCli, benchGradeStability } from './bench-grade.ts';

/** One printed row: a metric, its samples, and the target it should meet (lower is better). */
interface Figure {
  readonly metric: string;
  readonly samples: readonly number[];
  readonly unit: 'ms' | 'MB' | 'KB';
  readonly target?: number;
}

const BENCH_PORT_BASE = 30400;

function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

const median = (samples: readonly number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

function formatValue(value: number, unit: Figure['unit']): string {
  if (unit === 'ms') return formatDuration(value);
  return `${value.toFixed(unit === 'MB' ? 0 : 1)} ${unit}`;
}

/** Prints figures as a table: median, p95, target, and median/target (≤ 1.00 meets the target). */
function printTable(title: string, figures: readonly Figure[]): void {
  const rows = figures.map((f) => {
    const m = median(f.samples);
    return [
      f.metric,
      String(f.samples.length),
      formatValue(m, f.unit),
      formatValue(quantile(f.samples, 0.95), f.unit),
      f.target === undefined ? '—' : formatValue(f.target, f.unit),
      f.target === undefined ? '—' : `${(m / f.target).toFixed(2)}${m <= f.target ? ' ✓' : ' ✗'}`,
    ];
  });
  const header = ['metric', 'runs', 'median', 'p95', 'target', 'median/target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

/** Sum over processes of a /proc/<pid>/status field in kB (VmRSS now, VmHWM peak), in MB. */
async function memoryMB(pids: readonly number[], field: 'VmRSS' | 'VmHWM'): Promise<number> {
  let kb = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    kb += Number(status.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
  }
  return kb / 1024;
}

const NGINX = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'nginx-daemonset', namespace: 'default', labels: { app: 'nginx' } },
  spec: {
    selector: { matchLabels: { name: 'nginx-daemonset' } },
    template: {
      metadata: { labels: { name: 'nginx-daemonset' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.19', resources: { requests: { cpu: '50m', memory: '100Mi' }, limits: { cpu: '100m', memory: '200Mi' } } }] },
    },
  },
};

/** Cold starts, resets and memory of the embedded engine, each on a fresh cluster of its own. */
async function benchCluster(runs: number): Promise<Figure[]> {
  await ensureBinaries();
  const start: number[] = [];
  const reset: number[] = [];
  const idle: number[] = [];
  const peak: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-bench-'));
    const provider = embeddedProvider({ stateDir, portBase: BENCH_PORT_BASE, runner: processRunner });
    try {
      let began = performance.now();
      await provider.up();
      start.push(performance.now() - began);
      process.stderr.write(`  run ${run + 1}/${runs}: cold start ${formatDuration(start.at(-1)!)}`);

      const connection = await provider.connection();
      const clients = kubeClients(connection.kubeconfig, connection.context);
      await serverSideApply(clients, NGINX);
      await waitFor('nginx on every worker', async () => {
        const pods = (await clients.core.listNamespacedPod({ namespace: 'default' })).items;
        const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === WORKER_NAMES.length ? true : undefined;
      }, 30_000);
      // Idle: the engine with one DaemonSet, a few seconds after it settled.
      await new Promise((r) => setTimeout(r, 5000));
      const pids = (await provider.processes()).map((p) => p.pid);
      idle.push(await memoryMB(pids, 'VmRSS'));

      await clients.core.patchNode({ name: WORKER_NAMES[1]!, body: { metadata: { labels: { disktype: 'ssd' } } } }, MERGE_PATCH);
      await clients.core.patchNode({ name: WORKER_NAMES[2]!, body: { spec: { taints: [{ key: 'special', value: 'true', effect: 'NoSchedule' }] } } }, MERGE_PATCH);
      began = performance.now();
      await provider.reset();
      reset.push(performance.now() - began);
      peak.push(await memoryMB(pids, 'VmHWM'));
      process.stderr.write(`, reset ${formatDuration(reset.at(-1)!)}, idle ${idle.at(-1)!.toFixed(0)} MB\n`);
    } finally {
      await provider.down({ purge: true });
      await rm(stateDir, { recursive: true, force: true });
    }
  }
  return [
    { metric: 'cold start (binaries cached) → nodes Ready, DaemonSet schedulable', samples: start, unit: 'ms', target: 10_000 },
    { metric: 'reset', samples: reset, unit: 'ms', target: 3_000 },
    { metric: 'idle memory of the engine (RSS, one DaemonSet)', samples: idle, unit: 'MB', target: 600 },
    { metric: 'peak memory of the engine (sum of VmHWM)', samples: peak, unit: 'MB' },
  ];
}

/** Sum of the memory the kind node containers use now (Podman's cgroup accounting), in MB. */
async function kindNodesMemoryMB(): Promise<number> {
  const out = execFileSync('podman', ['ps', '--filter', `label=io.x-k8s.kind.cluster=${CLUSTER_NAME}`, '--format', '{{.ID}}']).toString().trim().split('\n').filter(Boolean);
  let bytes = 0;
  for (const id of out) {
    const stats = JSON.parse(execFileSync('podman', ['container', 'stats', '--no-stream', '--no-reset', '--format', 'json', id]).toString()) as Array<{ mem_usage: string }>;
    const used = stats[0]?.mem_usage.split('/')[0]?.trim() ?? '0B';
    const [, value, unit] = used.match(/^([\d.]+)\s*([kMGT]?B)$/i) ?? [];
    const scale: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
    bytes += Number(value ?? 0) * (scale[unit ?? 'B'] ?? 1);
  }
  return bytes / 1024 / 1024;
}

/**
 * kind (node image cached) beside the embedded engine: cold start of each, alternating in one run,
 * so the ratio compares like with like on the same loaded machine; and kind's memory for 4 nodes.
 */
async function benchKind(runs: number): Promise<Figure[]> {
  const kindRunner = processRunner;
  const probe = kindProvider({ stateDir: tmpdir(), portBase: 0, runner: kindRunner });
  const availability = await probe.availability();
  if (!availability.usable) throw new Error(`kind cannot run here: ${availability.reason}`);
  const embeddedStart: number[] = [];
  const kindStart: number[] = [];
  const kindMemory: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-bench-kind-'));
    const embedded = embeddedProvider({ stateDir: join(stateDir, 'embedded'), portBase: BENCH_PORT_BASE + 3000, runner: processRunner });
    const kind = kindProvider({ stateDir: join(stateDir, 'kind'), portBase: 0, runner: kindRunner });
    try {
      await kind.down();
      // The node image is built before timing: the figure is a cold start with the image cached.
      await chooseNodeImage(kindRunner, 'podman');
      let began = performance.now();
      await embedded.up();
      embeddedStart.push(performance.now() - began);
      await embedded.down({ purge: true });
      began = performance.now();
      await kind.up();
      kindStart.push(performance.now() - began);
      await new Promise((r) => setTimeout(r, 10_000));
      kindMemory.push(await kindNodesMemoryMB());
      process.stderr.write(`  run ${run + 1}/${runs}: embedded ${formatDuration(embeddedStart.at(-1)!)}, kind ${formatDuration(kindStart.at(-1)!)} (${(kindStart.at(-1)! / embeddedStart.at(-1)!).toFixed(1)}×), kind nodes ${kindMemory.at(-1)!.toFixed(0)} MB\n`);
    } finally {
      await embedded.down({ purge: true });
      await kind.down();
      await rm(stateDir, { recursive: true, force: true });
    }
  }
  const ratios = kindStart.map((k, i) => k / embeddedStart[i]!);
  process.stdout.write(`\nkind cold start / embedded cold start (same runs): median ${median(ratios).toFixed(1)}×\n`);
  return [
    { metric: 'embedded cold start → 4 nodes Ready, schedulable', samples: embeddedStart, unit: 'ms' },
    { metric: 'kind cold start (node image cached) → 4 nodes Ready, schedulable', samples: kindStart, unit: 'ms' },
    { metric: 'kind: memory of the 4 node containers (idle, after start)', samples: kindMemory, unit: 'MB' },
  ];
}

/** Labs whose check and reset are timed: the simplest, one with a tainted node, one with broken pods. */
const BENCH_LABS = ['first-daemonset', 'tolerations', 'troubleshoot-crashloop'] as const;

/** Median and p95 of one `check` and one `reset`, per lab, on a fresh embedded cluster. */
async function benchLabs(runs: number): Promise<Figure[]> {
  const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-bench-labs-'));
  const provider = embeddedProvider({ stateDir, portBase: BENCH_PORT_BASE, runner: processRunner });
  const engine = createLabEngine({ provider, stateDir });
  try {
    await provider.up();
    const figures: Figure[] = [];
    for (const id of BENCH_LABS) {
      const { check, reset } = await benchmarkLab(engine, id, Math.max(runs, 5));
      process.stderr.write(`  ${id}: check ${formatDuration(median(check))}, reset ${formatDuration(median(reset))}\n`);
      figures.push({ metric: `lab check (${id})`, samples: check, unit: 'ms', target: 200 });
      figures.push({ metric: `lab reset (${id})`, samples: reset, unit: 'ms', target: 3_000 });
    }
    return figures;
  } finally {
    engine.close();
    await provider.down({ purge: true });
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Terminal echo latency over the WebSocket, and lab page → usable terminal in Chromium. */
async function benchWorkspace(runs: number): Promise<Figure[]> {
  const cluster = await startTestCluster('bench-workspace', BENCH_PORT_BASE);
  const workspace = await startTestWorkspace(cluster.info);
  const browser = await launchChromium();
  try {
    await workspace.engine.start('first-daemonset');
    const echo = await measureEchoLatency(workspace.server, 'first-daemonset', 300);
    const toTerminal = await measureTimeToTerminal(workspace.server, browser, 'first-daemonset', Math.max(runs, 5));
    return [
      { metric: 'terminal keystroke echo over the WebSocket', samples: echo, unit: 'ms' },
      { metric: 'open a lab page → usable terminal (Chromium)', samples: toTerminal, unit: 'ms' },
    ];
  } finally {
    await browser.close();
    await workspace.close();
    await cluster.stop();
  }
}

/** Gzipped JavaScript per page type of the production build (built first when missing). */
function benchPageWeight(): Figure[] {
  const dist = join(REPO_ROOT, 'dist');
  if (!existsSync(join(dist, 'index.html'))) {
    process.stderr.write('Building the site (npm run build)…\n');
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/astro/bin/astro.mjs'), 'build'], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    });
  }
  const weights = measureSiteJsWeights(dist);
  const kb = (bytes: number) => bytes / 1024;
  const figures: Figure[] = [
    { metric: 'home page JS before a lab opens (gzip, incl. search on demand)', samples: [kb(weights.home.totalBytes)], unit: 'KB', target: 100 },
    { metric: `heaviest of ${weights.lesson.lessonCount} lesson pages, JS (gzip, incl. search on demand)`, samples: [kb(weights.lesson.totalBytes)], unit: 'KB', target: 100 },
  ];
  const labPage = join(dist, 'labs', 'first-daemonset', 'index.html');
  if (existsSync(labPage)) {
    const lab = measurePageJs(labPage, dist);
    figures.push({ metric: 'lab page JS (gzip, Monaco and xterm included)', samples: [kb(lab.totalBytes)], unit: 'KB' });
  }
  return figures;
}

await runCli(async () => {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, only: { type: 'string' }, 'stability-runs': { type: 'string', default: '20' }, 'stability-labs': { type: 'string' }, 'grade-cli-runs': { type: 'string', default: '3' }, kind: { type: 'boolean' } } });
  const runs = Math.max(1, Number(values.runs));
  const only = values.only;
  if (!only || only === 'cluster') {
    process.stderr.write(`Embedded engine, ${runs} runs (each on a fresh cluster):\n`);
    printTable('Embedded cluster engine', await benchCluster(runs));
  }
  if (!only || only === 'labs') {
    process.stderr.write('Labs, on a fresh embedded cluster:\n');
    printTable('Lab engine', await benchLabs(runs));
  }
  if (!only || only === 'site') printTable('Page weight (production build, one measurement: the build is deterministic)', benchPageWeight());
  if (!only || only === 'workspace') {
    process.stderr.write('Lab workspace, on a fresh embedded cluster:\n');
    printTable('Lab workspace', await benchWorkspace(runs));
  }
  if (!only || only === 'hub') {
    process.stderr.write('Classroom hub, 200 learners on simulated nodes (pods simulated by kwok):\n');
    printTable('Classroom hub (pods simulated: their own start-up is not included)', await benchHub(runs));
  }
  if (!only || only === 'grade') {
    process.stderr.write('lab grade, the CLI from a cold start (its own cluster each run):\n');
    const cliRuns = Math.max(0, Number(values['grade-cli-runs']));
    if (cliRuns) printTable('Grading (lab grade)', await benchGradeCli(cliRuns));
    const stabilityRuns = Math.max(1, Number(values['stability-runs']));
    process.stderr.write(`Verdict stability, ${stabilityRuns} reruns each on one cluster:\n`);
    const stabilityLabs = values['stability-labs']?.split(',');
    process.stdout.write(`\nGrading verdict stability\n${(await benchGradeStability(stabilityRuns, stabilityLabs)).join('\n')}\n`);
  }
  if (only === 'kind' || values.kind) {
    const kindRuns = process.argv.includes('--runs') ? runs : 1;
    process.stderr.write(`kind beside the embedded engine, ${kindRuns} run(s):\n`);
    printTable('kind engine (real kubelets under Podman) beside the embedded engine', await benchKind(kindRuns));
  }
  return 0;
});
