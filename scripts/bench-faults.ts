/**
 * The faults section of `npm run bench` (`--only faults`): what a learner keeps and how the page
 * recovers when parts die with SIGKILL. The workspace server runs in a child process on a fresh
 * embedded cluster; every outcome is counted (never assumed) and every recovery timed.
 *   - the server, killed while saving a file (at the moment its temporary copy exists);
 *   - the server, killed during a lab reset;
 *   - kube-apiserver, killed while checks run (then `cluster up`, as the page's button does);
 *   - the whole engine, killed during a DaemonSet rollout (then `cluster up`).
 */
import { watch } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import WebSocket from 'ws';
import { LabSummarySchema } from '../src/shared/lab-summary.ts';
import { embeddedProvider } from '../src/server/cluster/providers/embedded.ts';
import { processRunner } from '../src/server/cluster/providers/runner.ts';
import { connectTestCluster, type TestClusterInfo } from '../tests/support/test-cluster.ts';
import { startServerProcess } from './bench-load.ts';

type ServerProcess = Awaited<ReturnType<typeof startServerProcess>>;

/** Outcomes (counted) and recovery times (ms) of the fault runs. */
export interface FaultResult {
  readonly outcomes: string[];
  readonly serverRestartMs: number[];
  readonly apiServerRecoveryMs: number[];
  readonly engineRecoveryMs: number[];
}

const LAB = 'first-daemonset';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const call = (server: ServerProcess, path: string, method = 'GET', body?: string) =>
  fetch(`${server.origin}${path}`, { method, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'text/plain' }, ...(body === undefined ? {} : { body }) });

async function kill9(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const gone = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await gone;
}

/** A page's events socket: the live events it received, and a wait for one that matches. */
class EventsPage {
  readonly events: Array<{ at: number; event: { type: string; cluster?: { state: string }; report?: { passed?: boolean } } }> = [];
  readonly socket: WebSocket;
  constructor(server: ServerProcess) {
    this.socket = new WebSocket(`${server.origin.replace(/^http/, 'ws')}/api/labs/${LAB}/events`, { headers: { authorization: `Bearer ${server.token}` } });
    this.socket.on('message', (data) => this.events.push({ at: performance.now(), event: JSON.parse(String(data)) }));
    this.socket.on('error', () => undefined);
  }
  async waitFor(what: string, match: (event: EventsPage['events'][number]['event']) => boolean, after: number, timeoutMs = 180_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.at >= after && match(e.event));
      if (found) return found.at;
      if (performance.now() > deadline) throw new Error(`The page never saw ${what}`);
      await pause(50);
    }
  }
}

/** Every file below dir, relative (hidden ones too). */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

function progressIntact(stateDir: string): boolean {
  const db = new DatabaseSync(join(stateDir, 'progress.sqlite'));
  try {
    return (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check === 'ok';
  } finally {
    db.close();
  }
}

async function restart(stateDir: string, info: TestClusterInfo, times: number[]): Promise<ServerProcess> {
  const started = performance.now();
  const server = await startServerProcess(stateDir, info);
  times.push(performance.now() - started);
  return server;
}

/** The server killed while saving, `rounds` times: the file is old or new text, never part; no temporary copy stays. */
async function killDuringSave(info: TestClusterInfo, rounds: number, result: FaultResult): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-faults-save-'));
  const workspace = join(stateDir, 'workspaces', LAB);
  const texts = new Set<string>();
  const text = (n: number) => `# version ${n}\n${`# filler ${n}\n`.repeat(30_000)}`;
  let next = 0;
  let whole = 0;
  for (let round = 0; round < rounds; round++) {
    const server = await restart(stateDir, info, result.serverRestartMs);
    if (round === 0) {
      texts.add(text(next));
      await call(server, `/api/labs/${LAB}/files/daemonset.yaml`, 'PUT', text(next++));
    }
    const writing = new Promise<void>((resolve) => {
      const watcher = watch(workspace, (_event, name) => name !== 'daemonset.yaml' && resolve());
      void pause(2000).then(() => resolve());
      server.child.once('exit', () => watcher.close());
    });
    const saves = Array.from({ length: 4 }, () => {
      texts.add(text(next));
      return call(server, `/api/labs/${LAB}/files/daemonset.yaml`, 'PUT', text(next++)).catch(() => undefined);
    });
    await writing;
    await kill9(server);
    await Promise.all(saves);
    if (texts.has(await readFile(join(workspace, 'daemonset.yaml'), 'utf8'))) whole++;
  }
  const last = await restart(stateDir, info, result.serverRestartMs);
  const leftovers = (await allFiles(workspace)).filter((f) => f !== 'daemonset.yaml').length;
  await kill9(last);
  result.outcomes.push(`server killed mid-save, ${rounds}×: file whole (old or new text) ${whole}/${rounds}; temporary files left after the next start: ${leftovers}`);
}

/** The server killed during a lab reset, `rounds` times: the learner's edit is in the workspace or .backup/, the start files are there after reopening. */
async function killDuringReset(info: TestClusterInfo, rounds: number, result: FaultResult): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-faults-reset-'));
  const workspace = join(stateDir, 'workspaces', LAB);
  let kept = 0;
  let reopened = 0;
  let intact = 0;
  let server = await restart(stateDir, info, result.serverRestartMs);
  await call(server, `/api/labs/${LAB}/start`, 'POST');
  // The lab's own start files (what reset restores and the editor opens), as the page lists them.
  const { startFiles } = LabSummarySchema.parse(await (await call(server, `/api/labs/${LAB}`)).json());
  const edited = startFiles[0];
  if (!edited) throw new Error(`Lab ${LAB} lists no start file`);
  for (let round = 0; round < rounds; round++) {
    const edit = `# the learner's edit ${round} ${Date.now()}\n`;
    await call(server, `/api/labs/${LAB}/files/${edited}`, 'PUT', edit);
    const reset = call(server, `/api/labs/${LAB}/reset`, 'POST').catch(() => undefined);
    await pause(Math.random() * 3000);
    await kill9(server);
    await reset;
    server = await restart(stateDir, info, result.serverRestartMs);
    // What the page does when it opens.
    await call(server, `/api/labs/${LAB}/start`, 'POST');
    const files = await allFiles(workspace);
    const contents = await Promise.all(files.map((f) => readFile(join(workspace, f), 'utf8')));
    if (contents.includes(edit)) kept++;
    const opened = await Promise.all(startFiles.map(async (file) => (await call(server, `/api/labs/${LAB}/files/${file}`)).ok));
    if (opened.every(Boolean)) reopened++;
    if (progressIntact(stateDir)) intact++;
  }
  await kill9(server);
  result.outcomes.push(`server killed during a lab reset, ${rounds}× (random moment in 0–3 s): learner's edit kept (workspace or .backup/) ${kept}/${rounds}; every start file (${startFiles.join(', ')}) opens after reopening ${reopened}/${rounds}; progress.sqlite intact ${intact}/${rounds}`);
}

/** The steps of a check report, passed or not, in order: what the page shows. */
async function checkVerdicts(server: ServerProcess): Promise<string | undefined> {
  const answer = await call(server, `/api/labs/${LAB}/check`, 'POST').catch(() => undefined);
  if (!answer?.ok) return undefined;
  const report = (await answer.json()) as { steps: Array<{ id: string; passed: boolean }> };
  return report.steps.map((s) => `${s.id}:${s.passed}`).join(',');
}

/**
 * kube-apiserver killed while checks run; then `cluster up` (the page's button): time until the
 * page has the running cluster again on its open events socket and a check answers with the
 * verdicts it had before. (Live reports are pushed only when they change, so an unchanged
 * verdict after recovery is asked for, as the Check button does.)
 */
async function killApiServer(info: TestClusterInfo, rounds: number, result: FaultResult): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-faults-api-'));
  const provider = embeddedProvider({ stateDir: info.stateDir, portBase: info.portBase, runner: processRunner });
  const server = await startServerProcess(stateDir, info);
  let survived = 0;
  let sawDown = 0;
  let same = 0;
  try {
    await call(server, `/api/labs/${LAB}/start`, 'POST');
    const page = new EventsPage(server);
    for (let round = 0; round < rounds; round++) {
      const before = await checkVerdicts(server);
      const checking = call(server, `/api/labs/${LAB}/check`, 'POST').catch(() => undefined);
      const apiServer = (await provider.processes()).find((p) => p.component === 'kube-apiserver');
      if (!apiServer) throw new Error('kube-apiserver is not running');
      const killedAt = performance.now();
      process.kill(apiServer.pid, 'SIGKILL');
      await checking;
      await page.waitFor('the cluster down', (e) => e.type === 'cluster' && e.cluster?.state !== 'running', killedAt, 30_000).then(() => sawDown++, () => undefined);
      if ((await call(server, '/api/labs').catch(() => undefined))?.ok) survived++;
      const upAt = performance.now();
      await call(server, '/api/cluster/up', 'POST');
      await page.waitFor('the cluster running after up', (e) => e.type === 'cluster' && e.cluster?.state === 'running', upAt);
      let after: string | undefined;
      while (!(after = await checkVerdicts(server)) && performance.now() - upAt < 120_000) await pause(200);
      if (after && after === before) same++;
      result.apiServerRecoveryMs.push(performance.now() - upAt);
    }
    if (page.socket.readyState !== WebSocket.OPEN) result.outcomes.push('the events socket closed during the kube-apiserver faults');
    page.socket.close();
  } finally {
    await kill9(server);
  }
  result.outcomes.push(`kube-apiserver killed during a check, ${rounds}×: server kept answering ${survived}/${rounds}; page told the cluster is down ${sawDown}/${rounds}; after cluster up, running on the same events socket and the same verdicts as before the kill ${same}/${rounds}`);
}

/** The whole engine killed during a DaemonSet rollout; then `cluster up`: the rollout completes. */
async function killEngineDuringRollout(info: TestClusterInfo, rounds: number, result: FaultResult): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-faults-engine-'));
  const cluster = connectTestCluster(info);
  const provider = embeddedProvider({ stateDir: info.stateDir, portBase: info.portBase, runner: processRunner });
  const server = await startServerProcess(stateDir, info);
  let completed = 0;
  try {
    const page = new EventsPage(server);
    const manifest = (image: string) => JSON.stringify({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'fault-rollout', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'fault-rollout' } }, updateStrategy: { rollingUpdate: { maxUnavailable: 1 } }, template: { metadata: { labels: { app: 'fault-rollout' } }, spec: { containers: [{ name: 'web', image }] } } },
    });
    await cluster.kubectl(['apply', '-f', '-'], manifest('nginx:1.19'));
    await cluster.kubectl(['rollout', 'status', 'ds/fault-rollout', '--timeout=120s']);
    for (let round = 0; round < rounds; round++) {
      const image = round % 2 ? 'nginx:1.19' : 'nginx:1.20';
      await cluster.kubectl(['apply', '-f', '-'], manifest(image));
      await pause(300 + Math.random() * 700);
      for (const p of await provider.processes()) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      const upAt = performance.now();
      const up = await call(server, '/api/cluster/up', 'POST');
      if (!up.ok) result.outcomes.push(`engine killed mid-rollout, round ${round + 1}: cluster up answered HTTP ${up.status}: ${(await up.text()).slice(0, 300)}`);
      const status = await cluster.kubectl(['rollout', 'status', 'ds/fault-rollout', '--timeout=180s']);
      const images = await cluster.kubectl(['get', 'pods', '-l', 'app=fault-rollout', '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
      if (status.code === 0 && images.stdout.split(' ').every((i) => i === image)) completed++;
      else result.outcomes.push(`engine killed mid-rollout, round ${round + 1}: not complete after 180 s: ${(status.stdout + status.stderr).trim().split('\n').at(-1)}; pod images ${images.stdout}`);
      await page.waitFor('the cluster running again', (e) => e.type === 'cluster' && e.cluster?.state === 'running', upAt, 60_000).catch(() => undefined);
      result.engineRecoveryMs.push(performance.now() - upAt);
    }
    page.socket.close();
    await cluster.kubectl(['delete', 'ds/fault-rollout', '--wait=false']);
  } finally {
    await kill9(server);
  }
  result.outcomes.push(`whole engine killed during a DaemonSet rollout, ${rounds}×: after cluster up the rollout completed with every pod on the new image ${completed}/${rounds}`);
}

/** Runs every fault `rounds` times on the cluster `info` describes. */
export async function benchFaults(info: TestClusterInfo, rounds: number): Promise<FaultResult> {
  const result: FaultResult = { outcomes: [], serverRestartMs: [], apiServerRecoveryMs: [], engineRecoveryMs: [] };
  const stages: Array<[string, () => Promise<void>]> = [
    ['server killed mid-save', () => killDuringSave(info, Math.max(rounds, 10), result)],
    ['server killed mid-reset', () => killDuringReset(info, rounds, result)],
    ['kube-apiserver killed mid-check', () => killApiServer(info, rounds, result)],
    ['engine killed mid-rollout', () => killEngineDuringRollout(info, rounds, result)],
  ];
  // A fault that is not recovered from is an outcome to print, not the end of the section.
  for (const [name, run] of stages) {
    await run().catch((error: unknown) => result.outcomes.push(`${name}: NOT RECOVERED: ${error instanceof Error ? error.message : String(error)}`));
  }
  return result;
}
