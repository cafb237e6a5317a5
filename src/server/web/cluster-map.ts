/**
 * The live DaemonSet map: informers (list + watch) on nodes, pods, DaemonSets and
 * ControllerRevisions, folded into a {@link DaemonSetMap} whenever something changes. One watcher
 * per server, shared by every open lab page. When the cluster goes away the informers fail; they
 * are restarted until it answers again.
 */
import { isNodeReady } from '../cluster/providers/status.ts';
import {
  makeInformer,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1ControllerRevision,
  type V1DaemonSet,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { kubeClients } from '../cluster/kube.ts';
import type { DaemonSetMap, MapNode, MapPod } from '../../shared/workspace-protocol.ts';
import { formatTaint, skipReason } from './eligibility.ts';

/** Labels every node has; left off the cards so the ones a lab sets stand out. */
const BORING_LABEL = /^(beta\.)?kubernetes\.io\/(arch|os)$|^kubernetes\.io\/hostname$|^node\.kubernetes\.io\/exclude-from-external-load-balancers$|^type$/;

/** Namespaces whose DaemonSets belong to the cluster itself, not the learner. */
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** Builds the map from listed objects; pure, so it is tested without a cluster. */
export function buildMap(nodes: V1Node[], pods: V1Pod[], daemonSets: V1DaemonSet[], revisions: V1ControllerRevision[]): DaemonSetMap {
  const learnerSets = daemonSets
    .filter((ds) => !SYSTEM_NAMESPACES.has(ds.metadata?.namespace ?? ''))
    .sort((a, b) => id(a).localeCompare(id(b)));
  // controller-revision-hash label of a ControllerRevision → its .revision, per DaemonSet.
  const revisionOf = new Map<string, number>();
  for (const revision of revisions) {
    const owner = revision.metadata?.ownerReferences?.find((ref) => ref.kind === 'DaemonSet');
    const hash = revision.metadata?.labels?.['controller-revision-hash'];
    if (owner && hash) revisionOf.set(`${revision.metadata?.namespace}/${owner.name}/${hash}`, revision.revision);
  }
  const currentRevision = (ds: V1DaemonSet) => {
    let newest: number | undefined;
    for (const [key, value] of revisionOf) if (key.startsWith(`${id(ds)}/`) && (newest === undefined || value > newest)) newest = value;
    return newest;
  };
  const sortedNodes = [...nodes].sort((a, b) => {
    const role = (n: V1Node) => (n.metadata?.labels?.['node-role.kubernetes.io/control-plane'] !== undefined ? 0 : 1);
    return role(a) - role(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '', undefined, { numeric: true });
  });
  const mapNodes: MapNode[] = sortedNodes.map((node) => {
    const name = node.metadata?.name ?? '';
    return {
      name,
      ready: isNodeReady(node),
      labels: Object.fromEntries(Object.entries(node.metadata?.labels ?? {}).filter(([key]) => !BORING_LABEL.test(key))),
      taints: (node.spec?.taints ?? []).map(formatTaint),
      daemonSets: learnerSets.map((ds) => {
        const podsHere = pods
          .filter((pod) => pod.spec?.nodeName === name && pod.metadata?.namespace === ds.metadata?.namespace)
          .filter((pod) => pod.metadata?.ownerReferences?.some((ref) => ref.kind === 'DaemonSet' && ref.uid === ds.metadata?.uid))
          .map((pod) => mapPod(pod, revisionOf, id(ds)));
        const skipped = skipReason(ds, node);
        return { daemonSet: id(ds), pods: podsHere, ...(skipped ? { skipped } : {}) };
      }),
    };
  });
  return {
    nodes: mapNodes,
    daemonSets: learnerSets.map((ds) => {
      const current = currentRevision(ds);
      return {
        id: id(ds),
        ...(current !== undefined ? { currentRevision: current } : {}),
        desired: ds.status?.desiredNumberScheduled ?? 0,
        ready: ds.status?.numberReady ?? 0,
        updated: ds.status?.updatedNumberScheduled ?? 0,
      };
    }),
  };
}

function id(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function mapPod(pod: V1Pod, revisionOf: Map<string, number>, dsId: string): MapPod {
  const hash = pod.metadata?.labels?.['controller-revision-hash'];
  const revision = hash ? revisionOf.get(`${dsId}/${hash}`) : undefined;
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const waiting = pod.status?.containerStatuses?.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
  return {
    name: pod.metadata?.name ?? '',
    phase: pod.status?.phase ?? 'Pending',
    ready,
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    ...(revision !== undefined ? { revision } : {}),
    ...(!ready && waiting ? { reason: waiting } : {}),
  };
}

/** Watches the cluster and calls back with a fresh map after changes (coalesced). */
export class ClusterMapWatcher {
  readonly #kubeconfig: string;
  readonly #context: string;
  #informers: Array<Cached<KubernetesObject>> = [];
  #listeners = new Set<(map: DaemonSetMap) => void>();
  #timer: NodeJS.Timeout | undefined;
  #restart: NodeJS.Timeout | undefined;
  #stopped = false;
  #last: DaemonSetMap | undefined;

  constructor(kubeconfig: string, context: string) {
    this.#kubeconfig = kubeconfig;
    this.#context = context;
  }

  /** The latest map, once the first lists have arrived. */
  get current(): DaemonSetMap | undefined {
    return this.#last;
  }

  /** Subscribes to map changes; returns the unsubscribe function. */
  subscribe(listener: (map: DaemonSetMap) => void): () => void {
    this.#listeners.add(listener);
    if (this.#informers.length === 0 && !this.#restart) void this.#start();
    return () => this.#listeners.delete(listener);
  }

  async #start(): Promise<void> {
    if (this.#stopped) return;
    const clients = kubeClients(this.#kubeconfig, this.#context);
    const config = clients.config;
    const informers = [
      makeInformer<V1Node>(config, '/api/v1/nodes', () => clients.core.listNode()),
      makeInformer<V1Pod>(config, '/api/v1/pods', () => clients.core.listPodForAllNamespaces()),
      makeInformer<V1DaemonSet>(config, '/apis/apps/v1/daemonsets', () => clients.apps.listDaemonSetForAllNamespaces()),
      makeInformer<V1ControllerRevision>(config, '/apis/apps/v1/controllerrevisions', () => clients.apps.listControllerRevisionForAllNamespaces()),
    ] as Array<Cached<KubernetesObject>>;
    this.#informers = informers;
    for (const informer of informers) {
      informer.on('change', () => this.#changed());
      informer.on('add', () => this.#changed());
      informer.on('update', () => this.#changed());
      informer.on('delete', () => this.#changed());
      informer.on('error', () => this.#failed());
    }
    try {
      await Promise.all(informers.map((informer) => informer.start()));
      this.#changed();
    } catch {
      this.#failed();
    }
  }

  /** The cluster went away (or never answered): stop, and try again shortly. */
  #failed(): void {
    if (this.#restart || this.#stopped) return;
    const informers = this.#informers;
    this.#informers = [];
    for (const informer of informers) void informer.stop().catch(() => undefined);
    this.#restart = setTimeout(() => {
      this.#restart = undefined;
      void this.#start();
    }, 1000);
  }

  #changed(): void {
    // Coalesce bursts (a rollout touches many objects at once) into one map every 100 ms.
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const [nodes, pods, daemonSets, revisions] = this.#informers.map((informer) => informer.list());
      if (!nodes || !pods || !daemonSets || !revisions) return;
      this.#last = buildMap(nodes as V1Node[], pods as V1Pod[], daemonSets as V1DaemonSet[], revisions as V1ControllerRevision[]);
      for (const listener of this.#listeners) listener(this.#last);
    }, 100);
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#restart);
    await Promise.all(this.#informers.map((informer) => informer.stop().catch(() => undefined)));
    this.#informers = [];
  }
}
