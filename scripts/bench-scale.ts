/**
 * The embedded engine's scale curve for `npm run bench -- --only scale`: for each cluster size,
 * on a fresh cluster, the time until every node is Ready, until a new DaemonSet is Ready on every
 * worker, and until its rolling update (maxUnavailable 10%) is done; whether any Ready count fell
 * (a flap); the engine's memory and CPU seconds; and the machine's load beside each figure,
 * because the machine may be shared.
 */
import { readFile } from 'node:fs/promises';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { Watch, type KubeConfig, type V1DaemonSet, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { addNodes } from '../src/server/cluster/baseline.ts';
import { MERGE_PATCH, kubeClients, serverSideApply, waitFor, type KubeClients } from '../src/server/cluster/kube.ts';
import { isNodeReady } from '../src/server/cluster/readiness.ts';
import type { EngineProcess } from '../src/server/cluster/providers/embedded.ts';
import type { ClusterProvider } from '../src/server/cluster/providers/provider.ts';
import { TOPOLOGY } from '../src/server/cluster/topology.ts';
import { formatDuration } from '../src/server/progress.ts';

/** One cluster size's figures. */
export interface ScalePoint {
  readonly nodes: number;
  /** Creating the extra nodes → every node Ready. */
  readonly nodesReadyMs: number;
  /** Then → kube-proxy and kindnet Ready on every node. */
  readonly systemReadyMs: number;
  /** A new DaemonSet applied → Ready on every worker (`kubectl get ds` READY = DESIRED). */
  readonly daemonSetReadyMs: number;
  /** Its image changed → every pod updated and Ready again. */
  readonly rolloutMs: number;
  /** Every Ready count that fell while it should only rise; empty when nothing flapped. */
  readonly flaps: readonly string[];
  /** Resident memory of the engine's processes after the rollout, and their peak. */
  readonly memoryMB: number;
  readonly peakMB: number;
  /** CPU seconds the engine's processes used from the first new node to the end of the rollout. */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  /** /proc/loadavg (1-minute) when the size started and when it ended. */
  readonly load: readonly [number, number];
  /** Per phase (new DaemonSet, rollout): CPU seconds by component, and the API server's busiest requests. */
  readonly phases: Readonly<Record<string, PhaseCost>>;
}

/** What one phase cost: CPU seconds by component, and API server requests by verb and resource. */
export interface PhaseCost {
  readonly cpuSeconds: Readonly<Record<string, number>>;
  /** `VERB resource[/subresource][ code]` (the code when not 2xx) → requests, the busiest first. */
  readonly requests: Readonly<Record<string, number>>;
}

/** A fresh embedded cluster's provider: it starts the cluster and lists the engine's processes. */
export type ScaleProvider = ClusterProvider & { processes(): Promise<EngineProcess[]> };

const BENCH_DAEMONSET = 'scale-bench';

function benchDaemonSet(image: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: BENCH_DAEMONSET, namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: BENCH_DAEMONSET } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
      template: {
        metadata: { labels: { app: BENCH_DAEMONSET } },
        spec: { containers: [{ name: 'nginx', image, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

/** The machine's 1-minute load average. */
export async function loadAverage(): Promise<number> {
  return Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]);
}

/** CPU seconds (user + system) each engine process has used so far, by component. */
async function cpuSeconds(processes: readonly EngineProcess[]): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const { component, pid } of processes) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces) start at field 3; utime, stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    result[component] = (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return result;
}

/** Sum over processes of a /proc/<pid>/status field in kB (VmRSS now, VmHWM peak), in MB. */
export async function memoryMB(pids: readonly number[], field: 'VmRSS' | 'VmHWM'): Promise<number> {
  let kb = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    kb += Number(status.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
  }
  return kb / 1024;
}

/** The API server's request counts so far (apiserver_request_total), by verb, resource and refusal code. */
async function apiServerRequests(config: KubeConfig): Promise<Map<string, number>> {
  const options: RequestOptions = {};
  await config.applyToHTTPSOptions(options);
  const text = await new Promise<string>((resolve, reject) => {
    const request = httpsRequest(new URL('/metrics', config.getCurrentCluster()!.server), options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    request.on('error', reject);
    request.end();
  }).catch(() => '');
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1] ?? '';
    const refused = label('code').startsWith('2') ? '' : ` ${label('code')}`;
    const key = `${label('verb')} ${label('resource')}${label('subresource') ? `/${label('subresource')}` : ''}${refused}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

/** Marks a phase's start; `end()` returns what it cost. */
async function phaseMeter(config: KubeConfig, processes: readonly EngineProcess[]): Promise<{ end(): Promise<PhaseCost> }> {
  const [cpuBefore, requestsBefore] = await Promise.all([cpuSeconds(processes), apiServerRequests(config)]);
  return {
    async end() {
      const [cpuAfter, requestsAfter] = await Promise.all([cpuSeconds(processes), apiServerRequests(config)]);
      const requests = [...requestsAfter].map(([key, n]) => [key, n - (requestsBefore.get(key) ?? 0)] as const).filter(([, n]) => n >= 50).sort((a, b) => b[1] - a[1]);
      const cpu = Object.entries(cpuAfter).map(([component, seconds]) => [component, Math.round((seconds - (cpuBefore[component] ?? 0)) * 10) / 10]);
      return { cpuSeconds: Object.fromEntries(cpu), requests: Object.fromEntries(requests) };
    },
  };
}

/** Keeps a watched collection up to date, re-watching when the server ends a watch. */
class Watched<T extends { metadata?: { name?: string; namespace?: string } }> {
  readonly items = new Map<string, T>();
  private abort?: AbortController;
  private stopped = false;

  private readonly config: KubeConfig;
  private readonly path: string;
  private readonly onChange: () => void;

  constructor(config: KubeConfig, path: string, onChange: () => void) {
    this.config = config;
    this.path = path;
    this.onChange = onChange;
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    try {
      this.abort = await new Watch(this.config).watch(this.path, {}, (phase, object: T) => {
        const key = `${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
        if (phase === 'DELETED') this.items.delete(key);
        else this.items.set(key, object);
        this.onChange();
      }, () => this.restartSoon());
    } catch {
      // A busy API server may refuse the new watch (429, a timeout): try again, or the collection
      // would stay as it was for the rest of the run.
      this.restartSoon();
    }
  }

  private restartSoon(): void {
    if (!this.stopped) setTimeout(() => void this.start(), 1000);
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}

/** Counts that must only rise, watched while the bench works; a fall is recorded as a flap. */
class FlapWatch {
  readonly flaps: string[] = [];
  private readonly highest = new Map<string, number>();

  /** Records a count; a value below the highest seen is a flap (the ignored keys may fall). */
  observe(key: string, value: number): void {
    const highest = this.highest.get(key) ?? 0;
    if (value < highest) this.flaps.push(`${key} fell from ${highest} to ${value}`);
    this.highest.set(key, Math.max(highest, value));
  }

  forget(key: string): void {
    this.highest.delete(key);
  }
}

/** Ready pods of one DaemonSet revision (the controller-revision-hash label). */
function readyPodsOfRevision(pods: Iterable<V1Pod>, hash: string): number {
  let count = 0;
  for (const pod of pods) {
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready && pod.metadata?.labels?.['controller-revision-hash'] === hash && !pod.metadata.deletionTimestamp) count += 1;
  }
  return count;
}

const isDone = (ds: V1DaemonSet | undefined, desired: number) =>
  ds !== undefined &&
  (ds.status?.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 1) &&
  ds.status?.desiredNumberScheduled === desired &&
  ds.status.updatedNumberScheduled === desired &&
  ds.status.numberReady === desired &&
  (ds.status.numberUnavailable ?? 0) === 0;

/**
 * Waits until `condition` holds; returns how long that took. Conditions read the API server
 * directly: a watch on a busy server can stall without ending, and the bench then waited for ever
 * on what it had last seen (the watches only look for flaps).
 */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<number> {
  const began = performance.now();
  await waitFor(what, async () => ((await condition()) ? true : undefined), timeoutMs, intervalMs);
  return performance.now() - began;
}

/** Measures one cluster size on a fresh engine. */
export async function measureScalePoint(provider: ScaleProvider, nodes: number, say: (line: string) => void): Promise<ScalePoint> {
  const loadBefore = await loadAverage();
  await provider.up();
  const connection = await provider.connection();
  const clients: KubeClients = kubeClients(connection.kubeconfig, connection.context);
  const flaps = new FlapWatch();
  const watchedNodes = new Watched<V1Node>(clients.config, '/api/v1/nodes', () => {
    flaps.observe('Ready nodes', [...watchedNodes.items.values()].filter(isNodeReady).length);
  });
  const daemonSets = new Watched<V1DaemonSet>(clients.config, '/apis/apps/v1/daemonsets', () => {
    for (const [key, ds] of daemonSets.items) if (key !== `default/${BENCH_DAEMONSET}` || !rollingOut) flaps.observe(`${key} numberReady`, ds.status?.numberReady ?? 0);
  });
  let rollingOut = false;
  let newRevision = '';
  const pods = new Watched<V1Pod>(clients.config, `/api/v1/namespaces/default/pods?labelSelector=app%3D${BENCH_DAEMONSET}`, () => {
    if (newRevision) flaps.observe('Ready pods of the new revision', readyPodsOfRevision(pods.items.values(), newRevision));
  });
  await Promise.all([watchedNodes.start(), daemonSets.start(), pods.start()]);
  try {
    const processes = await provider.processes();
    const cpuBefore = await cpuSeconds(processes);
    const workers = nodes - 1;
    const timeout = 120_000 + nodes * 600;
    // kube-proxy's and kindnet's 2,000 pods at 1,000 nodes took over 12 min at load 20 (other work
    // on the machine): wait longer for them rather than lose the DaemonSet figures that follow.
    const systemTimeout = 120_000 + nodes * 1500;

    let began = performance.now();
    if (nodes > TOPOLOGY.length) await addNodes(clients, nodes - TOPOLOGY.length);
    await until('every node Ready', async () => (await clients.core.listNode()).items.filter(isNodeReady).length === nodes, timeout, 1000);
    const nodesReadyMs = performance.now() - began;
    say(`    ${nodes} nodes: all Ready after ${formatDuration(nodesReadyMs)}`);

    const readDaemonSet = (namespace: string, name: string) => clients.apps.readNamespacedDaemonSet({ namespace, name }).catch(() => undefined);
    const system = () => Promise.all(['kube-proxy', 'kindnet'].map((name) => readDaemonSet('kube-system', name)));
    const systemReadyMs = await until('kube-proxy and kindnet Ready on every node', async () => (await system()).every((ds) => isDone(ds, nodes)), systemTimeout);
    say(`    kube-proxy and kindnet Ready on all ${nodes} nodes ${formatDuration(systemReadyMs)} later`);

    const phases: Record<string, PhaseCost> = {};
    let meter = await phaseMeter(clients.config, processes);
    began = performance.now();
    await serverSideApply(clients, benchDaemonSet('nginx:1.19'));
    const bench = () => readDaemonSet('default', BENCH_DAEMONSET);
    await until(`DaemonSet ${BENCH_DAEMONSET} Ready on ${workers} workers`, async () => isDone(await bench(), workers), timeout);
    const daemonSetReadyMs = performance.now() - began;
    say(`    new DaemonSet Ready on ${workers} workers after ${formatDuration(daemonSetReadyMs)}`);
    phases['new DaemonSet'] = await meter.end();

    rollingOut = true;
    flaps.forget(`default/${BENCH_DAEMONSET} numberReady`);
    const before = (await bench())?.metadata?.generation ?? 1;
    meter = await phaseMeter(clients.config, processes);
    began = performance.now();
    await clients.apps.patchNamespacedDaemonSet(
      { name: BENCH_DAEMONSET, namespace: 'default', body: { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.20' }] } } } } },
      MERGE_PATCH,
    );
    await until('the new ControllerRevision', async () => ((await bench())?.metadata?.generation ?? 0) > before, 30_000);
    const revisions = await clients.apps.listNamespacedControllerRevision({ namespace: 'default' });
    newRevision = revisions.items.filter((r) => r.metadata?.ownerReferences?.[0]?.name === BENCH_DAEMONSET).sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0]?.metadata?.labels?.['controller-revision-hash'] ?? '';
    await until(`the rollout of ${BENCH_DAEMONSET}`, async () => isDone(await bench(), workers), timeout);
    const rolloutMs = performance.now() - began;
    say(`    rolling update (maxUnavailable 10%) done after ${formatDuration(rolloutMs)}`);
    phases.rollout = await meter.end();

    const cpuAfter = await cpuSeconds(processes);
    const pids = processes.map((p) => p.pid);
    return {
      nodes,
      nodesReadyMs,
      systemReadyMs,
      daemonSetReadyMs,
      rolloutMs,
      flaps: flaps.flaps,
      memoryMB: await memoryMB(pids, 'VmRSS'),
      peakMB: await memoryMB(pids, 'VmHWM'),
      cpuSeconds: Object.fromEntries(Object.entries(cpuAfter).map(([component, seconds]) => [component, seconds - (cpuBefore[component] ?? 0)])),
      load: [loadBefore, await loadAverage()],
      phases,
    };
  } finally {
    watchedNodes.stop();
    daemonSets.stop();
    pods.stop();
  }
}
