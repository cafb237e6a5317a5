/**
 * The cluster as one check run sees it: each list is fetched once, on first use, and shared by
 * every check of the run. Labs work in namespace `default`.
 */
import type { KubeClients } from '../cluster/kube.ts';
import type { ClusterSnapshot } from './define.ts';

/** The namespace every lab works in (namespace deletion is slow, so labs never create their own). */
export const LAB_NAMESPACE = 'default';

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= load());
}

/** A snapshot that lists lazily and caches for its lifetime (one check run). */
export function clusterSnapshot(clients: KubeClients): ClusterSnapshot {
  const namespace = LAB_NAMESPACE;
  const daemonSets = once(async () => (await clients.apps.listNamespacedDaemonSet({ namespace })).items);
  return {
    nodes: once(async () => (await clients.core.listNode()).items),
    pods: once(async () => (await clients.core.listNamespacedPod({ namespace })).items),
    daemonSets,
    daemonSet: async (name) => (await daemonSets()).find((d) => d.metadata?.name === name),
    revisions: once(async () => (await clients.apps.listNamespacedControllerRevision({ namespace })).items),
    events: once(async () => (await clients.core.listNamespacedEvent({ namespace })).items),
  };
}
