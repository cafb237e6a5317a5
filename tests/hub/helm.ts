/**
 * The Helm binary for the chart tests: built from its Go module by `bash .ci/run` (or the command
 * below) into the project's cache, outside the repository. Missing, the chart tests fail and say
 * how to get it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The Helm release the tests use; .ci/run builds the same one. */
export const HELM_VERSION = 'v3.22.0';

export function helmPath(): string {
  const cache = process.env.DAEMONSET_LAB_CACHE ?? join(homedir(), '.cache', 'daemonset-lab');
  return join(cache, 'helm', HELM_VERSION, 'helm');
}

/** Runs helm; never throws on a non-zero exit. */
export async function helm(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const path = helmPath();
  if (!existsSync(path)) {
    throw new Error(`Helm is not at ${path}. Build it: GOBIN=${join(path, '..')} go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION} (bash .ci/run does this).`);
  }
  try {
    const { stdout, stderr } = await promisify(execFile)(path, [...args], { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
