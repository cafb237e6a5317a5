/**
 * `npm run cluster -- …` as a user runs it: exit codes, and errors that name the thing and the fix.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { testClusterEnv } from '../support/test-cluster.ts';

const info = inject('testCluster');
const repo = fileURLToPath(new URL('../..', import.meta.url));

/** Runs scripts/cluster.ts with Node 24 and the given environment; resolves with code and output. */
function cluster(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(repo, 'scripts/cluster.ts'), ...args], { cwd: repo, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const clusterEnv = testClusterEnv(info);
const temporaryDirs: string[] = [];
async function emptyDir(name: string) {
  const dir = await mkdtemp(join(tmpdir(), `daemonset-lab-${name}-`));
  temporaryDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(temporaryDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('npm run cluster', () => {
  it('reports status of the running cluster', async () => {
    const result = await cluster(['status', '--provider', 'embedded'], clusterEnv);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('state: running, 4 of 4 nodes Ready');
  });

  it('prints env lines that a shell can eval to use the project kubectl', async () => {
    const env = await cluster(['env', '--provider', 'embedded'], clusterEnv);
    expect(env.code).toBe(0);
    const shell = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', `${env.stdout}\nkubectl version --client=true -o json | head -c 2000; kubectl get nodes --no-headers | wc -l`], (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(shell).toContain('"gitVersion": "v1.36.1"');
    expect(shell.trim().split('\n').at(-1)).toBe('4');
  });

  it('is idempotent: up on a running cluster just confirms it', async () => {
    const result = await cluster(['up', '--provider', 'embedded'], clusterEnv);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('running, 4 of 4 nodes Ready');
  });

  it('lists the valid providers for an unknown one', async () => {
    const result = await cluster(['up', '--provider', 'minikube'], clusterEnv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown provider "minikube". Valid providers: auto, embedded, kind, existing.');
  });

  it('is a calm no-op when nothing is up', async () => {
    const state = await emptyDir('nothing-up');
    const result = await cluster(['down', '--provider', 'embedded'], { DAEMONSET_LAB_STATE: state });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Nothing to stop: no embedded cluster exists');
  });

  it('names a busy port and the way around it', async () => {
    const state = await emptyDir('busy-port');
    const portBase = 29400;
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(portBase + 43, '127.0.0.1', resolve));
    try {
      const result = await cluster(['up', '--provider', 'embedded'], { DAEMONSET_LAB_STATE: state, DAEMONSET_LAB_PORT_BASE: String(portBase) });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Port ${portBase + 43} on 127.0.0.1, which the embedded cluster's kube-apiserver needs, is in use by another program.`);
      expect(result.stderr).toContain(`DAEMONSET_LAB_PORT_BASE=${portBase + 1000}`);
    } finally {
      blocker.close();
    }
  });

  it('lists the ways to get binaries when there are none and no way to get them', async () => {
    const result = await cluster(['up', '--provider', 'embedded'], {
      DAEMONSET_LAB_STATE: await emptyDir('no-binaries-state'),
      DAEMONSET_LAB_CACHE: await emptyDir('no-binaries-cache'),
      CI: 'true',
      PATH: dirname(process.execPath),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('there is no way to get them here: Go is not installed and downloads are off in CI');
    expect(result.stderr).toContain('1. Install Go');
    expect(result.stderr).toContain('2. On a machine with internet access');
    expect(result.stderr).toContain('3. Put your own');
  });

  it('says so when kind is chosen without a container engine', async () => {
    const result = await cluster(['up', '--provider', 'kind'], { DAEMONSET_LAB_STATE: await emptyDir('kind'), PATH: dirname(process.execPath) });
    expect(result.code).toBe(2);
    // kind itself may be in the project's cache (the kind project installs it there), so the reason is
    // either that kind is missing or, once kind is cached, that neither Docker nor Podman is on PATH.
    expect(result.stderr).toMatch(/The kind engine cannot run here: (kind is not installed \(no `kind` on PATH\)|kind is installed, but there is no working container engine: docker is not installed; podman is not installed)\./);
    expect(result.stderr).toContain('or use --provider embedded');
  });

  it('refuses add-node on an engine that cannot add nodes', async () => {
    const result = await cluster(['add-node', '--provider', 'kind'], { DAEMONSET_LAB_STATE: await emptyDir('kind-add'), PATH: dirname(process.execPath) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('kind cannot add a node to a running cluster');
  });
});
