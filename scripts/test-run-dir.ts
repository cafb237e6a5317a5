/**
 * Each `npm test` run keeps its temporary folders (test clusters' state, browser profiles,
 * PostgreSQL data) under one folder of its own, given to vitest as TMPDIR. The clusters outlive
 * the processes that started them: kwokctl's components run on their own, and kind's nodes are
 * containers. So a run stopped by a signal, or killed outright, would leave them holding ports and
 * memory for the next run (seen: a stopped CI run's clusters, one started again by a test server
 * still alive). This module takes down the clusters of one run's folder, and sweeps the folders of
 * runs whose process is gone.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterCommand } from '../tests/kind/kind-cluster.ts';

const RUN_DIR_PREFIX = 'daemonset-lab-test-run-';

/**
 * A new folder for this run's temporary files, named after this process (`…-<pid>-XXXXXX`). Others
 * may pass through it but not list it, as through /tmp: the hub tests' PostgreSQL runs as its own
 * user in a folder of its own inside.
 */
export async function createRunDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}-`));
  await chmod(dir, 0o711);
  return dir;
}

/** The processes, other than this one, whose command line names `folder`. */
export async function processesNaming(folder: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.includes(folder)) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Stops every cluster whose state is in `runDir` (one level down): a kind cluster is deleted, and
 * every process whose command line names the folder is killed: an embedded cluster's components,
 * and the kwokctl that was still creating one. Their data is a test's, about to be deleted. A
 * process whose command line does not name the folder is never touched. Resolves to what it
 * stopped, for the run's output.
 */
export async function takeDownClusters(runDir: string): Promise<string[]> {
  if (!existsSync(runDir)) return [];
  const stopped: string[] = [];
  for (const entry of await readdir(runDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const stateDir = join(runDir, entry.name);
    if (existsSync(join(stateDir, 'kubeconfig-kind')) && (await clusterCommand(stateDir, ['down', '--provider', 'kind']).then(() => true, () => false))) {
      stopped.push(`kind cluster of ${entry.name}`);
    }
    const alive = await processesNaming(stateDir);
    for (const pid of alive) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    if (alive.length) stopped.push(`${alive.length} processes of ${entry.name}`);
  }
  return stopped;
}

/** Takes down the clusters of `runDir` and deletes it. */
export async function removeRunDir(runDir: string): Promise<string[]> {
  const stopped = await takeDownClusters(runDir);
  await rm(runDir, { recursive: true, force: true });
  return stopped;
}

/**
 * Removes the folders of earlier runs whose process no longer exists (killed outright, with no
 * chance to clean up), with their clusters. A run still going on is left alone.
 */
export async function sweepAbandonedRuns(): Promise<string[]> {
  const stopped: string[] = [];
  for (const name of await readdir(tmpdir())) {
    const pid = Number(/^daemonset-lab-test-run-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || existsSync(`/proc/${pid}`)) continue;
    stopped.push(...(await removeRunDir(join(tmpdir(), name))));
  }
  return stopped;
}
