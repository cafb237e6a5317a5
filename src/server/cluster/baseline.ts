/**
 * The state a lab cluster starts from and returns to: the topology's nodes with their labels and
 * taints, kind's kube-system DaemonSets and CoreDNS, the lab-cluster marker, and nothing of a learner's.
 * Engines share this code; only the embedded engine may create and delete nodes.
 */
import { type V1Node, type V1Taint } from '@kubernetes/client-node';
import { EnvironmentError } from '../errors.ts';
import {
  CLUSTER_NAME,
  LAB_CLUSTER_LABEL,
  LAB_MARKER,
  TOPOLOGY,
  nodeLabels,
  nodeAddresses,
  nodeIndexOf,
  nodeManifest,
  systemAddons,
  systemDaemonSets,
  workerName,
  type NewNode,
  type NodeSpec,
} from './topology.ts';
import { CONDITIONS_ANNOTATION } from './embedded/simulation/plan-annotation.ts';
import { JSON_PATCH, MERGE_PATCH, isNotFound, serverSideApply, waitFor, type KubeClients } from './kube.ts';
import { isNodeReady } from './readiness.ts';
import type { Timer } from './phase-timings.ts';

/** Namespaces every cluster has; reset keeps them (and empties `default`). */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

/** Whether the engine owns the nodes (embedded) or the nodes are real machines (kind, existing). */
export interface BaselineOptions {
  readonly manageNodes: boolean;
  readonly engine: string;
}

/** Marks the cluster as a lab cluster, which lab setup requires before it changes nodes. */
export async function markLabCluster(clients: KubeClients, engine: string): Promise<void> {
  await serverSideApply(clients, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...LAB_MARKER, labels: { [LAB_CLUSTER_LABEL]: 'true' } },
    data: { engine, cluster: CLUSTER_NAME },
  });
}

/** Whether the cluster carries the lab-cluster marker. */
export async function isLabCluster(clients: KubeClients): Promise<boolean> {
  try {
    const marker = await clients.core.readNamespacedConfigMap(LAB_MARKER);
    return marker.metadata?.labels?.[LAB_CLUSTER_LABEL] === 'true';
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Creates the topology's nodes that are missing (embedded engine only). */
async function ensureTopologyNodes(clients: KubeClients): Promise<void> {
  const existing = new Set((await clients.core.listNode()).items.map((n) => n.metadata?.name));
  await Promise.all(TOPOLOGY.filter((spec) => !existing.has(spec.name)).map((spec) => clients.core.createNode({ body: nodeManifest(spec) })));
}

/**
 * Brings a cluster to the baseline without removing anything: nodes (embedded), kube-system
 * DaemonSets (embedded), the marker. Idempotent: `up` runs it every time.
 */
export async function applyBaseline(clients: KubeClients, options: BaselineOptions): Promise<void> {
  // Independent objects: sent together, which saves round trips on every cold start.
  await Promise.all([
    ...(options.manageNodes ? [ensureTopologyNodes(clients), ...systemDaemonSets().map((daemonSet) => serverSideApply(clients, daemonSet)), applySystemAddons(clients)] : []),
    markLabCluster(clients, options.engine),
  ]);
}

/**
 * CoreDNS as kind has it (topology.ts): its Deployment last, so its ServiceAccount and Corefile
 * exist before its pods; the others together, which saves round trips on every cold start.
 */
async function applySystemAddons(clients: KubeClients): Promise<void> {
  const addons = systemAddons();
  const workloads = addons.filter((object) => object.kind === 'Deployment');
  await Promise.all(addons.filter((object) => !workloads.includes(object)).map((object) => serverSideApply(clients, object)));
  await Promise.all(workloads.map((object) => serverSideApply(clients, object)));
}

/** Names of the nodes whose Ready condition is True. */
export async function readyNodeNames(clients: KubeClients): Promise<string[]> {
  return (await clients.core.listNode()).items.filter(isNodeReady).map((n) => n.metadata!.name!);
}

/**
 * Waits until every topology node is Ready and pods can be created in `default` (its
 * ServiceAccount exists): from then on a DaemonSet is scheduled at once. Both are waited for
 * together; `timer` names each wait, for phase timings.
 */
export async function waitUntilSchedulable(clients: KubeClients, timeoutMs = 60_000, timer: Timer = (_phase, work) => work()): Promise<void> {
  await Promise.all([
    timer('nodes Ready', () =>
      waitFor(
        `nodes ${TOPOLOGY.map((n) => n.name).join(', ')} to be Ready`,
        async () => {
          const ready = new Set(await readyNodeNames(clients));
          return TOPOLOGY.every((n) => ready.has(n.name)) ? true : undefined;
        },
        timeoutMs,
      ),
    ),
    timer('default ServiceAccount', () =>
      waitFor(
        'the default ServiceAccount in namespace default',
        async () => (await clients.core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' })) ?? undefined,
        timeoutMs,
        // The last thing `up` waits for: each look costs the API server little, and a start ends sooner.
        50,
      ),
    ),
  ]);
}

/** Parses `key=value:Effect` or `key:Effect` (kubectl taint syntax). */
export function parseTaint(text: string): V1Taint {
  const match = text.match(/^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/);
  if (!match) {
    throw new EnvironmentError(
      `"${text}" is not a taint.`,
      'Write it as key=value:Effect or key:Effect, with Effect one of NoSchedule, PreferNoSchedule, NoExecute (e.g. special=true:NoSchedule).',
    );
  }
  const [, key, value, effect] = match;
  return value === undefined ? { key: key!, effect: effect! } : { key: key!, value, effect: effect! };
}

/** Parses `key=value` (a node label). */
export function parseLabel(text: string): [string, string] {
  const match = text.match(/^([^=]+)=(.*)$/);
  if (!match) throw new EnvironmentError(`"${text}" is not a label.`, 'Write it as key=value, e.g. disktype=ssd.');
  return [match[1]!, match[2]!];
}

/** The most nodes one `add-nodes` creates: kwok's own tests stop at a few thousand. */
export const MAX_NEW_NODES = 5000;

/**
 * Specs for `count` new workers: named like kind's next workers (`-worker4`, `-worker5`, …) unless
 * a name is given, with the next free addresses after the highest in use, as Docker would hand out.
 */
function planWorkers(existing: readonly V1Node[], count: number, node: NewNode): NodeSpec[] {
  const names = new Set(existing.map((n) => n.metadata?.name));
  if (node.name !== undefined && names.has(node.name)) {
    throw new EnvironmentError(`Node ${node.name} exists already.`, `Pick another name, or remove it first: npm run cluster -- remove-node ${node.name}`);
  }
  const indexes = existing.flatMap((n) => n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => nodeIndexOf(a.address));
  let nextIndex = Math.max(TOPOLOGY.length - 1, ...indexes) + 1;
  let ordinal = 1;
  const nextName = () => {
    while (names.has(workerName(ordinal))) ordinal += 1;
    names.add(workerName(ordinal));
    return workerName(ordinal);
  };
  return Array.from({ length: count }, () => ({
    name: node.name ?? nextName(),
    role: 'worker' as const,
    extraLabels: { ...node.labels },
    taints: [...(node.taints ?? [])],
    ...nodeAddresses(nextIndex++),
  }));
}

/**
 * Waits until every named node is Ready, listing the nodes every 2 s. (A watch missed most of a
 * thousand nodes turning Ready on a busy API server, and waited until its timeout although every
 * node was Ready; a list every 2 s costs little next to the nodes' own status updates.) A timeout
 * says how many were Ready.
 */
async function waitUntilReady(clients: KubeClients, names: readonly string[], timeoutMs: number): Promise<void> {
  const waiting = new Set(names);
  await waitFor('the new nodes to be Ready', async () => {
    for (const node of (await clients.core.listNode()).items) if (isNodeReady(node)) waiting.delete(node.metadata!.name!);
    return waiting.size === 0 ? true : undefined;
  }, timeoutMs, 2000).catch(() => {
    if (waiting.size === 0) return;
    throw new EnvironmentError(
      `${names.length - waiting.size} of ${names.length} new nodes became Ready within ${Math.round(timeoutMs / 1000)} s.`,
      'The engine may be short of CPU: `npm run cluster -- status` shows the nodes; `npm run cluster -- reset` removes the added ones.',
    );
  });
}

/**
 * Registers a new simulated worker, named like kind's next worker unless a name is given, and
 * waits until it is Ready. Returns its name.
 */
export async function addNode(clients: KubeClients, node: NewNode = {}): Promise<string> {
  const [name] = await addNodes(clients, 1, node);
  return name!;
}

/**
 * Registers `count` simulated workers with the same labels and taints (a few at a time, so the
 * API server is never flooded) and waits until all are Ready. Returns their names.
 */
export async function addNodes(clients: KubeClients, count: number, node: NewNode = {}): Promise<string[]> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_NEW_NODES) {
    throw new EnvironmentError(`${count} is not a number of nodes to add.`, `Give a whole number from 1 to ${MAX_NEW_NODES}, e.g. npm run cluster -- add-nodes 1000`);
  }
  if (node.name !== undefined && count > 1) {
    throw new EnvironmentError(`${count} nodes cannot all be named ${node.name}.`, 'Leave out the name: new workers are named like kind names them (-worker4, -worker5, …).');
  }
  const specs = planWorkers((await clients.core.listNode()).items, count, node);
  const parallel = 16;
  for (let first = 0; first < specs.length; first += parallel) {
    await Promise.all(specs.slice(first, first + parallel).map((spec) => clients.core.createNode({ body: nodeManifest(spec) })));
  }
  const names = specs.map((spec) => spec.name);
  // Generous: on a busy machine a thousand nodes take minutes.
  await waitUntilReady(clients, names, 60_000 + 250 * count);
  return names;
}

/**
 * Removes a node the way a cloud provider retires a machine: the Node object goes, then its pods.
 * Without the second step the pod garbage collector would delete them only after its 40 s
 * quarantine for vanished nodes; a learner watching `kubectl get pods -w` should not wait for that.
 */
export async function removeNode(clients: KubeClients, name: string): Promise<void> {
  try {
    await clients.core.deleteNode({ name });
  } catch (error) {
    if (isNotFound(error)) {
      const known = (await clients.core.listNode()).items.map((n) => n.metadata?.name).join(', ');
      throw new EnvironmentError(`There is no node named ${name}.`, `Nodes in this cluster: ${known}.`);
    }
    throw error;
  }
  const pods = await clients.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` });
  await Promise.all(
    pods.items.map((pod) =>
      clients.core
        .deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, gracePeriodSeconds: 0 })
        .catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        }),
    ),
  );
}

/** Makes a topology node's labels, taints and schedulability exactly those of its spec. */
async function restoreNode(clients: KubeClients, spec: NodeSpec, node: V1Node): Promise<void> {
  const wantedLabels = nodeLabels(spec);
  const wantedTaints = [...spec.taints];
  const sameLabels = JSON.stringify(Object.entries(node.metadata?.labels ?? {}).sort()) === JSON.stringify(Object.entries(wantedLabels).sort());
  const sameTaints =
    JSON.stringify((node.spec?.taints ?? []).map((t) => [t.key, t.value ?? '', t.effect])) ===
    JSON.stringify(wantedTaints.map((t) => [t.key, t.value ?? '', t.effect]));
  if (sameLabels && sameTaints && !node.spec?.unschedulable) return;
  await clients.core.patchNode(
    {
      name: spec.name,
      body: [
        { op: 'add', path: '/metadata/labels', value: wantedLabels },
        { op: 'add', path: '/spec/taints', value: wantedTaints },
        { op: 'add', path: '/spec/unschedulable', value: false },
      ],
    },
    JSON_PATCH,
  );
}

/**
 * Takes back the conditions set with `npm run cluster -- node-condition` (simulated nodes only) and
 * waits until those nodes are Ready again; the node lifecycle controller then removes its taints
 * (restoreNode already set the topology's).
 */
async function clearNodeConditions(clients: KubeClients, nodes: readonly V1Node[]): Promise<void> {
  const changed = nodes.filter((n) => n.metadata?.annotations?.[CONDITIONS_ANNOTATION] !== undefined).map((n) => n.metadata!.name!);
  for (const name of changed) {
    await clients.core.patchNode({ name, body: { metadata: { annotations: { [CONDITIONS_ANNOTATION]: null } } } }, MERGE_PATCH);
  }
  if (!changed.length) return;
  await waitFor(
    `${changed.join(', ')} to report Ready again`,
    async () => {
      const now = (await clients.core.listNode()).items.filter((n) => changed.includes(n.metadata!.name!));
      return now.every((n) => isNodeReady(n) && !n.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'))) ? true : undefined;
    },
    60_000,
  );
}

const SYSTEM_DAEMONSET_NAMES = new Set(systemDaemonSets().map((d) => d.metadata!.name!));

/**
 * Returns the cluster to the baseline: removes every namespace, workload, pod, service, config and
 * event a learner made; restores the topology's nodes (labels, taints, cordons) and removes added
 * ones (embedded engine). Waits until the learner's pods are gone.
 */
export async function resetToBaseline(clients: KubeClients, options: BaselineOptions): Promise<void> {
  const { core, apps, scheduling } = clients;
  const ignoreMissing = (error: unknown) => {
    if (!isNotFound(error)) throw error;
  };

  const namespaces = (await core.listNamespace()).items.map((n) => n.metadata!.name!);
  const learnerNamespaces = namespaces.filter((n) => !(SYSTEM_NAMESPACES as readonly string[]).includes(n));
  const kubeSystemDaemonSets = (await apps.listNamespacedDaemonSet({ namespace: 'kube-system' })).items
    .map((d) => d.metadata!.name!)
    .filter((name) => !SYSTEM_DAEMONSET_NAMES.has(name));
  const services = (await core.listNamespacedService({ namespace: 'default' })).items
    .map((s) => s.metadata!.name!)
    .filter((name) => name !== 'kubernetes');
  const priorityClasses = (await scheduling.listPriorityClass()).items
    .map((p) => p.metadata!.name!)
    .filter((name) => !name.startsWith('system-'));

  const background = { propagationPolicy: 'Background' };
  await Promise.all([
    ...learnerNamespaces.map((name) => core.deleteNamespace({ name }).catch(ignoreMissing)),
    ...kubeSystemDaemonSets.map((name) => apps.deleteNamespacedDaemonSet({ name, namespace: 'kube-system', ...background }).catch(ignoreMissing)),
    ...services.map((name) => core.deleteNamespacedService({ name, namespace: 'default' }).catch(ignoreMissing)),
    ...priorityClasses.map((name) => scheduling.deletePriorityClass({ name }).catch(ignoreMissing)),
    apps.deleteCollectionNamespacedDaemonSet({ namespace: 'default', ...background }),
    apps.deleteCollectionNamespacedDeployment({ namespace: 'default', ...background }),
    apps.deleteCollectionNamespacedReplicaSet({ namespace: 'default', ...background }),
    apps.deleteCollectionNamespacedStatefulSet({ namespace: 'default', ...background }),
    apps.deleteCollectionNamespacedControllerRevision({ namespace: 'default' }),
    core.deleteCollectionNamespacedConfigMap({ namespace: 'default', fieldSelector: 'metadata.name!=kube-root-ca.crt' }),
  ]);
  // Pods last, forcibly: their controllers are gone, so nothing recreates them. Pods of learner
  // namespaces go too, so the namespace controller (which takes ~10 s) only has empty shells left.
  await Promise.all(
    ['default', ...learnerNamespaces].map((namespace) =>
      core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(ignoreMissing),
    ),
  );

  const nodes = (await core.listNode()).items;
  const byName = new Map(nodes.map((n) => [n.metadata!.name!, n]));
  for (const spec of TOPOLOGY) {
    const node = byName.get(spec.name);
    if (node) await restoreNode(clients, spec, node);
    else if (options.manageNodes) await core.createNode({ body: nodeManifest(spec) });
  }
  if (options.manageNodes) await clearNodeConditions(clients, nodes);
  if (options.manageNodes) {
    const topologyNames = new Set(TOPOLOGY.map((n) => n.name));
    for (const name of byName.keys()) if (!topologyNames.has(name)) await removeNode(clients, name);
    for (const daemonSet of systemDaemonSets()) await serverSideApply(clients, daemonSet);
    await applySystemAddons(clients);
  }
  await markLabCluster(clients, options.engine);

  // Pods of deleted kube-system DaemonSets go through the garbage collector; wait for them, so a
  // lab set up right after reset never meets leftovers. Learner namespaces may still be
  // Terminating for a few seconds: whoever creates one again waits for that (see ensureNamespace).
  // A DaemonSet controller that had not yet seen its DaemonSet deleted may have made a pod after
  // the forced deletion above; the garbage collector would delete it with the pod's grace period
  // (30 s by default, and a real kubelet takes all of it when the process ignores SIGTERM), so
  // every leftover seen while waiting is deleted forcibly too.
  await waitFor(
    "the learner's pods to be gone",
    async () => {
      const pods = (await core.listPodForAllNamespaces()).items.filter((pod) => {
        const namespace = pod.metadata!.namespace!;
        if (namespace === 'default') return true;
        if (namespace !== 'kube-system') return learnerNamespaces.includes(namespace);
        const owner = pod.metadata?.ownerReferences?.[0];
        return owner?.kind === 'DaemonSet' && !SYSTEM_DAEMONSET_NAMES.has(owner.name);
      });
      await Promise.all(
        pods
          .filter((pod) => pod.metadata?.deletionGracePeriodSeconds !== 0)
          .map((pod) => core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, gracePeriodSeconds: 0 }).catch(ignoreMissing)),
      );
      return pods.length === 0 ? true : undefined;
    },
    30_000,
  );
  // Events last: the deletions above made some.
  await core.deleteCollectionNamespacedEvent({ namespace: 'default' });
}
