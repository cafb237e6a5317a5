/**
 * The load section of `npm run bench` (`--only load`): many lab pages on one workspace server.
 * The server runs in a child process of its own (so its memory is its own), on a fresh embedded
 * cluster. Each of `clients` simulated pages holds the events WebSocket (live checks, map,
 * cluster status) and asks for a check once a second, as the Check button would; one terminal is
 * busy (a learner typing without pause, each keystroke's echo timed) while a second lab's shell
 * prints without pause. The server's RSS is sampled throughout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { REPO_ROOT } from '../src/server/paths.ts';
import { TerminalClient } from '../tests/workspace/support.ts';
import { timeOneKeystroke } from '../tests/workspace/measure.ts';
import type { TestClusterInfo } from '../tests/support/test-cluster.ts';

/** What the load run measured (milliseconds and MB samples). */
export interface LoadResult {
  readonly checkMs: number[];
  readonly serverCheckMs: number[];
  readonly echoMs: number[];
  /** [seconds since start, MB] every 5 s. */
  readonly rssMB: Array<[number, number]>;
  readonly checkErrors: number;
  readonly eventsReceived: number;
}

interface ServerProcess {
  readonly child: ChildProcess;
  readonly origin: string;
  readonly token: string;
  readonly pid: number;
}

/** Starts the workspace server in a child process on the cluster `info` describes. */
export async function startServerProcess(stateDir: string, info: TestClusterInfo): Promise<ServerProcess> {
  const script = join(REPO_ROOT, 'tests', 'workspace', 'fixtures', 'crash-child.ts');
  const child = spawn(process.execPath, [script, 'server', stateDir, info.stateDir, String(info.portBase)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the workspace server exited (${code}) before it listened`)));
  });
  return { child, ...(JSON.parse(line) as { origin: string; token: string; pid: number }) };
}

/** The resident memory of a process, in MB (Linux). */
export function rssMB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

const api = (server: ServerProcess, path: string, method = 'GET') =>
  fetch(`${server.origin}${path}`, { method, headers: { authorization: `Bearer ${server.token}` } });

/** One simulated page: the events socket, and a check each second until `stop`. */
async function page(server: ServerProcess, labId: string, stop: () => boolean, result: { checkMs: number[]; serverCheckMs: number[]; errors: number; events: number }): Promise<void> {
  const events = new WebSocket(`${server.origin.replace(/^http/, 'ws')}/api/labs/${labId}/events`, { headers: { authorization: `Bearer ${server.token}` } });
  events.on('message', (data) => {
    result.events++;
    const event = JSON.parse(String(data)) as { type: string; report?: { durationMs?: number } };
    if (event.type === 'report' && typeof event.report?.durationMs === 'number') result.serverCheckMs.push(event.report.durationMs);
  });
  events.on('error', () => result.errors++);
  // Pages open over the first second, not all in the same millisecond.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
  while (!stop()) {
    const started = performance.now();
    const answer = await api(server, `/api/labs/${labId}/check`, 'POST').catch(() => undefined);
    if (answer?.ok) {
      await answer.arrayBuffer();
      result.checkMs.push(performance.now() - started);
    } else result.errors++;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - started))));
  }
  events.close();
}

/** Types without pause into a lab's shell, timing each keystroke's echo, until `stop`. */
async function busyTypist(server: ServerProcess, labId: string, stop: () => boolean, echoMs: number[]): Promise<void> {
  const client = new TerminalClient(`${server.origin.replace(/^http/, 'ws')}/api/labs/${labId}/terminal`, { token: server.token });
  await client.opened();
  await client.waitFor(/[$#] $/, 0, 30_000);
  for (let i = 0; !stop(); i++) {
    echoMs.push(await timeOneKeystroke(client, i));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  client.type('\x15');
  await client.close();
}

/** A shell that prints without pause (output flow control at work), until closed. */
async function floodingShell(server: ServerProcess, labId: string): Promise<TerminalClient> {
  const client = new TerminalClient(`${server.origin.replace(/^http/, 'ws')}/api/labs/${labId}/terminal`, { token: server.token });
  await client.opened();
  await client.waitFor(/[$#] $/, 0, 30_000);
  client.type('while :; do seq 1 2000; sleep 0.1; done\r');
  return client;
}

/**
 * Runs `clients` pages on lab `labId` for `durationMs` against a server in a child process on
 * the cluster `info` describes (the lab is set up first); `floodLabId` gets the printing shell.
 */
export async function benchLoad(info: TestClusterInfo, options: { clients: number; durationMs: number; labId: string; floodLabId: string }): Promise<LoadResult> {
  const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-bench-load-'));
  const server = await startServerProcess(stateDir, info);
  try {
    const started = await api(server, `/api/labs/${options.labId}/start`, 'POST');
    if (!started.ok) throw new Error(`Setting up lab ${options.labId} failed: HTTP ${started.status} ${await started.text()}`);
    const flood = await floodingShell(server, options.floodLabId);
    const end = Date.now() + options.durationMs;
    const stop = () => Date.now() >= end;
    const rss: Array<[number, number]> = [[0, rssMB(server.pid)]];
    const t0 = Date.now();
    const sampler = setInterval(() => rss.push([Math.round((Date.now() - t0) / 1000), rssMB(server.pid)]), 5000);
    const pages = { checkMs: [] as number[], serverCheckMs: [] as number[], errors: 0, events: 0 };
    const echoMs: number[] = [];
    await Promise.all([
      ...Array.from({ length: options.clients }, () => page(server, options.labId, stop, pages)),
      busyTypist(server, options.labId, stop, echoMs),
    ]);
    clearInterval(sampler);
    rss.push([Math.round((Date.now() - t0) / 1000), rssMB(server.pid)]);
    flood.type('\x03');
    await flood.close();
    return { checkMs: pages.checkMs, serverCheckMs: pages.serverCheckMs, echoMs, rssMB: rss, checkErrors: pages.errors, eventsReceived: pages.events };
  } finally {
    server.child.kill('SIGTERM');
  }
}
