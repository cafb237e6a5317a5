/**
 * The kind engine up to the command boundary: these tests pin the generated configuration and the
 * exact commands kind would run (golden files), and how detection explains what is missing. The
 * real kind cluster runs in tests/kind. Set UPDATE_GOLDEN=1 to rewrite the golden files.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectGolden } from './golden.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detectKind, kindConfig, kindProvider } from '../../src/server/cluster/providers/kind.ts';
import { parseHostFacts, podmanHostProblems } from '../../src/server/cluster/kind-image/host.ts';
import { NODE_IMAGE_REPOSITORY } from '../../src/server/cluster/kind-image/node-image.ts';
import { recordingRunner, type RecordedCommand } from '../../src/server/cluster/providers/runner.ts';
import { resolveProvider } from '../../src/server/cluster/providers/registry.ts';
import { COREFILE, TOPOLOGY, CLUSTER_NAME, type NodeSpec } from '../../src/server/cluster/topology.ts';
import { COREDNS_PLUGINS_LEFT_OUT, coreDnsMain } from '../../src/server/cluster/binaries.ts';
import type { CommandResult } from '../../src/server/cluster/providers/provider.ts';



/** What a Podman host set up as .ci/run does says about itself (the host facts script's output). */
const READY_PODMAN_HOST = 'nofile 20000\nnproc 96364\npidmax 32768\nmodules yes\nhybrid yes\nruntime runc\nulimits default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n';

/**
 * A machine with kind and a working Docker (or Podman) daemon, and these kind clusters. Its local
 * node image is the official one (the default), only our offline build, or none at all.
 */
function machine(options: { engine: 'docker' | 'podman'; clusters: string[]; nodeImage?: 'official' | 'offline' | 'none' }) {
  const nodeImage = options.nodeImage ?? 'official';
  return recordingRunner((command, args): Partial<CommandResult> => {
    if (command === 'kind' && args[0] === 'version') return { stdout: 'kind v0.32.0 go1.26.8 linux/amd64\n' };
    if (command === 'kind' && args.join(' ') === 'get clusters') return { stdout: options.clusters.map((c) => `${c}\n`).join('') };
    // kind writes the kubeconfig it is given, which the provider then makes private.
    if (command === 'kind' && (args[0] === 'create' || args[0] === 'export') && args.includes('--kubeconfig')) {
      writeFileSync(args[args.indexOf('--kubeconfig') + 1]!, 'apiVersion: v1\nkind: Config\n');
    }
    if (command === 'bash') return { stdout: READY_PODMAN_HOST };
    if (command === options.engine && args[0] === 'image' && args[1] === 'inspect') return { code: nodeImage === 'official' ? 0 : 1 };
    if (command === 'podman' && args[0] === 'image' && args[1] === 'exists') return { code: nodeImage === 'offline' ? 0 : 1 };
    if (command === 'docker') return options.engine === 'docker' ? { stdout: '28.2.2\n' } : { code: 127, stderr: 'docker: not found' };
    if (command === 'podman') return options.engine === 'podman' ? { stdout: '4.3.1\n' } : { code: 127 };
    return {};
  });
}

// The golden files name the kind command `kind`, wherever this machine keeps it.
const savedKind = process.env.DAEMONSET_LAB_KIND;
beforeAll(() => {
  process.env.DAEMONSET_LAB_KIND = 'kind';
});
afterAll(() => {
  if (savedKind === undefined) delete process.env.DAEMONSET_LAB_KIND;
  else process.env.DAEMONSET_LAB_KIND = savedKind;
});

/** Commands as a shell would show them, with the temporary state folder as $STATE. */
function render(commands: RecordedCommand[], stateDir: string): string {
  return commands
    .map(({ command, args, env }) => {
      const prefix = Object.entries(env ?? {}).map(([k, v]) => `${k}=${v} `).join('');
      const line = command === 'bash' ? 'bash -c <host facts script>' : `${prefix}${command} ${args.join(' ')}`;
      return line.replaceAll(stateDir, '$STATE').replace(new RegExp(`${NODE_IMAGE_REPOSITORY}:v[0-9.]+-[0-9a-f]{12}`, 'g'), `${NODE_IMAGE_REPOSITORY}:<version>-<inputs digest>`);
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
  it('builds the topology: pinned node image, a control plane and three workers, each allocating 2 CPU / 4 GiB', async () => {
    await expectGolden('kind-config.yaml', kindConfig(TOPOLOGY, undefined, { cpus: 2, memoryBytes: 24 * 1024 ** 3 }));
  });

  it('labels nodes with `labels:` and taints them through kubeadm patches', async () => {
    const tainted: NodeSpec[] = [
      ...TOPOLOGY.slice(0, 3),
      { ...TOPOLOGY[3]!, extraLabels: { disktype: 'ssd' }, taints: [{ key: 'special', value: 'true', effect: 'NoSchedule' }] },
    ];
    await expectGolden('kind-config-labels-taints.yaml', kindConfig(tainted, undefined, { cpus: 8, memoryBytes: 16 * 1024 ** 3 }));
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

  it('uses the offline-built node image when the official one is not local', async () => {
    const runner = machine({ engine: 'podman', clusters: [], nodeImage: 'offline' });
    await kindProvider(await context(runner)).createCluster();
    await expectGolden('kind-up-podman-offline-image.txt', render(runner.commands, stateDir));
    const config = await readFile(join(stateDir, 'kind', 'kind-config.yaml'), 'utf8');
    expect(config).toContain(`image: ${NODE_IMAGE_REPOSITORY}:v1.36.1-`);
    expect(config).not.toContain('kindest/node');
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

  it('makes auto keep the embedded engine when kind would first need a long node image build', async () => {
    const runner = machine({ engine: 'podman', clusters: [], nodeImage: 'none' });
    const resolved = await resolveProvider('auto', { stateDir: '/nonexistent', portBase: 0, runner });
    expect(resolved.provider.name).toBe('embedded');
    expect(resolved.explanation).toBe(
      'auto chose embedded: kind could run (kind v0.32.0 go1.26.8 linux/amd64 and Podman 4.3.1) but no kind node image is at hand, and building one offline takes many minutes; `up --provider kind` builds it',
    );
  });

  it('makes auto choose kind where kind and Docker work', async () => {
    const resolved = await resolveProvider('auto', { stateDir: '/nonexistent', portBase: 0, runner: machine({ engine: 'docker', clusters: [] }) });
    expect(resolved.provider.name).toBe('kind');
    expect(resolved.explanation).toBe('auto chose kind: kind v0.32.0 go1.26.8 linux/amd64 and Docker 28.2.2');
  });
});

describe('the Podman host set-up, piece by piece', () => {
  it('is ready when .ci/run has set it up', () => {
    expect(podmanHostProblems(parseHostFacts(READY_PODMAN_HOST))).toEqual([]);
  });

  it('names /lib/modules, the ulimits and crun on a fresh host, each with its fix', () => {
    const fresh = parseHostFacts('nofile 20000\nnproc 96364\npidmax 32768\nmodules no\nhybrid yes\nruntime crun\n');
    const problems = podmanHostProblems(fresh);
    expect(problems.map((p) => p.missing)).toEqual([
      '/lib/modules (kind mounts it into every node)',
      'Podman default ulimits that fit this host (it allows at most nofile=20000, nproc=32768; Podman asks for more)',
      "an OCI runtime for this host's hybrid cgroup layout (Podman uses crun, which refuses it)",
    ]);
    expect(problems[0]!.fix).toBe('mkdir -p /lib/modules');
    expect(problems[1]!.fix).toContain('default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]');
    expect(problems[2]!.fix).toContain('runtime = "runc"');
  });

  it('rejects ulimits above what the host allows, and takes the last containers.conf that sets them', () => {
    const tooHigh = parseHostFacts('nofile 20000\nnproc 96364\npidmax 32768\nmodules yes\nhybrid no\nruntime crun\nulimits default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\nulimits default_ulimits = ["nofile=65536:65536"]\n');
    expect(podmanHostProblems(tooHigh).map((p) => p.missing)).toEqual([
      'Podman default ulimits that fit this host (it allows at most nofile=20000, nproc=32768; Podman asks for more)',
    ]);
  });

  it('makes kind detection unusable, naming each missing piece', async () => {
    const runner = recordingRunner((command, args) => {
      if (command === 'kind') return { stdout: 'kind v0.32.0 go1.26.8 linux/amd64' };
      if (command === 'docker') return { code: 127 };
      if (command === 'bash') return { stdout: 'nofile 20000\nnproc 96364\npidmax 32768\nmodules no\nhybrid no\nruntime crun\nulimits default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n' };
      return args[0] === 'info' ? { stdout: '4.3.1\n' } : {};
    });
    const detection = await detectKind(runner);
    expect(detection).toEqual({
      usable: false,
      reason: 'Podman 4.3.1 is installed, but this host lacks /lib/modules (kind mounts it into every node)',
      fix: '/lib/modules (kind mounts it into every node): mkdir -p /lib/modules',
    });
  });
});

describe('the node image\'s CoreDNS', () => {
  it('is built with every plugin of kind\'s Corefile and without the cloud and tracing ones', () => {
    const main = coreDnsMain();
    const imported = new Set([...main.matchAll(/_ "github\.com\/coredns\/coredns\/plugin\/([\w-]+)"/g)].map((m) => m[1]!));
    // The Corefile's directives: the first word of each line one level inside the server block.
    const directives = [...COREFILE.matchAll(/^ {4}(\w+)/gm)].map((m) => m[1]!);
    expect(directives).toEqual(['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loop', 'reload', 'loadbalance']);
    // plugin.cfg's prometheus directive lives in the metrics package.
    const packages = directives.map((d) => (d === 'prometheus' ? 'metrics' : d));
    expect(packages.filter((p) => !imported.has(p))).toEqual([]);
    expect(COREDNS_PLUGINS_LEFT_OUT.filter((p) => imported.has(p))).toEqual([]);
    expect(main).toContain('coremain.Run()');
    // 53 of plugin.cfg's 58 plugins (the on plugin comes from github.com/coredns/caddy/onevent).
    expect(imported.size + (main.includes('"github.com/coredns/caddy/onevent"') ? 1 : 0)).toBe(53);
  });
});
