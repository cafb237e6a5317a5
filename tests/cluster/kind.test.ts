/**
 * The kind engine up to the command boundary: no container engine exists here, so these tests pin
 * the generated configuration and the exact commands kind would run (golden files), and how
 * detection explains what is missing. Set UPDATE_GOLDEN=1 to rewrite the golden files.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { detectKind, kindConfig, kindProvider } from '../../src/server/cluster/providers/kind.ts';
import { recordingRunner, type RecordedCommand } from '../../src/server/cluster/providers/runner.ts';
import { resolveProvider } from '../../src/server/cluster/providers/registry.ts';
import { TOPOLOGY, CLUSTER_NAME, type NodeSpec } from '../../src/server/cluster/topology.ts';
import type { CommandResult } from '../../src/server/cluster/providers/provider.ts';

const goldenDir = fileURLToPath(new URL('golden/', import.meta.url));

/** Compares with a golden file, or writes it when UPDATE_GOLDEN=1. */
async function expectGolden(name: string, actual: string) {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1') await writeFile(file, actual);
  expect(actual).toBe(await readFile(file, 'utf8'));
}

/** A machine with kind and a working Docker (or Podman) daemon, and these kind clusters. */
function machine(options: { engine: 'docker' | 'podman'; clusters: string[] }) {
  return recordingRunner((command, args): Partial<CommandResult> => {
    if (command === 'kind' && args[0] === 'version') return { stdout: 'kind v0.32.0 go1.26.8 linux/amd64\n' };
    if (command === 'kind' && args.join(' ') === 'get clusters') return { stdout: options.clusters.map((c) => `${c}\n`).join('') };
    if (command === 'docker') return options.engine === 'docker' ? { stdout: '28.2.2\n' } : { code: 127, stderr: 'docker: not found' };
    if (command === 'podman') return options.engine === 'podman' ? { stdout: '5.4.0\n' } : { code: 127 };
    return {};
  });
}

/** Commands as a shell would show them, with the temporary state folder as $STATE. */
function render(commands: RecordedCommand[], stateDir: string): string {
  return commands
    .map(({ command, args, env }) => {
      const prefix = Object.entries(env ?? {}).map(([k, v]) => `${k}=${v} `).join('');
      return `${prefix}${command} ${args.join(' ')}`.replaceAll(stateDir, '$STATE');
    })
    .join('\n') + '\n';
}

let stateDir = '';
async function context(runner: ReturnType<typeof machine>) {
  stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-kind-'));
  return { stateDir, portBase: 0, runner };
}
afterEach(async () => {
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('kind configuration', () => {
  it('builds the topology: pinned node image, a control plane and three workers', async () => {
    await expectGolden('kind-config.yaml', kindConfig());
  });

  it('labels nodes with `labels:` and taints them through kubeadm patches', async () => {
    const tainted: NodeSpec[] = [
      ...TOPOLOGY.slice(0, 3),
      { ...TOPOLOGY[3]!, extraLabels: { disktype: 'ssd' }, taints: [{ key: 'special', value: 'true', effect: 'NoSchedule' }] },
    ];
    await expectGolden('kind-config-labels-taints.yaml', kindConfig(tainted));
  });
});

describe('kind commands', () => {
  it('creates the cluster when it does not exist', async () => {
    const runner = machine({ engine: 'docker', clusters: [] });
    await kindProvider(await context(runner)).createCluster();
    await expectGolden('kind-up-fresh.txt', render(runner.commands, stateDir));
    expect(await readFile(join(stateDir, 'kind', 'kind-config.yaml'), 'utf8')).toBe(kindConfig());
  });

  it('reuses a running cluster: up is idempotent', async () => {
    const runner = machine({ engine: 'docker', clusters: ['other', CLUSTER_NAME] });
    await kindProvider(await context(runner)).createCluster();
    await expectGolden('kind-up-existing.txt', render(runner.commands, stateDir));
  });

  it('tells kind to use Podman when Podman is the engine that works', async () => {
    const runner = machine({ engine: 'podman', clusters: [] });
    await kindProvider(await context(runner)).createCluster();
    await expectGolden('kind-up-podman.txt', render(runner.commands, stateDir));
  });

  it('deletes the cluster on down, and is a calm no-op when there is none', async () => {
    const running = machine({ engine: 'docker', clusters: [CLUSTER_NAME] });
    expect(await kindProvider(await context(running)).down()).toBe(`Deleted the kind cluster ${CLUSTER_NAME}.`);
    await expectGolden('kind-down.txt', render(running.commands, stateDir));

    const none = machine({ engine: 'docker', clusters: [] });
    expect(await kindProvider(await context(none)).down()).toBe(`Nothing to stop: there is no kind cluster named ${CLUSTER_NAME}.`);
    expect(none.commands.map((c) => c.args.join(' '))).not.toContain(`delete cluster --name ${CLUSTER_NAME}`);
  });

  it('cannot add or remove nodes, and says which engine can', async () => {
    const provider = kindProvider(await context(machine({ engine: 'docker', clusters: [CLUSTER_NAME] })));
    expect(provider.canChangeNodes).toBe(false);
    await expect(provider.addNode({})).rejects.toThrow('kind cannot add a node to a running cluster');
  });
});

describe('kind detection says why kind is unusable', () => {
  it('when kind is not installed', async () => {
    const runner = recordingRunner(() => ({ code: 127, stderr: 'kind: not found' }));
    const detection = await detectKind(runner);
    expect(detection).toMatchObject({ usable: false, reason: 'kind is not installed (no `kind` on PATH)' });
  });

  it('when no container engine answers', async () => {
    const runner = recordingRunner((command) => {
      if (command === 'kind') return { stdout: 'kind v0.32.0 go1.26.8 linux/amd64' };
      if (command === 'docker') return { code: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' };
      return { code: 127 };
    });
    const detection = await detectKind(runner);
    expect(detection.usable).toBe(false);
    expect(detection.reason).toBe(
      'kind is installed, but there is no working container engine: docker is installed but its daemon does not answer (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?); podman is not installed',
    );
  });

  it('makes auto fall back to the embedded engine and say why', async () => {
    const runner = recordingRunner(() => ({ code: 127 }));
    const resolved = await resolveProvider('auto', { stateDir: '/nonexistent', portBase: 0, runner });
    expect(resolved.provider.name).toBe('embedded');
    expect(resolved.explanation).toBe('auto chose embedded: kind is not usable here (kind is not installed (no `kind` on PATH))');
  });

  it('makes auto choose kind where kind and Docker work', async () => {
    const resolved = await resolveProvider('auto', { stateDir: '/nonexistent', portBase: 0, runner: machine({ engine: 'docker', clusters: [] }) });
    expect(resolved.provider.name).toBe('kind');
    expect(resolved.explanation).toBe('auto chose kind: kind v0.32.0 go1.26.8 linux/amd64 and Docker 28.2.2');
  });
});
