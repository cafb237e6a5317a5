/**
 * npm run bench: speed and memory figures, as medians over several runs, against targets.
 * Never a test: numbers are printed, not asserted.
 *
 *   npm run bench [-- --runs 5] [-- --only cluster|scale|labs|site|workspace|load|faults|hub|grade|kind|classroom] [-- --scale 10,100,1000]
 *                 [-- --load-clients 50 --load-minutes 10] [-- --fault-rounds 3]
 *                 [-- --grade-cli-runs 3 --stability-runs 20 --stability-labs id,…] [-- --timings]
 * The kind section runs with `--only kind` or `--kind` (minutes per run; 1 run unless --runs).
 * The classroom section (`--only classroom`: the hub chart on kind, learners signing in through
 * Chromium, from the warm pool and from cold pods) runs only when asked (about 10 minutes).
 * The scale curve also writes bench-results/scale-curve.svg and .json. `--timings` prints the phases
 * of every embedded `up` (as DAEMONSET_LAB_TIMINGS=1 does).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '../src/server/cli.ts';
import { binaryPaths, ensureBinaries } from '../src/server/cluster/binaries.ts';
import { stringify } from 'yaml';
import { loadAverage, measureScalePoint, memoryMB, type ScalePoint } from './bench-scale.ts';
import { scaleCurveSvg } from './bench-plot.ts';
import { MERGE_PATCH, kubeClients, serverSideApply, waitFor } from '../src/server/cluster/kube.ts';
import { embeddedPorts, embeddedProvider, portIsFree } from '../src/server/cluster/providers/embedded.ts';
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
import { benchClassroomSignIns } from '../tests/kind/classroom-bench.ts';
import { benchGradeCli, benchGradeStability } from './bench-grade.ts';
import { benchLoad } from './bench-load.ts';
import { benchFaults } from './bench-faults.ts';

/** One printed row: a metric, its samples, and the target it should meet (lower is better). */
interface Figure {
  readonly metric: string;
  readonly samples: readonly number[];
  readonly unit: 'ms' | 'MB' | 'KB' | '×';
  readonly target?: number;
  /** Which statistic the target is for (default the median). */
  readonly targetOn?: 'median' | 'p95';
}

/**
 * The first port base from 30400 (in steps of 200: the bare kwokctl cluster takes base + 100)
 * whose ports are all free, so a bench run beside other runs on a shared machine still starts.
 */
async function freeBenchPortBase(preferred = 30400): Promise<number> {
  for (let base = preferred; base < preferred + 4000; base += 200) {
    const ports = [...Object.values(embeddedPorts(base)), ...Object.values(embeddedPorts(base + 100))];
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  return preferred;
}

const BENCH_PORT_BASE = await freeBenchPortBase();

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
  if (unit === '×') return `${value.toFixed(2)}×`;
  return `${value.toFixed(unit === 'MB' ? 0 : 1)} ${unit}`;
}

/** Prints figures as a table: median, p95, target, and median/target (≤ 1.00 meets the target). */
function printTable(title: string, figures: readonly Figure[]): void {
  const rows = figures.map((f) => {
    const m = median(f.samples);
    const judged = f.targetOn === 'p95' ? quantile(f.samples, 0.95) : m;
    return [
      f.metric,
      String(f.samples.length),
      formatValue(m, f.unit),
      formatValue(quantile(f.samples, 0.95), f.unit),
      f.target === undefined ? '—' : `${f.targetOn === 'p95' ? 'p95 ' : ''}${formatValue(f.target, f.unit)}`,
      f.target === undefined ? '—' : `${(judged / f.target).toFixed(2)}${judged <= f.target ? ' ✓' : ' ✗'}`,
    ];
  });
  const header = ['metric', 'runs', 'median', 'p95', 'target', 'ratio to target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
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

/**
 * A bare `kwokctl create cluster` with the same binaries (kwok's default Stages, no nodes, no
 * baseline): the floor our cold start is compared with, measured in the same run.
 */
async function bareKwokctlStart(): Promise<number> {
  const workdir = await mkdtemp(join(tmpdir(), 'daemonset-lab-bench-bare-'));
  const binaries = binaryPaths();
  const ports = embeddedPorts(BENCH_PORT_BASE + 100);
  const config = join(workdir, 'kwokctl.yaml');
  await writeFile(config, stringify({
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokctlConfiguration',
    options: {
      runtime: 'binary', bindAddress: '127.0.0.1',
      kubeApiserverPort: ports['kube-apiserver'], kwokControllerPort: ports['kwok-controller'],
      kubeControllerManagerPort: ports['kube-controller-manager'], kubeSchedulerPort: ports['kube-scheduler'],
      etcdPort: ports.etcd, etcdPeerPort: ports['etcd peer'],
      kubeApiserverBinary: binaries['kube-apiserver'], kubeControllerManagerBinary: binaries['kube-controller-manager'],
      kubeSchedulerBinary: binaries['kube-scheduler'], kwokControllerBinary: binaries.kwok,
      etcdBinary: binaries.etcd, etcdctlBinary: binaries.etcdctl, kubectlBinary: binaries.kubectl,
    },
  }));
  const kwokctl = (args: string[]) => processRunner.run(binaries.kwokctl, ['--name', 'bare', ...args], { env: { KWOK_WORKDIR: workdir } });
  try {
    const began = performance.now();
    const created = await kwokctl(['-c', config, 'create', 'cluster', '--kubeconfig', join(workdir, 'kubeconfig'), '--wait', '60s']);
    const elapsed = performance.now() - began;
    if (created.code !== 0) throw new Error(`bare kwokctl create cluster failed: ${created.stderr.slice(-500)}`);
    return elapsed;
  } finally {
    await kwokctl(['delete', 'cluster', '--kubeconfig', join(workdir, 'kubeconfig')]);
    await rm(workdir, { recursive: true, force: true });
  }
}

/**
 * Cold starts, resets and memory of the embedded engine, each on a fresh cluster of its own, with
 * a bare kwokctl start right after each for the ratio.
 */
async function benchCluster(runs: number): Promise<Figure[]> {
  await ensureBinaries();
  const start: number[] = [];
  const bare: number[] = [];
  const reset: number[] = [];
  const idle: number[] = [];
  const peak: number[] = [];
  const load: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-bench-'));
    const provider = embeddedProvider({ stateDir, portBase: BENCH_PORT_BASE, runner: processRunner });
    try {
      load.push(await loadAverage());
      let began = performance.now();
      await provider.up();
      start.push(performance.now() - began);
      process.stderr.write(`  run ${run + 1}/${runs} (load ${load.at(-1)}): cold start ${formatDuration(start.at(-1)!)}`);

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
      process.stderr.write(`, reset ${formatDuration(reset.at(-1)!)}, idle ${idle.at(-1)!.toFixed(0)} MB`);
    } finally {
      await provider.down({ purge: true });
      await rm(stateDir, { recursive: true, force: true });
    }
    bare.push(await bareKwokctlStart());
    process.stderr.write(`; bare kwokctl create cluster ${formatDuration(bare.at(-1)!)}\n`);
  }
  const ratios = start.map((s, i) => s / bare[i]!);
  process.stderr.write(`  load (1-minute average) at each run's start: ${load.join(', ')}\n`);
  return [
    { metric: 'cold start (binaries cached) → nodes Ready, DaemonSet schedulable', samples: start, unit: 'ms', target: 3_000 },
    { metric: 'bare `kwokctl create cluster --wait`, same binaries (the floor)', samples: bare, unit: 'ms' },
    { metric: 'cold start ÷ bare kwokctl (same run)', samples: ratios, unit: '×' },
    { metric: 'reset', samples: reset, unit: 'ms', target: 3_000 },
    { metric: 'idle memory of the engine (RSS, one DaemonSet)', samples: idle, unit: 'MB', target: 600 },
    { metric: 'peak memory of the engine (sum of VmHWM)', samples: peak, unit: 'MB' },
  ];
}

/** Where the scale curve's plot and data go: beside the bench's other output, never committed. */
const RESULTS_DIR = join(REPO_ROOT, 'bench-results');

/**
 * The scale curve: each size on a fresh embedded cluster; a table on stdout, and
 * bench-results/scale-curve.svg and .json.
 */
async function benchScale(sizes: readonly number[]): Promise<void> {
  await ensureBinaries();
  const points: ScalePoint[] = [];
  for (const nodes of sizes) {
    const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-bench-scale-'));
    const provider = embeddedProvider({ stateDir, portBase: BENCH_PORT_BASE, runner: processRunner });
    process.stderr.write(`  ${nodes} nodes (load ${await loadAverage()}):\n`);
    try {
      points.push(await measureScalePoint(provider, nodes, (line) => process.stderr.write(`${line}\n`)));
    } catch (error) {
      // One size failing (a busy machine) should not lose the others' figures.
      process.stdout.write(`\n${nodes} nodes: no figures: ${error instanceof Error ? error.message : String(error)}\n`);
    } finally {
      await provider.down({ purge: true });
      await rm(stateDir, { recursive: true, force: true });
    }
  }
  if (points.length === 0) return;
  printScaleTable(points);
  await mkdir(RESULTS_DIR, { recursive: true });
  const caption = `npm run bench -- --only scale, ${new Date().toISOString().slice(0, 16)}Z, load ${points.map((p) => `${p.load[0]}→${p.load[1]}`).join(', ')}`;
  await writeFile(join(RESULTS_DIR, 'scale-curve.svg'), scaleCurveSvg(points, caption));
  await writeFile(join(RESULTS_DIR, 'scale-curve.json'), `${JSON.stringify(points, null, 2)}\n`);
  process.stdout.write(`\nPlot: ${join(RESULTS_DIR, 'scale-curve.svg')} (data: scale-curve.json)\n`);
}

/** The scale curve as a table, one row per size, with its targets (for 1,000 nodes) beside it. */
function printScaleTable(points: readonly ScalePoint[]): void {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const header = ['nodes', 'nodes Ready', 'kube-proxy+kindnet', 'new DS Ready', 'rollout 10%', 'flaps', 'memory', 'peak', 'CPU s (apiserver/kcm/kwok/etcd/sched/helper)', 'load'];
  const cpu = (p: ScalePoint) => {
    const c = p.cpuSeconds;
    const parts = ['kube-apiserver', 'kube-controller-manager', 'kwok-controller', 'etcd', 'kube-scheduler', 'simulated-kubelet'].map((k) => (c[k] ?? 0).toFixed(0));
    return `${Object.values(c).reduce((a, b) => a + b, 0).toFixed(0)} (${parts.join('/')})`;
  };
  const rows = points.map((p) => [
    String(p.nodes), seconds(p.nodesReadyMs), seconds(p.systemReadyMs), seconds(p.daemonSetReadyMs), seconds(p.rolloutMs),
    p.flaps.length === 0 ? 'none' : String(p.flaps.length), `${p.memoryMB.toFixed(0)} MB`, `${p.peakMB.toFixed(0)} MB`, cpu(p), `${p.load[0]}→${p.load[1]}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`\nEmbedded engine at scale (targets at 1,000 nodes: new DS ≤ 60 s, rollout ≤ 60 s, no flaps, memory ≤ 2048 MB)\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
  for (const p of points) for (const flap of p.flaps.slice(0, 10)) process.stdout.write(`  flap at ${p.nodes} nodes: ${flap}\n`);
  for (const p of points) {
    for (const [phase, cost] of Object.entries(p.phases)) {
      const cpuText = Object.entries(cost.cpuSeconds).map(([k, v]) => `${k} ${v}`).join(', ');
      const requestText = Object.entries(cost.requests).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
      process.stdout.write(`  ${p.nodes} nodes, ${phase}: CPU s ${cpuText}; requests ${requestText}\n`);
    }
  }
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

/** Many pages on one server: check and echo latency under load, and the server's memory over time. */
async function benchLoadSection(clients: number, minutes: number): Promise<void> {
  const cluster = await startTestCluster('bench-load', BENCH_PORT_BASE);
  try {
    const result = await benchLoad(cluster.info, { clients, durationMs: minutes * 60_000, labId: 'first-daemonset', floodLabId: 'node-agents' });
    printTable(`Load: ${clients} pages on one server for ${minutes} min (samples, not runs)`, [
      { metric: `check over HTTP, ${clients} pages each asking once a second`, samples: result.checkMs, unit: 'ms', target: 200, targetOn: 'p95' },
      { metric: 'check run inside the server (live reports pushed to the pages)', samples: result.serverCheckMs, unit: 'ms' },
      { metric: 'keystroke echo, busy terminal (typing without pause; another shell printing)', samples: result.echoMs, unit: 'ms', target: 20, targetOn: 'p95' },
    ]);
    const rss = result.rssMB;
    const half = rss.filter(([s]) => s >= rss.at(-1)![0] / 2);
    const slope = half.length > 1 ? ((half.at(-1)![1] - half[0]![1]) / Math.max(1, half.at(-1)![0] - half[0]![0])) * 60 : NaN;
    const at = (seconds: number) => rss.reduce((best, point) => (Math.abs(point[0] - seconds) < Math.abs(best[0] - seconds) ? point : best));
    process.stdout.write(
      `server RSS (MB): start ${rss[0]![1].toFixed(0)}, after 1 min ${at(60)[1].toFixed(0)}, end ${rss.at(-1)![1].toFixed(0)}, max ${Math.max(...rss.map(([, mb]) => mb)).toFixed(0)}; ` +
        `second half ${slope >= 0 ? '+' : ''}${slope.toFixed(2)} MB/min (flat is ±1)\n` +
        `check errors ${result.checkErrors}, live events received ${result.eventsReceived}, load average (1 min) ${(await loadAverage()).toFixed(2)}\n`,
    );
  } finally {
    await cluster.stop();
  }
}

/** Parts killed with SIGKILL: what a learner keeps, and how long until the page works again. */
async function benchFaultsSection(rounds: number): Promise<void> {
  const cluster = await startTestCluster('bench-faults', BENCH_PORT_BASE);
  try {
    const result = await benchFaults(cluster.info, rounds);
    printTable('Faults (kill -9; samples, not runs)', [
      { metric: 'workspace server restart → listening', samples: result.serverRestartMs, unit: 'ms' },
      { metric: 'kube-apiserver killed → cluster up → next check on the open events socket', samples: result.apiServerRecoveryMs, unit: 'ms' },
      { metric: 'whole engine killed mid-rollout → cluster up → rollout complete', samples: result.engineRecoveryMs, unit: 'ms' },
    ]);
    for (const outcome of result.outcomes) process.stdout.write(`${outcome}\n`);
  } finally {
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
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, only: { type: 'string' }, 'stability-runs': { type: 'string', default: '20' }, 'stability-labs': { type: 'string' }, 'grade-cli-runs': { type: 'string', default: '3' }, kind: { type: 'boolean' }, 'load-clients': { type: 'string', default: '50' }, 'load-minutes': { type: 'string', default: '10' }, 'fault-rounds': { type: 'string', default: '3' }, scale: { type: 'string', default: '10,100,1000' }, timings: { type: 'boolean' } } });
  // Each embedded `up` prints how long its phases took (src/server/cluster/phase-timings.ts).
  if (values.timings) process.env.DAEMONSET_LAB_TIMINGS = '1';
  const runs = Math.max(1, Number(values.runs));
  const only = values.only;
  if (!only || only === 'cluster') {
    process.stderr.write(`Embedded engine, ${runs} runs (each on a fresh cluster):\n`);
    printTable('Embedded cluster engine', await benchCluster(runs));
  }
  if (!only || only === 'scale') {
    const sizes = values.scale.split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 4)) throw new Error(`--scale takes node counts of at least 4 (the base topology), e.g. 10,100,1000; got "${values.scale}"`);
    process.stderr.write(`Embedded engine at scale: ${sizes.join(', ')} nodes, each on a fresh cluster:\n`);
    await benchScale(sizes);
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
  if (!only || only === 'load') {
    const clients = Number(values['load-clients']);
    const minutes = Number(values['load-minutes']);
    if (!(clients >= 1) || !(minutes > 0)) throw new Error(`--load-clients takes a count ≥ 1 and --load-minutes a duration > 0 (e.g. 0.5); got ${values['load-clients']} and ${values['load-minutes']}`);
    process.stderr.write(`Load: ${clients} pages on one workspace server for ${minutes} min, on a fresh embedded cluster:\n`);
    await benchLoadSection(clients, minutes);
  }
  if (!only || only === 'faults') {
    const rounds = Math.max(1, Number(values['fault-rounds']));
    process.stderr.write(`Faults: server, kube-apiserver and engine killed with SIGKILL, ${rounds} rounds each, on a fresh embedded cluster:\n`);
    await benchFaultsSection(rounds);
  }
  if (!only || only === 'hub') {
    process.stderr.write('Classroom hub, 200 learners on simulated nodes (pods simulated by kwok):\n');
    printTable('Classroom hub (pods simulated: their own start-up is not included)', await benchHub(runs));
  }
  if (!only || only === 'grade') {
    process.stderr.write('lab grade, the CLI from a cold start (its own cluster each run):\n');
    const cliRuns = Math.max(0, Number(values['grade-cli-runs']));
    if (cliRuns) {
      const loadBefore = await loadAverage();
      const figures = await benchGradeCli(cliRuns);
      printTable(`Grading (lab grade), load average ${loadBefore} → ${await loadAverage()} on ${availableParallelism()} cores`, figures);
    }
    const stabilityRuns = Math.max(1, Number(values['stability-runs']));
    process.stderr.write(`Verdict stability, ${stabilityRuns} reruns each on one cluster:\n`);
    const stabilityLabs = values['stability-labs']?.split(',');
    const loadBefore = await loadAverage();
    const stability = await benchGradeStability(stabilityRuns, stabilityLabs);
    process.stdout.write(`\nGrading verdict stability, load average ${loadBefore} → ${await loadAverage()}\n${stability.join('\n')}\n`);
  }
  if (only === 'classroom') {
    const signInRuns = process.argv.includes('--runs') ? runs : 5;
    process.stderr.write(`Classroom on kind: ${signInRuns} learners sign in from the warm pool, then ${signInRuns} from cold pods, one at a time:\n`);
    const figures = await benchClassroomSignIns(signInRuns);
    printTable('Classroom on kind (real pods): Join pressed → a connected terminal, and → the whole lab page (editor loaded too)', [
      { metric: 'sign-in → terminal, warm pool (pod has set up the lab)', samples: figures.warm.terminal, unit: 'ms', target: 2000, targetOn: 'p95' },
      { metric: 'sign-in → whole page, warm pool', samples: figures.warm.page, unit: 'ms' },
      { metric: 'sign-in → terminal, cold pod (image present)', samples: figures.cold.terminal, unit: 'ms', target: 10_000, targetOn: 'median' },
      { metric: 'sign-in → whole page, cold pod', samples: figures.cold.page, unit: 'ms' },
    ]);
  }
  if (only === 'kind' || values.kind) {
    const kindRuns = process.argv.includes('--runs') ? runs : 1;
    process.stderr.write(`kind beside the embedded engine, ${kindRuns} run(s):\n`);
    printTable('kind engine (real kubelets under Podman) beside the embedded engine', await benchKind(kindRuns));
  }
  return 0;
});
