import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is src/server/paths.ts). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/**
 * Where built or downloaded binaries are kept: outside the repository, shared by every checkout
 * and reused by every later setup. `DAEMONSET_LAB_CACHE` overrides it.
 */
export function cacheDir(): string {
  return resolve(
    process.env.DAEMONSET_LAB_CACHE ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'daemonset-lab'),
  );
}

/**
 * Where running state lives (cluster data, kubeconfig, lab progress, workspaces): outside the
 * repository. `DAEMONSET_LAB_STATE` overrides it, which is how tests get a cluster of their own.
 */
export function stateDir(): string {
  return resolve(
    process.env.DAEMONSET_LAB_STATE ??
      join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'daemonset-lab'),
  );
}
