/**
 * The embedded engine: a real etcd, kube-apiserver, kube-controller-manager and kube-scheduler run
 * by kwokctl's binary runtime, with nodes and kubelets simulated by kwok (see ../embedded/simulation).
 * Every listener binds 127.0.0.1; kwok's exec is never configured, so `kubectl exec` runs nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { PRIVATE_FILE_MODE, writeFileAtomic } from '../../atomic-file.ts';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { EnvironmentError } from '../../errors.ts';
import { binaryDir, binaryPaths, chooseBinarySource, ensureBinaries, missingBinaries, missingBinariesReason, waysToGetBinaries, type BinaryPaths } from '../binaries.ts';
import { addNode, addNodes, applyBaseline, removeNode, resetToBaseline, waitUntilSchedulable } from '../baseline.ts';
import { kubeClients, waitFor, type KubeClients } from '../kube.ts';
import { CLUSTER_NAME, type NewNode, type NodeTemplate } from '../topology.ts';
import { deleteNodeLeases, releaseLeaderLeases, releaseNodeLeases } from '../embedded/node-leases.ts';
import { agentComponent, prepareAgent, renderSimulationConfig } from '../embedded/simulation/simulation.ts';
import type { ProviderContext } from './context.ts';
import type { ClusterConnection, ClusterProvider, ClusterStatus, ProviderAvailability } from './provider.ts';
import { clusterPki, componentPatches } from './embedded-config.ts';
import { nodeSummaries } from './status.ts';
import { PhaseTimings, timingsRequested, type Timer } from '../phase-timings.ts';
import { writeLaunchers } from '../embedded/component-launchers.ts';

/** The local ports of the embedded engine, from the context's port base. */
export function embeddedPorts(portBase: number) {
  return {
    'kube-apiserver': portBase + 43,
    'kwok-controller': portBase + 47,
    'simulated kubelet': portBase + 50,
    'kube-controller-manager': portBase + 57,
    'kube-scheduler': portBase + 59,
    etcd: portBase + 79,
    'etcd peer': portBase + 80,
  } as const;
}

/** The kwokctl component (its pid file's name) that listens on each port of {@link embeddedPorts}. */
const PORT_OWNERS: Record<keyof ReturnType<typeof embeddedPorts>, string> = {
  'kube-apiserver': 'kube-apiserver',
  'kwok-controller': 'kwok-controller',
  'simulated kubelet': 'simulated-kubelet',
  'kube-controller-manager': 'kube-controller-manager',
  'kube-scheduler': 'kube-scheduler',
  etcd: 'etcd',
  'etcd peer': 'etcd',
};

/** Where kwokctl keeps the embedded cluster (configuration, certificates, logs, pid files). */
export function embeddedClusterDir(stateDir: string): string {
  return join(stateDir, 'embedded', 'kwok', 'clusters', CLUSTER_NAME);
}

/** A process of the running engine, for memory measurements. */
export interface EngineProcess {
  readonly component: string;
  readonly pid: number;
}

const BASELINE = { manageNodes: true, engine: 'embedded' } as const;

/** Whether a port on 127.0.0.1 can be bound now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The components that hold a leader lease in kube-system. */
const LEASE_HOLDERS = new Set(['kube-controller-manager', 'kube-scheduler']);

/** The component that holds the simulated nodes' leases (see node-leases.ts). */
const NODE_LEASE_HOLDER = 'kwok-controller';

/**
 * Whether kube-apiserver on 127.0.0.1:port, asked with the cluster's certificate, is ready
 * (`/readyz` answers "ok") or, for `/version`, answers at all: it then takes requests, although
 * some of its start-up work (the system namespaces, RBAC's default roles) may still be under way.
 */
function apiServerAnswers(port: number, pki: ReturnType<typeof clusterPki>, path: '/readyz' | '/version'): Promise<boolean> {
  return new Promise((resolve) => {
    let credentials;
    try {
      credentials = { ca: readFileSync(pki.ca), cert: readFileSync(pki.cert), key: readFileSync(pki.key) };
    } catch {
      return resolve(false); // No certificate yet: kwokctl has not made the cluster.
    }
    const request = httpsGet({ host: '127.0.0.1', port, path, servername: 'localhost', timeout: 2000, agent: false, ...credentials }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 && (path !== '/readyz' || body.trim() === 'ok')));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** Whether a process has exited: no longer in /proc, or a zombie waiting for its parent to reap it. */
async function isGone(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return status === '' || /^State:\s+Z/m.test(status);
}

/** Waits (`timeoutMs` at most) until every one of the processes has exited. */
async function waitUntilGone(processes: readonly EngineProcess[], what: string, timeoutMs: number): Promise<void> {
  await waitFor(what, async () => ((await Promise.all(processes.map(({ pid }) => isGone(pid)))).every(Boolean) ? true : undefined), timeoutMs, 50);
}

/** Sends `signal` to the processes and waits (5 s at most) until every one has exited. */
async function stopProcesses(processes: readonly EngineProcess[], signal: NodeJS.Signals, what: string): Promise<void> {
  for (const { pid } of processes) process.kill(pid, signal);
  await waitUntilGone(processes, what, 5_000);
}

/** How long a kube-apiserver that does not serve may take to exit or to serve before `up` replaces it (a slow start on a busy machine serves within this). */
const API_SERVER_SETTLE_MS = 30_000;

/** Creates the embedded provider for a context. */
export function embeddedProvider(context: ProviderContext): ClusterProvider & {
  processes(): Promise<EngineProcess[]>;
  kwokctlArgs(): Promise<string[]>;
} {
  const ports = embeddedPorts(context.portBase);
  const engineDir = join(context.stateDir, 'embedded');
  const workdir = join(engineDir, 'kwok');
  const clusterDir = embeddedClusterDir(context.stateDir);
  const kubeconfig = join(context.stateDir, 'kubeconfig');
  const kubeContext = `kwok-${CLUSTER_NAME}`;
  const configFile = join(engineDir, 'kwokctl.yaml');
  const simulationFile = join(engineDir, 'simulation.yaml');
  const configHashFile = join(engineDir, 'config.sha256');
  const agentDir = join(engineDir, 'simulated-kubelet');
  /**
   * Written once the API server takes requests and namespace kube-node-lease exists; kwok's
   * launcher waits for it (component-launchers.ts). Earlier, kwok's controller finds no API server
   * (and asks again after 1 s, 2 s, 4 s …) or no namespace for its node leases (again after 1 s).
   */
  const kwokMayStartFile = join(engineDir, 'kwok-controller.may-start');
  /** Written once kube-apiserver takes requests; kwokctl's kubectl launcher waits for it (component-launchers.ts). */
  const apiServerServingFile = join(engineDir, 'kube-apiserver.serving');
  /** Written once `/readyz` answers; the controller manager's and scheduler's launchers wait for it (component-launchers.ts). */
  const controllersMayStartFile = join(engineDir, 'controllers.may-start');
  const launcherGates = { kwokMayStart: kwokMayStartFile, apiServerServing: apiServerServingFile, controllersMayStart: controllersMayStartFile };

  const kwokctl = async (binaries: BinaryPaths, args: string[]) => {
    const result = await context.runner.run(binaries.kwokctl, ['--name', CLUSTER_NAME, ...args], {
      env: { KWOK_WORKDIR: workdir },
    });
    if (result.code !== 0) {
      const lastLines = `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-6).join('\n');
      throw new EnvironmentError(
        `kwokctl ${args.slice(0, 2).join(' ')} failed (exit ${result.code}):\n${lastLines}`,
        `See the component logs in ${join(clusterDir, 'logs')}; \`npm run cluster -- down --purge\` and \`up\` start afresh.`,
      );
    }
    return result;
  };

  /** The kwokctl configuration: our binaries, our ports, 127.0.0.1 only. */
  const kwokctlConfiguration = (binaries: BinaryPaths) => ({
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokctlConfiguration',
    options: {
      runtime: 'binary',
      bindAddress: '127.0.0.1',
      kubeApiserverPort: ports['kube-apiserver'],
      kwokControllerPort: ports['kwok-controller'],
      kubeControllerManagerPort: ports['kube-controller-manager'],
      kubeSchedulerPort: ports['kube-scheduler'],
      etcdPort: ports.etcd,
      etcdPeerPort: ports['etcd peer'],
      kubeApiserverBinary: binaries['kube-apiserver'],
      kubeControllerManagerBinary: binaries['kube-controller-manager'],
      kubeSchedulerBinary: binaries['kube-scheduler'],
      kwokControllerBinary: binaries.kwok,
      etcdBinary: binaries.etcd,
      etcdctlBinary: binaries.etcdctl,
      kubectlBinary: binaries.kubectl,
    },
    // The simulated kubelet's helper (plans pods, serves `kubectl logs`), started and stopped with the cluster.
    components: [agentComponent({ clusterDir, agentDir, kubeletPort: ports['simulated kubelet'], apiServerPort: ports['kube-apiserver'] })],
    componentsPatches: componentPatches(ports, clusterDir),
  });

  /** Whether the API server is ready (`/readyz`), or with `/version`, whether it takes requests. */
  const isServing = async (path: '/readyz' | '/version' = '/readyz'): Promise<boolean> =>
    existsSync(kubeconfig) && (await apiServerAnswers(ports['kube-apiserver'], clusterPki(clusterDir), path));

  /**
   * Waits until the API server is ready (or, with `/version`, takes requests), asked every 50 ms
   * in this process. kwokctl's own `--wait` asks every 500 ms, and a kubectl process per question
   * costs more than the answer. An aborted `signal` stops the wait.
   */
  const waitUntilServing = (path: '/readyz' | '/version' = '/readyz', signal?: AbortSignal) =>
    waitFor(`kube-apiserver to answer ${path}`, async () => ((await isServing(path)) ? true : undefined), 60_000, 50, signal).catch((error: unknown) => {
      if (signal?.aborted) throw error;
      throw new EnvironmentError(
        `The embedded cluster did not become ready: ${error instanceof Error ? error.message : String(error)}.`,
        `See the component logs in ${join(clusterDir, 'logs')}; \`npm run cluster -- down --purge\` and \`up\` start afresh.`,
      );
    });

  /**
   * Waits (30 s at most) until no process of ours is a zombie. A component killed a moment ago
   * stays one until whoever adopted it reaps it, and until then kwokctl takes it for running and
   * starts no new one: the cluster would come up without, say, its controller manager.
   */
  const waitUntilReaped = async (): Promise<void> => {
    const zombies: EngineProcess[] = [];
    for (const running of await provider.processes()) if (await isGone(running.pid)) zombies.push(running);
    if (zombies.length === 0) return;
    const reaped = async () => (zombies.every(({ pid }) => !existsSync(`/proc/${pid}`)) ? true : undefined);
    // Not reaped in time: start anyway; a later `up` starts what is still missing.
    await waitFor('the killed engine processes to be reaped', reaped, 30_000, 50).catch(() => undefined);
  };

  /** The components kwokctl started once (they have a pid file) whose process is gone (reaped). */
  const exitedComponents = async (): Promise<string[]> => {
    const pidDir = join(clusterDir, 'pids');
    if (!existsSync(pidDir)) return [];
    const running = new Set((await provider.processes()).map((p) => p.component));
    return (await readdir(pidDir)).map((file) => file.replace(/\.pid$/, '')).filter((component) => !running.has(component));
  };

  /**
   * Starts again any component that has exited (kwokctl never restarts one, and `start cluster`
   * starts only those not running). Returns their names.
   */
  const reviveExited = async (binaries: BinaryPaths, clients: KubeClients): Promise<string[]> => {
    await waitUntilReaped();
    const exited = await exitedComponents();
    if (exited.length === 0) return exited;
    // A dead controller manager or scheduler still holds its leader lease: free it, so the new
    // one leads at once instead of after the lease's 60 s.
    await releaseLeaderLeases(clients, new Set(exited), new Date()).catch(() => undefined);
    await kwokctl(binaries, ['start', 'cluster']);
    return exited;
  };

  /**
   * Fails naming the first port another program holds. Ports of components of this cluster that
   * still run (only kube-apiserver was killed, say) are theirs, not another program's.
   */
  const assertPortsFree = async () => {
    const ours = new Set((await provider.processes()).map((p) => p.component));
    for (const [component, port] of Object.entries(ports)) {
      if (ours.has(PORT_OWNERS[component as keyof typeof ports])) continue;
      if (!(await portIsFree(port))) {
        throw new EnvironmentError(
          `Port ${port} on 127.0.0.1, which the embedded cluster's ${component} needs, is in use by another program.`,
          `Stop the program that uses port ${port} (\`ss -ltnp 'sport = :${port}'\` shows it), or move every port: DAEMONSET_LAB_PORT_BASE=${context.portBase + 1000} npm run cluster -- up`,
        );
      }
    }
  };

  /**
   * A kube-apiserver of ours that does not serve is either still dying (killed a moment ago: it
   * holds its pid for a few milliseconds more, and `kwokctl start cluster` then takes it for
   * running and starts no new one) or hung. Wait until it has gone or serves; one still neither
   * after {@link API_SERVER_SETTLE_MS} is stopped, so the start that follows replaces it.
   */
  const settleApiServer = async (): Promise<void> => {
    const apiServer = (await provider.processes()).find((p) => p.component === 'kube-apiserver');
    if (!apiServer) return;
    // Gone means no /proc entry at all: kwokctl takes a zombie not yet reaped for a running
    // kube-apiserver, starts none, and waits for ever for it to serve.
    const vanished = () => !existsSync(`/proc/${apiServer.pid}`);
    const settled = await waitFor('kube-apiserver to exit or serve', async () => (vanished() || (await isServing()) ? true : undefined), API_SERVER_SETTLE_MS, 50).catch(() => false);
    if (settled) return;
    try {
      process.kill(apiServer.pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
    await waitFor('the hung kube-apiserver to exit', async () => (vanished() ? true : undefined), 10_000, 50);
  };

  // The site polls this every few seconds: one API call, and no kubectl process, per poll.
  const status = async (): Promise<ClusterStatus> => {
    const base = { provider: 'embedded' as const, kubeconfig, context: kubeContext };
    if (!existsSync(clusterDir)) {
      return { ...base, running: false, nodes: [], summary: 'not created: run `npm run cluster -- up`' };
    }
    const nodes = existsSync(kubeconfig) ? await nodeSummaries(kubeClients(kubeconfig, kubeContext)).catch(() => undefined) : undefined;
    if (!nodes) {
      return { ...base, running: false, nodes: [], summary: 'stopped: run `npm run cluster -- up` to start it again' };
    }
    const ready = nodes.filter((n) => n.ready).length;
    return { ...base, running: true, nodes, summary: `running, ${ready} of ${nodes.length} nodes Ready` };
  };

  /** Stops kwok's controller, then frees the node leases it held, while the API server still runs. */
  const handBackNodeLeases = async (running: readonly EngineProcess[]) => {
    const holders = running.filter(({ component }) => component === NODE_LEASE_HOLDER);
    await stopProcesses(holders, 'SIGKILL', "kwok's controller to exit").catch(() => undefined);
    // Best effort: without it the next `up` waits for the leases to run out, as before.
    await releaseNodeLeases(kubeClients(kubeconfig, kubeContext)).catch(() => undefined);
  };

  /**
   * After a resume, frees the leases that components killed before it held (renewed before
   * `resumedAt`; after `down` they were handed back already), so their successors need not wait
   * for them to run out. The new controller manager and scheduler ask every 2 s and lead at once,
   * instead of after their 60 s lease with no DaemonSet controller meanwhile; the new kwok
   * controller, which found the node leases taken, takes them at its next look, within 50 s
   * instead of the 200 s they would take to run out.
   */
  const takeBackLeases = async (clients: KubeClients, resumedAt: Date, died: ReadonlySet<string>) => {
    // Best effort: without it the cluster recovers when the leases run out.
    await releaseLeaderLeases(clients, died, resumedAt).catch(() => undefined);
    // A kwok controller that survived (only kube-apiserver was killed) keeps its leases: freed,
    // they would leave every node unmanaged until its next look, up to 50 s.
    if (died.has(NODE_LEASE_HOLDER)) await releaseNodeLeases(clients, resumedAt).catch(() => undefined);
  };

  /**
   * Runs the kwokctl command that starts the engine and, meanwhile, waits here until the API server
   * takes requests (kwokctl asks with a kubectl process every 200 ms, and exits only after).
   * Resolves then, with kwokctl's own run still to be awaited; fails at once if kwokctl does.
   */
  const startServing = async (start: () => Promise<unknown>, t: Timer): Promise<{ readonly kwokctl: Promise<unknown> }> => {
    const abandon = new AbortController();
    const started = start();
    const failed = started.then(
      () => new Promise<never>(() => {}),
      (error: unknown) => {
        abandon.abort(error);
        throw error;
      },
    );
    await Promise.race([t('wait until it takes requests', () => waitUntilServing('/version', abandon.signal)), failed]);
    await writeFile(apiServerServingFile, '');
    await chmod(kubeconfig, PRIVATE_FILE_MODE);
    // Wrapped: an async function returning the promise itself would wait for it.
    return { kwokctl: started };
  };

  /**
   * Applies the baseline as soon as the API server takes requests: until its start-up work is done
   * some writes are refused (kube-system does not exist yet), and are sent again every 100 ms.
   */
  const applyBaselineWhenAccepted = (clients: KubeClients) =>
    waitFor('the API server to accept the cluster\'s nodes and system objects', async () => {
      await applyBaseline(clients, BASELINE);
      return true;
    }, 60_000, 100);

  /**
   * Starts the engine's processes (resuming a cluster made with this configuration, or making it
   * afresh) and returns as soon as the API server takes requests, with the rest of kwokctl's run
   * (`finished`) and, for a resume, what the leases need.
   */
  const startEngine = async (binaries: BinaryPaths, t: Timer) => {
    // The engine's folder holds the cluster's private key: only its owner may enter it.
    await mkdir(engineDir, { recursive: true, mode: 0o700 });
    await chmod(engineDir, 0o700);
    // Launchers wait for these files: gone until the API server serves again.
    await Promise.all(Object.values(launcherGates).map((file) => rm(file, { force: true })));
    const [launched] = await Promise.all([
      t('launchers', () => writeLaunchers(join(engineDir, 'launchers'), binaries, launcherGates)),
      t('prepare agent', () => prepareAgent(agentDir)),
    ]);
    const configuration = stringify(kwokctlConfiguration(launched));
    const simulation = renderSimulationConfig({ kubeletPort: ports['simulated kubelet'] });
    const hash = createHash('sha256').update(configuration).update(simulation).digest('hex');
    const previousHash = existsSync(configHashFile) ? (await readFile(configHashFile, 'utf8')).trim() : '';
    const created = existsSync(join(clusterDir, 'kwok.yaml'));
    await t('ports free?', assertPortsFree);
    if (created && hash === previousHash) {
      const resumedAt = new Date();
      await waitUntilReaped();
      const diedBeforeResume: ReadonlySet<string> = new Set(await exitedComponents());
      const kwokWasRunning = (await provider.processes()).some(({ component }) => component === NODE_LEASE_HOLDER);
      const { kwokctl: finished } = await startServing(() => t('kwokctl start cluster', () => kwokctl(binaries, ['start', 'cluster'])), t);
      return { finished, resumedAt, diedBeforeResume, kwokWasRunning };
    }
    // A new project version may simulate nodes differently: start from fresh configuration.
    if (created) await t('kwokctl delete cluster', () => kwokctl(binaries, ['delete', 'cluster', '--kubeconfig', kubeconfig]));
    await writeFileAtomic(configFile, configuration);
    await writeFileAtomic(simulationFile, simulation);
    const { kwokctl: creating } = await startServing(async () => t('kwokctl create cluster', async () => kwokctl(binaries, await provider.kwokctlArgs())), t);
    // Whole or not at all, and only once kwokctl has saved the cluster: a torn or early hash
    // would make the next start delete the cluster, or resume one never finished.
    const finished = creating.then(() => writeFileAtomic(configHashFile, `${hash}\n`));
    return { finished, resumedAt: undefined, diedBeforeResume: new Set<string>(), kwokWasRunning: false };
  };

  /**
   * Lets kwok's controller start (see {@link kwokMayStartFile}) once namespace kube-node-lease
   * exists, or after 30 s whatever happened: kwok copes, only later.
   */
  const letKwokStart = async (clients: KubeClients) => {
    const leaseNamespace = async () => ((await clients.core.readNamespace({ name: 'kube-node-lease' })) ? true : undefined);
    await waitFor('namespace kube-node-lease', leaseNamespace, 30_000, 50).catch(() => undefined);
    await writeFile(kwokMayStartFile, '');
  };

  /**
   * Until `done` is aborted, starts again (every second) any component that exits: the controller
   * manager gives up when the API server is not healthy within 10 s of its start, which on a busy
   * machine happens during `up`, and nothing else would start it before the wait below timed out.
   */
  const reviveUntil = async (binaries: BinaryPaths, clients: KubeClients, done: AbortSignal) => {
    try {
      for (;;) {
        await sleep(1000, undefined, { signal: done });
        // Best effort: the wait's own timeout still says what did not come up.
        if ((await exitedComponents()).length > 0) await reviveExited(binaries, clients).catch(() => undefined);
      }
    } catch {
      // Aborted: the cluster is usable, or the wait gave up.
    }
  };

  /**
   * Waits until every node is Ready and pods can be made, with `apiServerReady` (shared with the
   * controllers' gate, so `/readyz` is asked by one loop); revives a component that gave up meanwhile.
   */
  const waitUntilUsable = async (binaries: BinaryPaths, clients: KubeClients, apiServerReady: () => Promise<void>, t: Timer) => {
    const done = new AbortController();
    const reviving = reviveUntil(binaries, clients, done.signal);
    try {
      await Promise.all([t('wait for /readyz', apiServerReady), waitUntilSchedulable(clients, 60_000, t)]);
    } finally {
      done.abort();
      await reviving;
    }
  };

  /** `up`, each phase timed with `t`. */
  const upTimed = async (t: Timer): Promise<ClusterStatus> => {
    const binaries = await t('binaries', () => ensureBinaries());
    if (!(await t('is serving?', () => isServing()))) await t('settle api server', settleApiServer);
    const started = (await isServing()) ? undefined : await startEngine(binaries, t);
    // Never left unhandled while the baseline goes in; awaited below.
    started?.finished.catch(() => undefined);
    // A component started again below (kwokctl start cluster) finds the API server serving.
    if (!started) await writeFile(apiServerServingFile, '');
    const clients = kubeClients(kubeconfig, kubeContext);
    // One loop asks /readyz; the resume, the controllers' gate and the last wait share its answer.
    let readiness: Promise<void> | undefined;
    const apiServerReady = () => (readiness ??= waitUntilServing().then(() => undefined));
    if (started?.resumedAt) {
      // The leases are read and freed once: the API server must be ready for that. A new kwok
      // controller starts after: one that found its nodes' leases taken would wait for them.
      await t('wait for /readyz', apiServerReady);
      await t('take back leases', () => takeBackLeases(clients, started.resumedAt, started.diedBeforeResume));
      // Best effort, as above: without it kwok may take some nodes only 50 s later (node-leases.ts).
      if (!started.kwokWasRunning) await t('delete node leases', () => deleteNodeLeases(clients).catch(() => undefined));
    }
    // Not awaited: `waitUntilUsable` below waits for what the controllers do.
    t('start controllers', () => apiServerReady().then(() => writeFile(controllersMayStartFile, ''))).catch(() => undefined);
    const kwokStarts = t('start kwok', () => letKwokStart(clients));
    await t('apply baseline', () => applyBaselineWhenAccepted(clients));
    await kwokStarts;
    await t('kwokctl to finish', async () => started?.finished);
    await t('revive exited', () => reviveExited(binaries, clients));
    await waitUntilUsable(binaries, clients, apiServerReady, t);
    return status();
  };

  const provider = {
    name: 'embedded' as const,
    canChangeNodes: true,

    async availability(): Promise<ProviderAvailability> {
      const missing = await missingBinaries();
      if (missing.length === 0) return { usable: true, reason: `the Kubernetes binaries are cached in ${binaryDir()}` };
      const source = await chooseBinarySource();
      if (source === 'none') {
        return { usable: false, reason: missingBinariesReason(missing), fix: waysToGetBinaries() };
      }
      return { usable: true, reason: `the Kubernetes binaries will be ${source === 'build' ? 'built from Go modules' : 'downloaded'} first` };
    },

    async kwokctlArgs(): Promise<string[]> {
      return ['-c', configFile, '-c', simulationFile, 'create', 'cluster', '--kubeconfig', kubeconfig];
    },

    async up(): Promise<ClusterStatus> {
      const timings = new PhaseTimings();
      try {
        return await upTimed((phase, work) => timings.time(phase, work));
      } finally {
        if (timingsRequested()) process.stderr.write(timings.format('embedded up'));
      }
    },

    async down(options: { purge?: boolean } = {}): Promise<string> {
      if (!existsSync(clusterDir)) return `Nothing to stop: no embedded cluster exists in ${workdir}.`;
      const binaries = binaryPaths();
      // kwokctl returns once it has signalled the components; wait until they have exited and
      // freed their ports, so an `up` right after `down` never finds them busy.
      const running = await provider.processes();
      const exited = async () => {
        await waitUntilGone(running, 'the engine processes to exit', 15_000);
        // Their sockets can linger a few seconds after exit (FIN-WAIT towards clients that kept
        // connections open), and until then the ports cannot be bound again.
        await waitFor('the engine ports to be free', async () => ((await Promise.all(Object.values(ports).map(portIsFree))).every(Boolean) ? true : undefined), 30_000, 200);
      };
      if (options.purge) {
        await kwokctl(binaries, ['delete', 'cluster', '--kubeconfig', kubeconfig]);
        await exited();
        return 'Deleted the embedded cluster and its data.';
      }
      if (!(await isServing())) return 'The embedded cluster is already stopped.';
      // kwokctl stops every component with SIGKILL. The controller manager and the scheduler
      // are asked first, so they hand back their leader leases as they exit: otherwise the next
      // `up` would have no DaemonSet controller until the old lease ran out.
      const leaders = running.filter(({ component }) => LEASE_HOLDERS.has(component));
      await stopProcesses(leaders, 'SIGTERM', 'the controller manager and scheduler to exit').catch(() => undefined);
      await handBackNodeLeases(running);
      await kwokctl(binaries, ['stop', 'cluster']);
      await exited();
      return 'Stopped the embedded cluster; its data is kept, and `up` resumes it.';
    },

    status,

    async reset(): Promise<void> {
      await resetToBaseline(kubeClients(kubeconfig, kubeContext), BASELINE);
    },

    async connection(): Promise<ClusterConnection> {
      return { kubeconfig, context: kubeContext, kubectlDir: dirname(binaryPaths().kubectl) };
    },

    async addNode(node: NewNode): Promise<string> {
      return addNode(kubeClients(kubeconfig, kubeContext), node);
    },

    async addNodes(count: number, template: NodeTemplate): Promise<string[]> {
      return addNodes(kubeClients(kubeconfig, kubeContext), count, template);
    },

    async removeNode(name: string): Promise<void> {
      await removeNode(kubeClients(kubeconfig, kubeContext), name);
    },

    async processes(): Promise<EngineProcess[]> {
      const pidDir = join(clusterDir, 'pids');
      if (!existsSync(pidDir)) return [];
      const found: EngineProcess[] = [];
      for (const file of await readdir(pidDir)) {
        const pid = Number((await readFile(join(pidDir, file), 'utf8')).trim());
        if (pid > 0 && existsSync(`/proc/${pid}`)) found.push({ component: file.replace(/\.pid$/, ''), pid });
      }
      return found;
    },
  };
  return provider;
}
