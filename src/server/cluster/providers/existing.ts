/**
 * The existing engine: a cluster the user already has, reached through a kubeconfig context they
 * name. It never starts or stops that cluster, and it refuses to change it unless the cluster
 * carries the lab marker or the user allows it for one command (--allow-non-lab-cluster); even
 * then, reset deletes only what the labs created (created-objects.ts), never the user's workloads.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { EnvironmentError, NodeChangesUnsupportedError } from '../../errors.ts';
import { binaryPaths } from '../binaries.ts';
import { isLabCluster, resetToBaseline } from '../baseline.ts';
import { createdObjects, createdObjectsFile, deleteCreated, describeCreated } from '../created-objects.ts';
import { apiServerMessage, kubeClients, type KubeClients } from '../kube.ts';
import type { ProviderContext } from './context.ts';
import type { ClusterProvider, ClusterStatus, ProviderAvailability } from './provider.ts';
import { writePrivateKubeconfig } from './private-kubeconfig.ts';
import { nodeSummaries } from './status.ts';

/** The flag that lets lab setup change a cluster without the lab marker. */
export const ALLOW_NON_LAB_CLUSTER_FLAG = '--allow-non-lab-cluster';

/**
 * Throws unless the cluster is a lab cluster or the user allowed changes explicitly. Lab setup and
 * reset call this before they label, taint or clean anything.
 */
export async function assertMayChangeCluster(clients: KubeClients, allowNonLabCluster: boolean, what: string): Promise<void> {
  if (allowNonLabCluster || (await isLabCluster(clients))) return;
  throw new EnvironmentError(
    `Refusing to ${what}: context ${clients.config.getCurrentContext()} is not a lab cluster (it has no kube-system/daemonset-lab marker ConfigMap).`,
    `Use a lab cluster (npm run cluster -- up), or pass ${ALLOW_NON_LAB_CLUSTER_FLAG} with this command: on a cluster that is not a lab cluster, lab set-up and reset then delete only the objects the labs created there (recorded by uid), never anything else.`,
  );
}

/** Where the private single-context kubeconfig of a context is kept. */
export function privateKubeconfigPath(stateDir: string, contextName: string): string {
  return join(stateDir, 'existing', `kubeconfig-${createHash('sha256').update(contextName).digest('hex').slice(0, 16)}`);
}

function kubeconfigPathOf(context: ProviderContext): string {
  return context.existing?.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
}

/** Creates the existing-cluster provider for a context. */
export function existingProvider(context: ProviderContext): ClusterProvider {
  const kubeconfig = kubeconfigPathOf(context);
  const contextName = context.existing?.context;
  const allow = context.existing?.allowNonLabCluster ?? false;
  const createdFile = createdObjectsFile(context.stateDir);

  const requireContext = (): string => {
    if (!contextName) {
      throw new EnvironmentError('The existing engine needs the kubeconfig context to use.', 'Pass --context NAME (see `kubectl config get-contexts`).');
    }
    return contextName;
  };
  const clients = (): KubeClients => kubeClients(kubeconfig, requireContext());

  const status = async (): Promise<ClusterStatus> => {
    const base = { provider: 'existing' as const, kubeconfig, context: contextName ?? '' };
    try {
      const nodes = await nodeSummaries(clients());
      const lab = (await isLabCluster(clients())) ? 'a lab cluster' : 'not marked as a lab cluster';
      return { ...base, running: true, nodes, summary: `reachable, ${nodes.filter((n) => n.ready).length} of ${nodes.length} nodes Ready, ${lab}` };
    } catch (error) {
      if (error instanceof EnvironmentError) throw error;
      return { ...base, running: false, nodes: [], summary: `unreachable: ${apiServerMessage(error)}` };
    }
  };

  return {
    name: 'existing',
    canChangeNodes: false,

    async availability(): Promise<ProviderAvailability> {
      if (!existsSync(kubeconfig)) {
        return { usable: false, reason: `there is no kubeconfig at ${kubeconfig}`, fix: 'Pass --kubeconfig PATH or set KUBECONFIG.' };
      }
      if (!contextName) return { usable: false, reason: 'no context was named', fix: 'Pass --context NAME.' };
      const config = parse(readFileSync(kubeconfig, 'utf8')) as { contexts?: Array<{ name: string }> };
      const names = (config.contexts ?? []).map((c) => c.name);
      if (!names.includes(contextName)) {
        return { usable: false, reason: `${kubeconfig} has no context ${contextName}`, fix: `Contexts there: ${names.join(', ') || 'none'}.` };
      }
      return { usable: true, reason: `context ${contextName} in ${kubeconfig}` };
    },

    async up() {
      const current = await status();
      if (!current.running) {
        throw new EnvironmentError(`Context ${contextName} does not answer: ${current.summary}.`, 'Start that cluster yourself; the existing engine never starts or stops it.');
      }
      // Never marked as a lab cluster: a mark would let every later command change it without
      // the flag. --allow-non-lab-cluster holds for one command only.
      return status();
    },

    async down() {
      return `The existing engine never stops a cluster it did not start (context ${contextName}); nothing to do.`;
    },

    status,

    async reset() {
      const c = clients();
      // A cluster marked as a lab cluster is ours to empty; any other holds the user's workloads.
      if (await isLabCluster(c)) return resetToBaseline(c, { manageNodes: false, engine: 'existing' });
      const name = requireContext();
      const ours = createdObjects(createdFile, name).map(describeCreated);
      const list = ours.length ? ours.join(', ') : 'nothing recorded yet';
      if (!allow) {
        throw new EnvironmentError(
          `Refusing to reset context ${name}: it is not a lab cluster (it has no kube-system/daemonset-lab marker ConfigMap).`,
          `Use a lab cluster (npm run cluster -- up), or pass ${ALLOW_NON_LAB_CLUSTER_FLAG} with this command: it deletes only what the labs created there (${list}) and nothing else.`,
        );
      }
      process.stderr.write(`Context ${name} is not a lab cluster: deleting only what the labs created there: ${list}.\n`);
      await deleteCreated(c, createdFile, name);
    },

    async connection() {
      const name = requireContext();
      // The shell, Apply and lab actions get a copy that holds only this context, so plain
      // `kubectl` there can reach no other cluster (see private-kubeconfig.ts).
      const privateCopy = writePrivateKubeconfig(kubeconfig, name, privateKubeconfigPath(context.stateDir, name));
      return { kubeconfig: privateCopy, context: name, kubectlDir: dirname(binaryPaths().kubectl) };
    },

    async addNode() {
      throw new NodeChangesUnsupportedError('The existing engine cannot add nodes: they are real machines.', 'Use the embedded engine (npm run cluster -- up --provider embedded).');
    },

    async removeNode() {
      throw new NodeChangesUnsupportedError('The existing engine cannot remove nodes: they are real machines.', 'Use the embedded engine (npm run cluster -- up --provider embedded).');
    },
  };
}
