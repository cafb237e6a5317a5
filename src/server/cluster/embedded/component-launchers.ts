/**
 * What kwokctl runs for each component of the embedded engine: a small shell launcher per binary
 * instead of the binary itself. Two things in kwokctl's start cost seconds a launcher saves, and
 * neither changes what runs once a component is up (the launcher `exec`s the real binary, so the
 * pid kwokctl records, the command line and the signals are the binary's own):
 *
 * - Before it starts anything, `kwokctl create cluster` asks each of five binaries for
 *   `--version`, one after another: five loads of 60–100 MB programs, 0.5 s on an idle two-core
 *   machine and several seconds on a busy one. A launcher answers from the binary's own output,
 *   asked once per binary (in parallel) and kept in the cache beside the binaries.
 * - kwok's controller, started together with kube-apiserver, asks the API server whether it is
 *   ready and, while it is not, waits 1 s, 2 s, 4 s … before it asks again (kwok
 *   pkg/kwok/cmd/root.go, waitForReady): a controller that started a moment too early began
 *   managing the nodes up to seconds after the API server served. Its launcher waits for the
 *   `kwokMayStart` file that `up` writes once the API server takes requests and its node-lease
 *   namespace exists (30 s at most, after which it starts anyway, as before), so kwok's first
 *   questions are answered.
 * - kube-controller-manager and kube-scheduler, started together with kube-apiserver, spent their
 *   start-up CPU while the API server spent its own (two cores), then failed their first leader
 *   lease try (no API server yet) and tried again only 2–4.4 s later, and the controller manager
 *   asks `/healthz` once a second: its DaemonSet controller ran 0.7–2.5 s after the API server was
 *   ready. Their launchers wait for the `controllersMayStart` file that `up` writes once
 *   `/readyz` answers (30 s at most): both then lead at their first try and start at once
 *   (bench: cold start median 6.2 s → 5.5 s, p95 7.5 s → 6.2 s, same machine and load).
 * - While the API server starts, kwokctl asks it every 200 ms whether it serves, each time with a
 *   new kubectl process (`kubectl get --raw /version`): CPU the starting components need on two
 *   cores. kwokctl's kubectl launcher asks only once `up` has seen the API server take requests
 *   (the `apiServerServing` file; 30 s at most), so the one kubectl process it starts succeeds.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../atomic-file.ts';
import { cacheDir } from '../../paths.ts';
import type { BinaryPaths } from '../binaries.ts';

/** The binaries kwokctl asks `--version` of and runs as components. */
export const LAUNCHED_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
type LaunchedBinary = (typeof LAUNCHED_BINARIES)[number];

/** How long kwok's launcher waits for the API server before it starts kwok anyway. */
const READY_WAIT_SECONDS = 30;

const versionCacheSchema = z
  .record(
    z.string().describe('absolute path of the binary'),
    z.object({
      size: z.number().int().nonnegative().describe('size in bytes when asked'),
      mtimeMs: z.number().describe('modification time when asked'),
      output: z.string().describe('what `<binary> --version` printed'),
    }),
  )
  .describe('`--version` output of each engine binary, valid while the file is unchanged');
type VersionCache = z.infer<typeof versionCacheSchema>;

/** Where the `--version` answers are kept: the cache, beside the binaries, shared by every cluster. */
function versionCacheFile(): string {
  return join(cacheDir(), 'binary-versions.json');
}

async function readVersionCache(): Promise<VersionCache> {
  const file = versionCacheFile();
  if (!existsSync(file)) return {};
  const parsed = versionCacheSchema.safeParse(JSON.parse(await readFile(file, 'utf8').catch(() => '{}')));
  // A damaged cache is asked afresh: it only ever saves time.
  return parsed.success ? parsed.data : {};
}

/** What `binary --version` prints (stdout and stderr, as kwokctl reads it); fails on a non-zero exit. */
function askVersion(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${binary} --version exited with ${code}: ${output.trim()}`))));
  });
}

/** The `--version` output of each launched binary: from the cache while the binary is unchanged, else asked (in parallel) and cached. */
export async function binaryVersions(binaries: BinaryPaths): Promise<Record<LaunchedBinary, string>> {
  const cache = await readVersionCache();
  let changed = false;
  const entries = await Promise.all(
    LAUNCHED_BINARIES.map(async (name) => {
      const path = binaries[name];
      const { size, mtimeMs } = await stat(path);
      const cached = cache[path];
      if (cached && cached.size === size && cached.mtimeMs === mtimeMs) return [name, cached.output] as const;
      const output = await askVersion(path);
      cache[path] = { size, mtimeMs, output };
      changed = true;
      return [name, output] as const;
    }),
  );
  if (changed) {
    // Best effort: a cache that cannot be written (a read-only home) only costs the next start time.
    await mkdir(cacheDir(), { recursive: true })
      .then(() => writeFileAtomic(versionCacheFile(), `${JSON.stringify(cache, null, 2)}\n`))
      .catch(() => undefined);
  }
  return Object.fromEntries(entries) as Record<LaunchedBinary, string>;
}

/** `text` as one single-quoted shell word. */
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** What one launcher does before it runs its binary. */
export interface LauncherPlan {
  /** The real binary. */
  readonly binary: string;
  /** What `--version` prints, answered without running the binary; asked of the binary when absent. */
  readonly version?: string;
  /** A file to wait for (30 s at most) before running the binary… */
  readonly waitFor?: string;
  /** …only when the arguments, joined by spaces, contain this (always when absent). */
  readonly waitWhenArgsContain?: string;
}

/** The launcher script for one binary. */
export function launcherScript(plan: LauncherPlan): string {
  const lines = ['#!/bin/sh', '# Written by daemonset-lab at every start (src/server/cluster/embedded/component-launchers.ts).'];
  if (plan.version !== undefined) {
    lines.push('if [ "$#" -eq 1 ] && [ "$1" = --version ]; then', `  printf '%s' ${shellQuote(plan.version)}`, '  exit 0', 'fi');
  }
  if (plan.waitFor !== undefined) {
    const wait = `tries=0; while [ ! -e ${shellQuote(plan.waitFor)} ] && [ "$tries" -lt ${READY_WAIT_SECONDS * 20} ]; do sleep 0.05; tries=$((tries + 1)); done`;
    if (plan.waitWhenArgsContain === undefined) lines.push(wait);
    else lines.push(`case " $* " in *${shellQuote(` ${plan.waitWhenArgsContain} `)}*) ${wait} ;; esac`);
  }
  lines.push(`exec ${shellQuote(plan.binary)} "$@"`, '');
  return lines.join('\n');
}

/** Files `up` writes to let launchers go on (see the file's comment). */
export interface LauncherGates {
  /** kwok's controller may start: the API server takes requests and its node-lease namespace exists. */
  readonly kwokMayStart: string;
  /** The API server takes requests (kwokctl's kubectl then asks it whether it serves). */
  readonly apiServerServing: string;
  /** The API server is healthy: the controller manager and the scheduler may start. */
  readonly controllersMayStart: string;
}

/** The plan of each launcher. */
function launcherPlans(binaries: BinaryPaths, versions: Record<LaunchedBinary, string>, gates: LauncherGates): Partial<Record<keyof BinaryPaths, LauncherPlan>> {
  const plans: Partial<Record<keyof BinaryPaths, LauncherPlan>> = {};
  for (const name of LAUNCHED_BINARIES) plans[name] = { binary: binaries[name], version: versions[name] };
  plans.kwok = { ...plans.kwok!, waitFor: gates.kwokMayStart };
  for (const name of ['kube-controller-manager', 'kube-scheduler'] as const) plans[name] = { ...plans[name]!, waitFor: gates.controllersMayStart };
  plans.kubectl = { binary: binaries.kubectl, waitFor: gates.apiServerServing, waitWhenArgsContain: 'get --raw /version' };
  return plans;
}

/**
 * Writes a launcher for each binary kwokctl runs into `dir` and returns the binary paths with
 * those replaced by their launchers.
 */
export async function writeLaunchers(dir: string, binaries: BinaryPaths, gates: LauncherGates): Promise<BinaryPaths> {
  const plans = launcherPlans(binaries, await binaryVersions(binaries), gates);
  await mkdir(dir, { recursive: true });
  const launched: Partial<BinaryPaths> = {};
  await Promise.all(
    Object.entries(plans).map(async ([name, plan]) => {
      const path = join(dir, name);
      const script = launcherScript(plan);
      // A launcher may be running (kwok's waits): a new file takes its place, the old one is left
      // whole for the shell still reading it.
      if ((await readFile(path, 'utf8').catch(() => '')) !== script) {
        await rm(`${path}.new`, { force: true });
        await writeFile(`${path}.new`, script, { mode: 0o755 });
        await rename(`${path}.new`, path);
      }
      launched[name as keyof BinaryPaths] = path;
    }),
  );
  return { ...binaries, ...launched };
}
