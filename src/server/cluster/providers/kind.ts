/**
 * The kind engine: the same topology as real containers, for users with Docker or Podman.
 * Node labels come from kind's `labels:` field, taints from kubeadm patches, and the node image is
 * pinned by digest to the Kubernetes version the embedded engine runs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import type { V1Taint } from '@kubernetes/client-node';
import { EnvironmentError } from '../../errors.ts';
import { KIND_NODE_IMAGE, VERSIONS } from '../../versions.ts';
import { binaryPaths } from '../binaries.ts';
import { applyBaseline, resetToBaseline, waitUntilSchedulable } from '../baseline.ts';
import { kubeClients } from '../kube.ts';
import { CLUSTER_NAME, TOPOLOGY, type NodeSpec } from '../topology.ts';
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

/** kind talks to Docker unless told to use Podman. */
function kindEnvironment(engine: ContainerEngine): Record<string, string> {
  return engine === 'podman' ? { KIND_EXPERIMENTAL_PROVIDER: 'podman' } : {};
}

/**
 * Finds `kind` and a container engine whose daemon answers. Says exactly what is missing:
 * kind itself, any container engine, or a daemon that does not respond.
 */
export async function detectKind(runner: CommandRunner): Promise<KindDetection> {
  const kind = await runner.run('kind', ['version']);
  if (kind.code !== 0) {
    return {
      usable: false,
      reason: kind.code === 127 ? 'kind is not installed (no `kind` on PATH)' : `\`kind version\` failed: ${firstLine(kind.stderr)}`,
      fix: `Install kind ${VERSIONS.kind} (go install sigs.k8s.io/kind@${VERSIONS.kind}) and Docker or Podman, or use --provider embedded.`,
    };
  }
  const problems: string[] = [];
  for (const engine of CONTAINER_ENGINES) {
    const info = await runner.run(engine, ENGINE_VERSION_QUERY[engine]);
    if (info.code === 0) {
      const engineName = engine === 'docker' ? 'Docker' : 'Podman';
      return { usable: true, engine, reason: `${firstLine(kind.stdout)} and ${engineName} ${firstLine(info.stdout)}` };
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
function kindNode(spec: NodeSpec) {
  // Role labels are kubeadm's business; kind rejects node-role.kubernetes.io labels in `labels:`.
  const labels = Object.fromEntries(Object.entries(spec.extraLabels).filter(([key]) => !key.startsWith('node-role.kubernetes.io/') && !key.startsWith('node.kubernetes.io/')));
  const isControlPlane = spec.role === 'control-plane';
  // kubeadm taints a control plane by default; only other taints need a patch.
  const defaultTaints = isControlPlane ? 1 : 0;
  const needsPatch = spec.taints.length !== defaultTaints;
  return {
    role: spec.role,
    image: KIND_NODE_IMAGE,
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(needsPatch ? { kubeadmConfigPatches: [taintPatch(isControlPlane ? 'InitConfiguration' : 'JoinConfiguration', spec.taints)] } : {}),
  };
}

/** The kind cluster configuration for a topology. */
export function kindConfig(topology: readonly NodeSpec[] = TOPOLOGY): string {
  return stringify({
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    name: CLUSTER_NAME,
    networking: { apiServerAddress: '127.0.0.1' },
    nodes: topology.map(kindNode),
  });
}

const BASELINE = { manageNodes: false, engine: 'kind' } as const;

/** Creates the kind provider for a context. */
export function kindProvider(context: ProviderContext): ClusterProvider & { createCluster(): Promise<void> } {
  const kindDir = join(context.stateDir, 'kind');
  const configFile = join(kindDir, 'kind-config.yaml');
  const kubeconfig = join(context.stateDir, 'kubeconfig-kind');
  const kubeContext = `kind-${CLUSTER_NAME}`;

  const engineEnv = async (): Promise<Record<string, string>> => {
    const detection = await detectKind(context.runner);
    if (!detection.usable) throw new EnvironmentError(`The kind engine cannot run here: ${detection.reason}.`, detection.fix);
    return kindEnvironment(detection.engine);
  };

  const kind = async (args: string[], env: Record<string, string>) => {
    const result = await context.runner.run('kind', args, { env });
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
    const nodes = await nodeSummaries(kubeClients(kubeconfig, kubeContext));
    return { ...base, running: true, nodes, summary: `running, ${nodes.filter((n) => n.ready).length} of ${nodes.length} nodes Ready` };
  };

  const provider = {
    name: 'kind' as const,
    canChangeNodes: false,

    async availability(): Promise<ProviderAvailability> {
      const detection = await detectKind(context.runner);
      return detection.usable ? { usable: true, reason: detection.reason } : { usable: false, reason: detection.reason, fix: detection.fix };
    },

    /** The container part of `up`: create the cluster, or export the kubeconfig of the existing one. */
    async createCluster(): Promise<void> {
      const env = await engineEnv();
      await mkdir(kindDir, { recursive: true });
      if (await exists(env)) {
        await kind(['export', 'kubeconfig', '--name', CLUSTER_NAME, '--kubeconfig', kubeconfig], env);
        return;
      }
      await writeFile(configFile, kindConfig());
      await kind(['create', 'cluster', '--name', CLUSTER_NAME, '--config', configFile, '--kubeconfig', kubeconfig, '--wait', '180s'], env);
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
      throw new EnvironmentError('kind cannot add a node to a running cluster.', 'Use the embedded engine for labs that add and remove nodes: npm run cluster -- up --provider embedded');
    },

    async removeNode(): Promise<void> {
      throw new EnvironmentError('kind cannot remove a node from a running cluster.', 'Use the embedded engine for labs that add and remove nodes: npm run cluster -- up --provider embedded');
    },
  };
  return provider;
}
