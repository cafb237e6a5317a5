/**
 * The moves a learner makes with kubectl, done through the API: what reference solutions and
 * verify-all's trials use. Also the YAML applier that lab setup uses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions, type KubernetesObject, type V1DaemonSet, type V1Taint } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { EnvironmentError, NodeChangesUnsupportedError, SolveStalledError } from '../errors.ts';
import { FIELD_MANAGER, JSON_PATCH, apiServerMessage, isConflict, isNotFound, waitFor, type KubeClients } from '../cluster/kube.ts';
import type { ClusterProvider } from '../cluster/providers/provider.ts';
import type { EngineFacts, LabActions } from './define.ts';
import { isPodOf, daemonPodNode } from './checks/scheduling.ts';
import { setNodeCondition } from '../cluster/embedded/simulation/conditions.ts';
import { LAB_NAMESPACE } from './snapshot.ts';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const STRATEGIC_MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** Kinds that live in a namespace and get `default` when the file names none. */
const CLUSTER_SCOPED_KINDS = new Set(['Namespace', 'Node', 'PriorityClass', 'ClusterRole', 'ClusterRoleBinding']);

/** An object the API server refused, with the server's own words. */
export class ApplyError extends Error {
  constructor(source: string, object: KubernetesObject, cause: unknown) {
    super(`${source}: applying ${object.kind} ${object.metadata?.name ?? '(no name)'} failed: ${apiServerMessage(cause)}`);
    this.name = 'ApplyError';
  }
}

/** Parses YAML text into objects, naming `source` when it is not valid YAML. */
export function parseManifests(text: string, source: string): KubernetesObject[] {
  const documents = parseAllDocuments(text);
  const objects: KubernetesObject[] = [];
  for (const document of documents) {
    if (document.errors.length) throw new Error(`${source} is not valid YAML: ${document.errors[0]!.message}`);
    const value = document.toJS() as KubernetesObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

/** The annotation `kubectl apply` keeps its last applied file in (client-side apply). */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Applies every object of a YAML text, in order, with the outcome of `kubectl apply -f` on a file
 * that says everything: the object becomes what the file says (fields the file leaves out are
 * gone, whoever set them), labels and annotations of others are kept, and the last-applied
 * annotation records the file, so the learner's own `kubectl apply` of an edited copy later
 * deletes what they delete. Server-side apply would keep fields another manager (the learner's
 * kubectl) owns, so solutions would not always take.
 */
export async function applyManifests(clients: KubeClients, text: string, source: string, onCreated?: (object: KubernetesObject) => void): Promise<void> {
  for (const object of parseManifests(text, source)) {
    const withNamespace = CLUSTER_SCOPED_KINDS.has(object.kind ?? '')
      ? object
      : { ...object, metadata: { ...object.metadata, namespace: object.metadata?.namespace ?? LAB_NAMESPACE } };
    try {
      await applyObject(clients, withNamespace, onCreated);
    } catch (error) {
      if (isTransportError(error)) throw error;
      throw new ApplyError(source, object, error);
    }
  }
}

/** Creates the object, or replaces the existing one keeping others' labels and annotations; tells `onCreated` what it created. */
async function applyObject(clients: KubeClients, object: KubernetesObject, onCreated?: (object: KubernetesObject) => void): Promise<void> {
  const lastApplied = { [LAST_APPLIED_ANNOTATION]: `${JSON.stringify(object)}\n` };
  for (let attempt = 1; ; attempt += 1) {
    let live: KubernetesObject | undefined;
    try {
      live = await clients.objects.read({ apiVersion: object.apiVersion!, kind: object.kind!, metadata: { name: object.metadata!.name!, namespace: object.metadata?.namespace } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const metadata = {
      ...object.metadata,
      labels: { ...live?.metadata?.labels, ...object.metadata?.labels },
      annotations: { ...live?.metadata?.annotations, ...object.metadata?.annotations, ...lastApplied },
      ...(live ? { resourceVersion: live.metadata?.resourceVersion } : {}),
    };
    try {
      if (live) await clients.objects.replace({ ...object, metadata }, undefined, undefined, FIELD_MANAGER);
      else {
        // Not `onCreated?.(await create(…))`: an optional call skips its arguments, and so the create.
        const created = await clients.objects.create({ ...object, metadata }, undefined, undefined, FIELD_MANAGER);
        onCreated?.(created);
      }
      return;
    } catch (error) {
      // A controller updated the object (its status) between our read and write: read again.
      if (!isConflict(error) || attempt >= 5) throw error;
    }
  }
}

/**
 * A failure to reach the API server at all (as opposed to an answer from it). Our own
 * EnvironmentErrors count, but for the two that are answers from a reachable cluster: a solve whose
 * step did not pass, and an engine that cannot change its nodes.
 */
export function isTransportError(error: unknown): boolean {
  if (error instanceof SolveStalledError || error instanceof NodeChangesUnsupportedError) return false;
  if (error instanceof EnvironmentError) return true;
  // undici (fetch) wraps every failure to reach the server as TypeError("fetch failed").
  if (error instanceof TypeError && error.message === 'fetch failed') return true;
  const code = (error as { cause?: { code?: string }; code?: unknown })?.cause?.code;
  return typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET)$/.test(code);
}

/** Revisions of a DaemonSet, oldest first. */
export async function daemonSetRevisions(clients: KubeClients, daemonSet: V1DaemonSet) {
  const revisions = (await clients.apps.listNamespacedControllerRevision({ namespace: LAB_NAMESPACE })).items;
  return revisions
    .filter((r) => (r.metadata?.ownerReferences ?? []).some((o) => o.uid === daemonSet.metadata?.uid))
    .sort((a, b) => a.revision - b.revision);
}

/** Everything LabActions needs. */
export interface ActionOptions {
  readonly clients: KubeClients;
  readonly provider: ClusterProvider;
  readonly engine: EngineFacts;
  readonly labDir: string;
  readonly solveStep: (stepId: string) => Promise<void>;
  readonly checkNow: LabActions['checkNow'];
  /** Told every object the actions create (the existing engine records them; see created-objects.ts). */
  readonly onCreated?: (object: KubernetesObject) => void;
}

/** Creates the actions of one lab. */
export function labActions(options: ActionOptions): LabActions {
  const { clients, provider, labDir } = options;
  const namespace = LAB_NAMESPACE;
  const readDaemonSet = (name: string) => clients.apps.readNamespacedDaemonSet({ name, namespace });
  const readLabFile = (path: string) => readFileSync(join(labDir, path), 'utf8');

  const actions: LabActions = {
    clients,
    engine: options.engine,
    readFile: readLabFile,
    applyFile: (path) => applyManifests(clients, readLabFile(path), path, options.onCreated),
    applyYaml: (yaml) => applyManifests(clients, yaml, 'YAML', options.onCreated),

    async labelNode(node, key, value) {
      await clients.core.patchNode({ name: node, body: { metadata: { labels: { [key]: value } } } }, MERGE_PATCH);
    },

    async taintNode(node, taint, remove = false) {
      const current = (await clients.core.readNode({ name: node })).spec?.taints ?? [];
      const others = current.filter((t) => !(t.key === taint.key && t.effect === taint.effect));
      const taints: V1Taint[] = remove ? others : [...others, taint];
      await clients.core.patchNode({ name: node, body: [{ op: 'add', path: '/spec/taints', value: taints }] }, JSON_PATCH);
    },

    async cordon(node, unschedulable = true) {
      // kubectl cordon's own field manager, so the cordon's time is recorded as kubectl's would be.
      await clients.core.patchNode({ name: node, body: { spec: { unschedulable } }, fieldManager: 'kubectl-cordon' }, MERGE_PATCH);
    },

    async setImage(daemonSet, container, image) {
      const current = await readDaemonSet(daemonSet);
      const containers = (current.spec?.template.spec?.containers ?? []).map((c) => ({ name: c.name, ...(c.name === container ? { image } : {}) }));
      await clients.apps.patchNamespacedDaemonSet(
        { name: daemonSet, namespace, body: { spec: { template: { spec: { containers } } } } },
        STRATEGIC_MERGE_PATCH,
      );
    },

    async annotateDaemonSet(daemonSet, key, value) {
      await clients.apps.patchNamespacedDaemonSet({ name: daemonSet, namespace, body: { metadata: { annotations: { [key]: value } } } }, MERGE_PATCH);
    },

    async patchDaemonSet(daemonSet, patch) {
      await clients.apps.patchNamespacedDaemonSet({ name: daemonSet, namespace, body: patch }, MERGE_PATCH);
    },

    async rolloutUndo(daemonSet) {
      // What kubectl does: find the revision matching the current template, then patch the
      // DaemonSet with the revision before it (its data is a strategic merge patch of the template).
      const current = await readDaemonSet(daemonSet);
      const revisions = await daemonSetRevisions(clients, current);
      const currentTemplate = JSON.stringify(current.spec?.template);
      const patchOf = (revision: (typeof revisions)[number]) => revision.data as { spec: { template: unknown } };
      const latest = revisions.at(-1);
      const previous = revisions.filter((r) => r !== latest && JSON.stringify(patchOf(r).spec.template) !== currentTemplate).at(-1);
      if (!previous) throw new Error(`daemonset/${daemonSet} has no previous revision to roll back to`);
      await clients.apps.patchNamespacedDaemonSet({ name: daemonSet, namespace, body: patchOf(previous) }, STRATEGIC_MERGE_PATCH);
    },

    async waitForRollout(daemonSet, timeoutMs = 60_000) {
      await waitFor(
        `daemonset/${daemonSet} to finish its rollout`,
        async () => {
          const ds = await readDaemonSet(daemonSet);
          const status = ds.status;
          if (!status || (status.observedGeneration ?? 0) < (ds.metadata?.generation ?? 0)) return undefined;
          const desired = status.desiredNumberScheduled;
          return (status.updatedNumberScheduled ?? 0) === desired && (status.numberAvailable ?? 0) === desired ? true : undefined;
        },
        timeoutMs,
      );
    },

    async deleteDaemonSet(daemonSet, cascade = 'background') {
      const propagationPolicy = { background: 'Background', foreground: 'Foreground', orphan: 'Orphan' }[cascade];
      await clients.apps.deleteNamespacedDaemonSet({ name: daemonSet, namespace, propagationPolicy });
      await waitFor(
        `daemonset/${daemonSet} to be deleted`,
        async () => {
          try {
            await readDaemonSet(daemonSet);
            return undefined;
          } catch (error) {
            if (isNotFound(error)) return true;
            throw error;
          }
        },
        30_000,
      );
    },

    async deletePodOn(daemonSet, node) {
      const ds = await readDaemonSet(daemonSet);
      const pods = (await clients.core.listNamespacedPod({ namespace })).items.filter((p) => isPodOf(p, ds) && daemonPodNode(p) === node);
      if (!pods.length) throw new Error(`daemonset/${daemonSet} has no pod on ${node}`);
      const uids = new Set(pods.map((p) => p.metadata?.uid));
      await Promise.all(pods.map((p) => clients.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace, gracePeriodSeconds: 0 })));
      await waitFor(
        `the pod of daemonset/${daemonSet} on ${node} to be replaced`,
        async () => {
          const now = (await clients.core.listNamespacedPod({ namespace })).items;
          return now.some((p) => uids.has(p.metadata?.uid)) ? undefined : true;
        },
        30_000,
      );
    },

    addNode: (labels) => provider.addNode(labels ? { labels } : {}),
    removeNode: (name) => provider.removeNode(name),
    async setNodeCondition(node, condition, clear = false) {
      if (!provider.canChangeNodes) {
        throw new NodeChangesUnsupportedError(`The ${provider.name} engine's kubelets report their own conditions; only the embedded engine sets ${condition} on demand.`, 'Use the embedded engine for node conditions: npm run cluster -- up --provider embedded');
      }
      await setNodeCondition(clients, node, condition, clear);
    },
    solveStep: options.solveStep,
    checkNow: options.checkNow,
    waitUntil: (what, probe, timeoutMs = 60_000) => waitFor(what, probe, timeoutMs),
  };
  return actions;
}
