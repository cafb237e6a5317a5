/**
 * The shell launchers kwokctl runs instead of the engine's binaries (component-launchers.ts), run
 * for real with `sh` against stand-in binaries that record how they were called: a launcher must
 * pass every argument through unchanged, answer only a bare `--version` itself, and hold a
 * binary back only while its gate file is missing.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { binaryPaths } from '../../src/server/cluster/binaries.ts';
import { launcherScript, writeLaunchers } from '../../src/server/cluster/embedded/component-launchers.ts';
import { waitFor } from '../../src/server/cluster/kube.ts';

const run = promisify(execFile);
let dir: string;

/** A stand-in binary that writes its arguments, one per line, to `<dir>/<name>.calls`, and prints "ran". */
async function standIn(name: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\nprintf '%s\\n' "$@" > '${join(dir, `${name}.calls`)}'\necho ran\n`, { mode: 0o755 });
  return path;
}

async function launcher(name: string, script: string): Promise<string> {
  const path = join(dir, `${name}-launcher`);
  await writeFile(path, script);
  await chmod(path, 0o755);
  return path;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daemonset-lab-launchers-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a component launcher', () => {
  it('answers a bare --version with the cached output, without running the binary', async () => {
    const binary = await standIn('kube-apiserver');
    const path = await launcher('kube-apiserver', launcherScript({ binary, version: "Kubernetes v1.36.1\nit's cached\n" }));
    const { stdout } = await run(path, ['--version']);
    expect(stdout).toBe("Kubernetes v1.36.1\nit's cached\n");
    expect(existsSync(join(dir, 'kube-apiserver.calls'))).toBe(false);
  });

  it('runs the binary with every other argument unchanged, spaces and quotes included', async () => {
    const binary = await standIn('etcd');
    const path = await launcher('etcd', launcherScript({ binary, version: 'etcd Version: 3.5.35\n' }));
    const args = ['--name=node0', '--data-dir', "/tmp/a dir/it's", '--version', '--', '$HOME'];
    const { stdout } = await run(path, args);
    expect(stdout).toBe('ran\n');
    expect((await readFile(join(dir, 'etcd.calls'), 'utf8')).split('\n').slice(0, -1)).toEqual(args);
  });

  it('holds the binary back while its gate file is missing, and runs it once the file exists', async () => {
    const binary = await standIn('kwok');
    const gate = join(dir, 'kwok-controller.may-start');
    const path = await launcher('kwok', launcherScript({ binary, waitFor: gate }));
    const child = spawn(path, ['--manage-all-nodes=true'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(existsSync(join(dir, 'kwok.calls')), 'kwok ran before its gate opened').toBe(false);
    await writeFile(gate, '');
    expect(await exited).toBe(0);
    expect(await readFile(join(dir, 'kwok.calls'), 'utf8')).toBe('--manage-all-nodes=true\n');
  });

  it('waits only for the arguments it is told to: kubectl get --raw /version, not kubectl get nodes', async () => {
    const binary = await standIn('kubectl');
    const gate = join(dir, 'kube-apiserver.serving');
    const path = await launcher('kubectl', launcherScript({ binary, waitFor: gate, waitWhenArgsContain: 'get --raw /version' }));
    expect((await run(path, ['--kubeconfig', '/x', 'get', 'nodes'])).stdout).toBe('ran\n');
    const child = spawn(path, ['--kubeconfig', '/x', 'get', '--raw', '/version'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waitFor('the first call to be recorded', async () => (existsSync(join(dir, 'kubectl.calls')) ? true : undefined), 5000);
    await rm(join(dir, 'kubectl.calls'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(existsSync(join(dir, 'kubectl.calls')), 'kubectl asked before the API server took requests').toBe(false);
    await writeFile(gate, '');
    expect(await exited).toBe(0);
    expect(await readFile(join(dir, 'kubectl.calls'), 'utf8')).toBe('--kubeconfig\n/x\nget\n--raw\n/version\n');
  });
});

describe('writeLaunchers', () => {
  it("gives kwokctl a launcher for each engine binary and kubectl, whose --version is the real binary's", async () => {
    const real = binaryPaths();
    const gates = { kwokMayStart: join(dir, 'kwok.gate'), apiServerServing: join(dir, 'serving.gate'), controllersMayStart: join(dir, 'controllers.gate') };
    const launched = await writeLaunchers(join(dir, 'launchers'), real, gates);
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'kubectl'] as const) {
      expect(launched[name], name).toBe(join(dir, 'launchers', name));
    }
    expect(launched.kwokctl).toBe(real.kwokctl);
    expect(launched.etcdctl).toBe(real.etcdctl);
    for (const name of ['etcd', 'kube-apiserver', 'kwok'] as const) {
      const [fromLauncher, fromBinary] = await Promise.all([run(launched[name], ['--version']), run(real[name], ['--version'])]);
      expect(fromLauncher.stdout + fromLauncher.stderr, name).toBe(fromBinary.stdout + fromBinary.stderr);
    }
  });

  it('holds the controller manager and the scheduler back until the API server is healthy, and nothing else', async () => {
    const gates = { kwokMayStart: join(dir, 'kwok.gate'), apiServerServing: join(dir, 'serving.gate'), controllersMayStart: join(dir, 'controllers.gate') };
    await writeLaunchers(join(dir, 'launchers'), binaryPaths(), gates);
    const script = (name: string) => readFile(join(dir, 'launchers', name), 'utf8');
    for (const name of ['kube-controller-manager', 'kube-scheduler']) expect(await script(name), name).toContain(gates.controllersMayStart);
    for (const name of ['etcd', 'kube-apiserver', 'kwok', 'kubectl']) expect(await script(name), name).not.toContain(gates.controllersMayStart);
  });
});
