/**
 * The kind engine: the same topology as real containers, for users with Docker or Podman.
 * Node labels come from kind's `labels:` field, taints from kubeadm patches. The node image is the
 * official one pinned by digest when it is at hand, else one built offline (kind-image/) from the
 * same Kubernetes version the embedded engine runs.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { PRIVATE_FILE_MODE } from '../../atomic-file.ts';
import { availableParallelism, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import type { V1Taint } from '@kubernetes/client-node';
import { EnvironmentError, NodeChangesUnsupportedError } from '../../errors.ts';
import { KIND_NODE_IMAGE, VERSIONS } from '../../versions.ts';
import { cacheDir } from '../../paths.ts';
import { withProgress } from '../../progress.ts';
import { binaryPaths, findOnPath, goInstallInto } from '../binaries.ts';
import { podmanHostFacts, podmanHostProblems } from '../kind-image/host.ts';
import { ensureNodeImage, nodeImagePresent, nodeImageTag } from '../kind-image/node-image.ts';
import { applyBaseline, resetToBaseline, waitUntilSchedulable } from '../baseline.ts';
import { kubeClients } from '../kube.ts';
import { CLUSTER_NAME, NODE_CAPACITY, TOPOLOGY, type NodeSpec } from '../topology.ts';
import type { ProviderContext } from './context.ts';
import type { ClusterProvider, ClusterStatus, CommandRunner, ProviderAvailability } from './provider.ts';
import { nodeSummaries } from './status.ts';

/** Container engines kind can use, in the order `auto` tries them. */
const CONTAINER_ENGINES = ['docker', 'podman'] as const;
type ContainerEngine = (typeof CONTAINER_ENGINES)[number];

/** Asks the engine's daemon (or service) for its version: the cheapest proof that it answers. */
const ENGINE_VERSION_QUERY: Record<ContainerEngine, readonly string[]> = {
  docker: ['info', '--format', '{{.ServerVersion}}'],
  podman: ['info', '--format', '{{.Version.Version}}'],
};

/** What detection found: the engine to use, or why kind cannot run here. */
export type KindDetection =
  | { readonly usable: true; readonly engine: ContainerEngine; readonly reason: string }
  | { readonly usable: false; readonly reason: string; readonly fix: string };

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';

/** Where `up` installs kind when it is not on PATH (built from its Go module, outside the repo). */
export function cachedKindPath(): string {
  return join(cacheDir(), 'bin', `kind-${VERSIONS.kind}`, 'kind');
}

/** The kind command: `DAEMONSET_LAB_KIND`, else the cached build, else `kind` on PATH. */
export function kindCommand(): string {
  return process.env.DAEMONSET_LAB_KIND ?? (existsSync(cachedKindPath()) ? cachedKindPath() : 'kind');
}

/** Installs kind from its Go module into the cache when neither the cache nor PATH has it. */
export async function ensureKind(): Promise<string> {
  const command = kindCommand();
  if (process.env.DAEMONSET_LAB_KIND || command !== 'kind' || (await findOnPath('kind'))) return command;
  if (!(await findOnPath('go'))) {
    throw new EnvironmentError('kind is not installed and Go is not there to build it.', `Install kind ${VERSIONS.kind} (go install sigs.k8s.io/kind@${VERSIONS.kind}) or Go ≥ 1.26, or use --provider embedded.`);
  }
  await withProgress(`Building kind ${VERSIONS.kind}`, (setDetail) =>
    goInstallInto(dirname(cachedKindPath()), ['kind'], [`sigs.k8s.io/kind@${VERSIONS.kind}`], `kind-${VERSIONS.kind}`, setDetail),
  );
  return cachedKindPath();
}

/** kind talks to Docker unless told to use Podman. */
function kindEnvironment(engine: ContainerEngine): Record<string, string> {
  return engine === 'podman' ? { KIND_EXPERIMENTAL_PROVIDER: 'podman' } : {};
}

/**
 * Finds `kind` and a container engine whose daemon answers. Says exactly what is missing:
 * kind itself, any container engine, or a daemon that does not respond.
 */
export async function detectKind(runner: CommandRunner): Promise<KindDetection> {
  const kind = await runner.run(kindCommand(), ['version']);
  if (kind.code !== 0) {
    return {
      usable: false,
      reason: kind.code === 127 ? 'kind is not installed (no `kind` on PATH)' : `\`kind version\` failed: ${firstLine(kind.stderr)}`,
      fix: `Install kind ${VERSIONS.kind} (go install sigs.k8s.io/kind@${VERSIONS.kind}) and Docker or Podman, or use --provider embedded.`,
    };
  }
  return detectEngine(runner, firstLine(kind.stdout));
}

/** The first container engine that answers, with Podman's host set-up checked piece by piece. */
async function detectEngine(runner: CommandRunner, kindVersion: string): Promise<KindDetection> {
  const problems: string[] = [];
  for (const engine of CONTAINER_ENGINES) {
    const info = await runner.run(engine, ENGINE_VERSION_QUERY[engine]);
    if (info.code === 0) {
      const engineName = engine === 'docker' ? 'Docker' : 'Podman';
      const problems = engine === 'podman' ? podmanHostProblems(await podmanHostFacts(runner)) : [];
      if (problems.length > 0) {
        return {
          usable: false,
          reason: `Podman ${firstLine(info.stdout)} is installed, but this host lacks ${problems.map((p) => p.missing).join('; ')}`,
          fix: problems.map((p) => `${p.missing}: ${p.fix}`).join('\n'),
        };
      }
      return { usable: true, engine, reason: `${kindVersion} and ${engineName} ${firstLine(info.stdout)}` };
    }
    problems.push(info.code === 127 ? `${engine} is not installed` : `${engine} is installed but its daemon does not answer (${firstLine(info.stderr)})`);
  }
  return {
    usable: false,
    reason: `kind is installed, but there is no working container engine: ${problems.join('; ')}`,
    fix: 'Start Docker or Podman (kind runs each node as a container), or use --provider embedded.',
  };
}

/** kubeadm patches that register a node with its taints (kind has no taints field). */
function taintPatch(kind: 'InitConfiguration' | 'JoinConfiguration', taints: readonly V1Taint[]): string {
  return stringify({
    kind,
    nodeRegistration: {
      taints: taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect })),
    },
  });
}

/** kind's node entry for one node of the topology. */
function kindNode(spec: NodeSpec, image: string) {
  // Role labels are kubeadm's business; kind rejects node-role.kubernetes.io labels in `labels:`.
  const labels = Object.fromEntries(Object.entries(spec.extraLabels).filter(([key]) => !key.startsWith('node-role.kubernetes.io/') && !key.startsWith('node.kubernetes.io/')));
  const isControlPlane = spec.role === 'control-plane';
  // kubeadm taints a control plane by default; only other taints need a patch.
  const defaultTaints = isControlPlane ? 1 : 0;
  const needsPatch = spec.taints.length !== defaultTaints;
  return {
    role: spec.role,
    image,
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(needsPatch ? { kubeadmConfigPatches: [taintPatch(isControlPlane ? 'InitConfiguration' : 'JoinConfiguration', spec.taints)] } : {}),
  };
}

/** The machine kind's nodes share: every node's kubelet sees all of its CPUs and memory. */
export interface HostResources {
  readonly cpus: number;
  readonly memoryBytes: number;
}

/** This machine's CPUs and memory. */
export function hostResources(): HostResources {
  return { cpus: availableParallelism(), memoryBytes: totalmem() };
}

const GIB = 1024 ** 3;

/**
 * A patch for every node's kubelet.
 * - Kubelets since v1.35 refuse a cgroup v1 host unless failCgroupV1 is false (this machine is
 *   one); on a cgroup v2 host the field changes nothing.
 * - Each node would offer the scheduler the whole machine (kind nodes share it), while the labs'
 *   topology gives every node 2 CPU / 4 GiB so that a request of a few Gi is "Insufficient memory".
 *   systemReserved takes the rest away from what the node allocates to pods (and the kubelet
 *   enforces it on the pods' cgroup): Allocatable matches the embedded nodes, Capacity stays the
 *   machine's. kind sets evictionHard without memory.available, so no eviction threshold is deducted.
 */
function clusterPatches(host: HostResources): string[] {
  const cpu = Number(NODE_CAPACITY.cpu);
  const memoryGi = Number.parseInt(NODE_CAPACITY.memory, 10);
  // In Ki, the unit the kubelet reads the machine's memory in, so Allocatable comes out at exactly 4Gi.
  const reservedMemoryKi = Math.max(0, Math.floor((host.memoryBytes - memoryGi * GIB) / 1024));
  const reservedCpu = Math.max(0, host.cpus - cpu);
  const systemReserved = {
    ...(reservedMemoryKi > 0 ? { memory: `${reservedMemoryKi}Ki` } : {}),
    ...(reservedCpu > 0 ? { cpu: String(reservedCpu) } : {}),
  };
  return [stringify({ kind: 'KubeletConfiguration', failCgroupV1: false, ...(Object.keys(systemReserved).length > 0 ? { systemReserved } : {}) })];
}

/** The kind cluster configuration for a topology and node image. */
export function kindConfig(topology: readonly NodeSpec[] = TOPOLOGY, image: string = KIND_NODE_IMAGE, host: HostResources = hostResources()): string {
  return stringify({
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    name: CLUSTER_NAME,
    networking: { apiServerAddress: '127.0.0.1' },
    kubeadmConfigPatches: clusterPatches(host),
    nodes: topology.map((spec) => kindNode(spec, image)),
  });
}

/**
 * The node image to use: the official kindest/node when it is already local (or
 * DAEMONSET_LAB_KIND_NODE_IMAGE=official asks for it to be pulled), otherwise the offline build,
 * built now when missing. `DAEMONSET_LAB_KIND_NODE_IMAGE` may also name any image.
 */
export async function chooseNodeImage(runner: CommandRunner, engine: ContainerEngine): Promise<string> {
  const requested = process.env.DAEMONSET_LAB_KIND_NODE_IMAGE;
  if (requested && requested !== 'official' && requested !== 'build') return requested;
  if (requested === 'official' || (await runner.run(engine, ['image', 'inspect', KIND_NODE_IMAGE])).code === 0) return KIND_NODE_IMAGE;
  if (engine !== 'podman') {
    throw new EnvironmentError(`The kind node image ${KIND_NODE_IMAGE} is not local, and the offline build is made for Podman.`, `Pull it (docker pull ${KIND_NODE_IMAGE}) or use Podman.`);
  }
  return ensureNodeImage(runner);
}

/** Whether `up` could start kind now without a long build (node image at hand), and why not. */
async function nodeImageAtHand(runner: CommandRunner, engine: ContainerEngine): Promise<string | undefined> {
  if ((await runner.run(engine, ['image', 'inspect', KIND_NODE_IMAGE])).code === 0) return undefined;
  if (engine === 'podman' && (await nodeImagePresent(runner, await nodeImageTag()))) return undefined;
  return 'no kind node image is at hand, and building one offline takes many minutes';
}

const BASELINE = { manageNodes: false, engine: 'kind' } as const;

/** Creates the kind provider for a context. */
export function kindProvider(context: ProviderContext): ClusterProvider & { createCluster(): Promise<void> } {
  const kindDir = join(context.stateDir, 'kind');
  const configFile = join(kindDir, 'kind-config.yaml');
  const kubeconfig = join(context.stateDir, 'kubeconfig-kind');
  const kubeContext = `kind-${CLUSTER_NAME}`;

  const usableEngine = async (): Promise<ContainerEngine> => {
    const detection = await detectKind(context.runner);
    if (!detection.usable) throw new EnvironmentError(`The kind engine cannot run here: ${detection.reason}.`, detection.fix);
    return detection.engine;
  };

  const kind = async (args: string[], env: Record<string, string>) => {
    const result = await context.runner.run(kindCommand(), args, { env });
    if (result.code !== 0) {
      throw new EnvironmentError(`kind ${args.slice(0, 2).join(' ')} failed (exit ${result.code}): ${firstLine(result.stderr)}`, 'Read the message above; `kind delete cluster --name daemonset-lab` and `up` start afresh.');
    }
    return result.stdout;
  };

  const exists = async (env: Record<string, string>) =>
    (await kind(['get', 'clusters'], env)).split('\n').map((l) => l.trim()).includes(CLUSTER_NAME);

  const status = async (): Promise<ClusterStatus> => {
    const base = { provider: 'kind' as const, kubeconfig, context: kubeContext };
    const detection = await detectKind(context.runner);
    if (!detection.usable) return { ...base, running: false, nodes: [], summary: `unavailable: ${detection.reason}` };
    const env = kindEnvironment(detection.engine);
    if (!(await exists(env))) return { ...base, running: false, nodes: [], summary: 'not created: run `npm run cluster -- up --provider kind`' };
    // The cluster may have been made from another state folder: this one has no kubeconfig for it yet.
    if (!existsSync(kubeconfig)) return { ...base, running: false, nodes: [], summary: 'created, but this state folder has no kubeconfig for it: run `npm run cluster -- up --provider kind` to write it' };
    const nodes = await nodeSummaries(kubeClients(kubeconfig, kubeContext));
    return { ...base, running: true, nodes, summary: `running, ${nodes.filter((n) => n.ready).length} of ${nodes.length} nodes Ready` };
  };

  const provider = {
    name: 'kind' as const,
    canChangeNodes: false,

    async availability(): Promise<ProviderAvailability> {
      const detection = await detectKind(context.runner);
      if (!detection.usable) return { usable: false, reason: detection.reason, fix: detection.fix };
      const slowStart = await nodeImageAtHand(context.runner, detection.engine);
      return { usable: true, reason: detection.reason, ...(slowStart ? { slowStart } : {}) };
    },

    /** The container part of `up`: create the cluster, or export the kubeconfig of the existing one. */
    async createCluster(): Promise<void> {
      await ensureKind();
      const engine = await usableEngine();
      const env = kindEnvironment(engine);
      await mkdir(kindDir, { recursive: true, mode: 0o700 });
      if (await exists(env)) {
        await kind(['export', 'kubeconfig', '--name', CLUSTER_NAME, '--kubeconfig', kubeconfig], env);
        await chmod(kubeconfig, PRIVATE_FILE_MODE);
        return;
      }
      const image = await chooseNodeImage(context.runner, engine);
      await writeFile(configFile, kindConfig(TOPOLOGY, image));
      await kind(['create', 'cluster', '--name', CLUSTER_NAME, '--config', configFile, '--kubeconfig', kubeconfig, '--wait', '300s'], env);
      // It holds the cluster's admin credentials: the user's alone, whatever kind or the umask chose.
      await chmod(kubeconfig, PRIVATE_FILE_MODE);
    },

    async up(): Promise<ClusterStatus> {
      await provider.createCluster();
      const clients = kubeClients(kubeconfig, kubeContext);
      await applyBaseline(clients, BASELINE);
      await waitUntilSchedulable(clients, 180_000);
      return status();
    },

    async down(options: { purge?: boolean } = {}): Promise<string> {
      void options; // kind cannot stop a cluster and keep it: down always deletes.
      const detection = await detectKind(context.runner);
      if (!detection.usable) return `Nothing to stop: ${detection.reason}.`;
      const env = kindEnvironment(detection.engine);
      if (!(await exists(env))) return `Nothing to stop: there is no kind cluster named ${CLUSTER_NAME}.`;
      await kind(['delete', 'cluster', '--name', CLUSTER_NAME, '--kubeconfig', kubeconfig], env);
      return `Deleted the kind cluster ${CLUSTER_NAME}.`;
    },

    status,

    async reset(): Promise<void> {
      await resetToBaseline(kubeClients(kubeconfig, kubeContext), BASELINE);
    },

    async connection() {
      return { kubeconfig, context: kubeContext, kubectlDir: dirname(binaryPaths().kubectl) };
    },

    async addNode(): Promise<string> {
      throw new NodeChangesUnsupportedError('kind cannot add a node to a running cluster.', 'Use the embedded engine for labs that add and remove nodes: npm run cluster -- up --provider embedded');
    },

    async removeNode(): Promise<void> {
      throw new NodeChangesUnsupportedError('kind cannot remove a node from a running cluster.', 'Use the embedded engine for labs that add and remove nodes: npm run cluster -- up --provider embedded');
    },
  };
  return provider;
}
