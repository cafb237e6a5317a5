/**
 * The one library of check helpers every lab uses. Each helper returns a check function that
 * reads the run's snapshot, says what it observed in the learner's terms (naming the node or
 * field at fault) and, when failing, hints at the kubectl command or field to look at.
 */
import type { V1Container, V1DaemonSet, V1ManagedFieldsEntry, V1Node, V1Taint } from '@kubernetes/client-node';
import type { CheckReason } from '../../../shared/lab-results.ts';
import { fail, pass, type CheckContext, type CheckFunction, type CheckOutcome } from '../define.ts';
import { explainDaemonSetPlacement, formatTaint, isControlPlane, type NodePlacement } from './scheduling.ts';
import { formatLabelSelector, labelSelectorMatches, normalizeImage, sameImage } from './values.ts';

import { withDaemonSet } from './with-daemonset.ts';

export * from './scheduling.ts';
export * from './values.ts';
export * from './concepts.ts';
export * from './ownership.ts';
export * from './node-conditions.ts';
export { withDaemonSet } from './with-daemonset.ts';

/** The DaemonSet exists. */
export function daemonSetExists(name: string, file: string): CheckFunction {
  return withDaemonSet(name, file, (ds) => pass(`DaemonSet ${name} exists (created ${ds.metadata?.creationTimestamp?.toISOString?.() ?? 'just now'}).`));
}

/** Which nodes a coverage check expects a Ready pod on. */
export type ExpectedNodes =
  | 'workers'
  | 'all-nodes'
  | 'eligible'
  | { readonly describe: string; readonly includes: (node: V1Node) => boolean };

/** Options of {@link daemonSetCoverage}. */
export interface CoverageOptions {
  /** The file the learner applies, for hints. */
  readonly file: string;
  readonly expect: ExpectedNodes;
  /** Also fail when a node outside the expected set runs a pod ("pods run only there"). */
  readonly only?: boolean;
  /** Every expected pod must run this image (after an update or a rollback). */
  readonly image?: string;
}

function expectedSet(expect: ExpectedNodes, nodes: readonly V1Node[], placements: readonly NodePlacement[]) {
  if (expect === 'workers') return { describe: 'workers', names: new Set(nodes.filter((n) => !isControlPlane(n)).map((n) => n.metadata!.name!)) };
  if (expect === 'all-nodes') return { describe: 'nodes', names: new Set(nodes.map((n) => n.metadata!.name!)) };
  if (expect === 'eligible') return { describe: 'eligible nodes', names: new Set(placements.filter((p) => p.eligible).map((p) => p.node)) };
  return { describe: expect.describe, names: new Set(nodes.filter(expect.includes).map((n) => n.metadata!.name!)) };
}

/** The hint for the first problem: which command shows the cause, which field to look at. */
function hintFor(placement: NodePlacement, file: string): string {
  if (!placement.eligible) {
    if (placement.untoleratedTaints.length) {
      // The near miss ("your toleration for key … has effect NoExecute …") is the lesson: say it first.
      const nearMiss = placement.causes.flatMap((c) => (c.kind === 'taint-not-tolerated' ? [c.why] : [])).at(0);
      const lead = nearMiss ? `${nearMiss[0]!.toUpperCase()}${nearMiss.slice(1)}. ` : '';
      return `${lead}Compare the node's taints (kubectl describe node ${placement.node} | grep -A2 Taints) with spec.template.spec.tolerations in ${file}: key, value, operator and effect must all match the taint.`;
    }
    return `Compare the node's labels (kubectl get node ${placement.node} --show-labels) with spec.template.spec.nodeSelector and affinity in ${file}.`;
  }
  const pod = placement.pod;
  if (!pod) return `The DaemonSet controller has not made this pod yet: run kubectl get pods -o wide again, and kubectl describe daemonset for events.`;
  if (pod.reason === 'Unschedulable' || pod.description.startsWith('Pending, not scheduled')) {
    return `Read why the scheduler refuses: kubectl describe pod ${pod.name} (Events), and compare spec.template.spec.containers[].resources.requests with what the node can offer: kubectl describe node ${placement.node} (Allocatable).`;
  }
  if (pod.reason === 'ErrImagePull' || pod.reason === 'ImagePullBackOff') {
    return `kubectl describe pod ${pod.name} shows the pull error in its Events; check the image name and tag in spec.template.spec.containers[].image.`;
  }
  if (pod.reason === 'CrashLoopBackOff' || pod.lastExitCode !== undefined) {
    return `Find out why the container exits: kubectl logs ${pod.name} --previous, and its exit code: kubectl get pod ${pod.name} -o jsonpath="{.status.containerStatuses[].lastState.terminated.exitCode}".`;
  }
  return `Pods take a few seconds to start: watch them with kubectl get pods -o wide -w.`;
}

/** One node's problem, in a clause: "daemonset-lab-worker3 has none: its taint … is not tolerated". */
function problemOf(placement: NodePlacement, image: string | undefined): string | undefined {
  if (!placement.eligible) return `${placement.node} has none: ${placement.reasons.join('; ')}`;
  const pod = placement.pod;
  if (!pod) return `${placement.node} has none yet`;
  if (!pod.ready) return `${placement.node}'s pod ${pod.name} is ${pod.description}`;
  if (image && !pod.images.some((i) => sameImage(i, image))) return `${placement.node}'s pod ${pod.name} runs ${pod.images.join(', ')}, not ${image}`;
  return undefined;
}

/** The same problem as data. */
function causesOf(placement: NodePlacement): CheckReason[] {
  if (!placement.eligible) return [...placement.causes];
  const pod = placement.pod;
  return [{ kind: 'pod-state', node: placement.node, ...(pod ? { pod: pod.name } : {}), state: pod ? pod.reason : 'missing' }];
}

/**
 * The taints the lab put on nodes (topology and setup) that are gone from them. Removing a node's
 * taint is not tolerating it: a check that judges a toleration fails while one is missing.
 */
export async function removedLabTaints(context: CheckContext): Promise<Array<{ node: string; taint: V1Taint }>> {
  const nodes = await context.snapshot.nodes();
  return nodes.flatMap((node) => {
    const name = node.metadata?.name ?? '';
    const live = node.spec?.taints ?? [];
    const wanted = context.labTaints.get(name) ?? [];
    return wanted
      .filter((w) => !live.some((t) => t.key === w.key && (t.value ?? '') === (w.value ?? '') && t.effect === w.effect))
      .map((taint) => ({ node: name, taint }));
  });
}

/** Fails when a lab taint was removed from its node (see {@link removedLabTaints}). */
async function taintsStillThere(context: CheckContext): Promise<CheckOutcome | undefined> {
  const removed = await removedLabTaints(context);
  if (!removed.length) return undefined;
  const list = removed.map((r) => `${r.node} no longer has its taint ${formatTaint(r.taint)}`).join('; ');
  const restore = removed.map((r) => `kubectl taint nodes ${r.node} ${formatTaint(r.taint)}`).join('; ');
  return fail(
    `${list}: the pods run there because the node changed, not because the pod template tolerates it.`,
    `Put the taint back (${restore}) and tolerate it in spec.template.spec.tolerations instead: a DaemonSet adapts to its nodes, it does not change them.`,
    removed.map((r) => ({ kind: 'taint-removed', node: r.node, taint: formatTaint(r.taint) })),
  );
}

/**
 * One Ready pod of the DaemonSet on every expected node (and, with `only`, on no other node),
 * explaining per node why one is missing: an untolerated taint, unmatched labels, a pod that
 * cannot be scheduled, pull its image or start.
 */
export function daemonSetCoverage(name: string, options: CoverageOptions): CheckFunction {
  return withDaemonSet(name, options.file, async (ds, context) => {
    const { snapshot } = context;
    const removed = await taintsStillThere(context);
    if (removed) return removed;
    const nodes = await snapshot.nodes();
    const placements = explainDaemonSetPlacement(ds, nodes, await snapshot.pods());
    const expected = expectedSet(options.expect, nodes, placements);
    const wanted = placements.filter((p) => expected.names.has(p.node));
    const problems = wanted.map((p) => ({ placement: p, problem: problemOf(p, options.image) })).filter((p) => p.problem);
    const good = wanted.length - problems.length;
    const what = options.image ? `a Ready pod with ${options.image}` : 'a Ready pod';
    const summary = `${good} of ${wanted.length} ${expected.describe} run ${what}`;
    if (wanted.length === 0) {
      if (options.expect !== 'eligible') {
        return fail(`No node counts as one of the ${expected.describe}.`, `List the nodes with kubectl get nodes --show-labels and compare them with the lab's instructions.`);
      }
      const why = placements.map((p) => `${p.node}: ${p.reasons.join('; ')}`).join('; ');
      const example = placements.find((p) => !p.controlPlane) ?? placements[0];
      return fail(
        `DaemonSet ${name} wants a pod on no node (kubectl get daemonset ${name} shows DESIRED 0): ${why}.`,
        example ? hintFor(example, options.file) : `kubectl get nodes shows no node at all.`,
        placements.flatMap(causesOf),
      );
    }
    if (problems.length) {
      const first = problems[0]!;
      return fail(`${summary}; ${problems.map((p) => p.problem).join('; ')}.`, hintFor(first.placement, options.file), problems.flatMap((p) => causesOf(p.placement)));
    }
    // Right after a change, old pods may still be Ready while the controller replaces them one
    // by one: passing then would flip to failing a moment later. Wait for the rollout.
    const rollout = rolloutInProgress(ds);
    if (rollout) {
      return fail(`${summary}, but ${rollout}.`, `Follow it with kubectl rollout status daemonset/${name}, then check again.`);
    }
    if (options.only) {
      const extra = placements.filter((p) => !expected.names.has(p.node) && p.pod && !p.pod.terminating);
      if (extra.length) {
        return fail(
          `${summary}, but ${extra.map((p) => p.node).join(', ')} ${extra.length === 1 ? 'runs a pod too; it is' : 'run pods too; they are'} not among the ${expected.describe}.`,
          `Restrict where the pods go with spec.template.spec.nodeSelector or a required node affinity in ${options.file}; compare with kubectl get nodes --show-labels.`,
        );
      }
    }
    return pass(`${summary}: ${wanted.map((p) => p.node).join(', ')}.`);
  });
}

/**
 * Why a RollingUpdate DaemonSet is still rolling out ("a rollout is in progress: 1 of 3 pods run
 * the current template"), or undefined when it is done. OnDelete DaemonSets never roll by themselves.
 */
export function rolloutInProgress(ds: V1DaemonSet): string | undefined {
  if (ds.spec?.updateStrategy?.type === 'OnDelete') return undefined;
  const status = ds.status;
  if (!status || (status.observedGeneration ?? 0) < (ds.metadata?.generation ?? 0)) return 'the DaemonSet controller has not seen the latest change yet';
  const updated = status.updatedNumberScheduled ?? 0;
  if (updated < status.desiredNumberScheduled) return `a rollout is in progress: ${updated} of ${status.desiredNumberScheduled} pods run the current template`;
  return undefined;
}

/**
 * The DaemonSet's selector selects its own pod template, judged by what it selects: matchLabels,
 * matchExpressions or both, however written.
 */
export function selectorMatchesTemplate(name: string, file: string): CheckFunction {
  return withDaemonSet(name, file, (ds) => {
    const selector = ds.spec?.selector;
    const labels = ds.spec?.template?.metadata?.labels ?? {};
    const selectorText = formatLabelSelector(selector);
    const labelText = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ') || 'none';
    const empty = !selector || (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length);
    if (empty || !labelSelectorMatches(selector, labels)) {
      return fail(
        `spec.selector is ${selectorText}; the pod template's labels are {${labelText}}${empty ? ': an empty selector would claim every pod' : ', which it does not select'}.`,
        `spec.selector must select spec.template.metadata.labels: the controller owns exactly the pods its selector selects (kubectl get daemonset ${name} -o yaml).`,
      );
    }
    return pass(`spec.selector ${selectorText} selects the pod template's labels {${labelText}}.`);
  });
}

/** Every container of the template sets CPU and memory requests and limits. */
export function resourcesSet(name: string, file: string): CheckFunction {
  return withDaemonSet(name, file, (ds) => {
    const containers: V1Container[] = ds.spec?.template?.spec?.containers ?? [];
    const gaps = containers.flatMap((c) =>
      (['requests', 'limits'] as const).flatMap((kind) =>
        (['cpu', 'memory'] as const).filter((r) => !c.resources?.[kind]?.[r]).map((r) => `containers[${c.name}].resources.${kind}.${r}`),
      ),
    );
    if (gaps.length) {
      return fail(
        `Not set: ${gaps.join(', ')}.`,
        `Give every container resources.requests and resources.limits for cpu and memory (kubectl explain daemonset.spec.template.spec.containers.resources).`,
      );
    }
    const text = containers.map((c) => `${c.name}: requests ${c.resources?.requests?.cpu}/${c.resources?.requests?.memory}, limits ${c.resources?.limits?.cpu}/${c.resources?.limits?.memory}`);
    return pass(`Resources set: ${text.join('; ')}.`);
  });
}

/**
 * Whether the learner wrote a field, rather than the API server defaulting it. Update operations
 * (kubectl create, client-side apply) record defaulted fields in managedFields too, so only two
 * records are conclusive: a server-side Apply entry, and kubectl's last-applied-configuration.
 * A value other than the default (`kubectl patch`, `edit`) was written by someone as well.
 */
export function fieldDeclared(
  object: { metadata?: { managedFields?: V1ManagedFieldsEntry[]; annotations?: Record<string, string> } },
  path: readonly string[],
  value: unknown,
  defaultValue: unknown,
): boolean {
  if (value !== undefined && JSON.stringify(value) !== JSON.stringify(defaultValue)) return true;
  const applied = (object.metadata?.managedFields ?? []).some((entry) => {
    if (entry.operation !== 'Apply') return false;
    let node = entry.fieldsV1 as Record<string, unknown> | undefined;
    for (const key of path) {
      node = node?.[`f:${key}`] as Record<string, unknown> | undefined;
      if (!node) return false;
    }
    return true;
  });
  if (applied) return true;
  const lastApplied = object.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'];
  if (!lastApplied) return false;
  try {
    let node: unknown = JSON.parse(lastApplied);
    for (const key of path) node = (node as Record<string, unknown> | undefined)?.[key];
    return node !== undefined;
  } catch {
    return false;
  }
}

/** The image of the named container of a DaemonSet's template, as written (compare with {@link sameImage}). */
export function templateImage(ds: V1DaemonSet, container: string): string | undefined {
  return ds.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image;
}

/** The pod template has a required node affinity with at least one match expression. */
export function requiredNodeAffinity(name: string, file: string): CheckFunction {
  return withDaemonSet(name, file, (ds) => {
    const nodeAffinity = ds.spec?.template?.spec?.affinity?.nodeAffinity;
    const terms = nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    const expressions = terms.flatMap((t) => t.matchExpressions ?? []);
    const hint = `Use spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[].matchExpressions (kubectl explain daemonset.spec.template.spec.affinity.nodeAffinity).`;
    if (expressions.length) {
      const text = expressions.map((e) => `${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(', ')})` : ''}`).join(', ');
      return pass(`Required node affinity: ${text}.`);
    }
    if (nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length) {
      return fail(`Only preferredDuringSchedulingIgnoredDuringExecution is set: a preference, which lets pods go to any node when needed.`, hint);
    }
    return fail(`spec.template.spec.affinity.nodeAffinity has no required match expressions${ds.spec?.template?.spec?.nodeSelector ? ' (a nodeSelector is set, but this step asks for node affinity)' : ''}.`, hint);
  });
}

/** A hostPath volume of the template mounted into a container, optionally read-only. */
export function hostPathMounted(name: string, file: string, container: string, hostPath: string, options: { readOnly?: boolean } = {}): CheckFunction {
  const normalise = (path: string | undefined) => (path ?? '').replace(/\/+$/, '') || '/';
  return withDaemonSet(name, file, (ds) => {
    const spec = ds.spec?.template?.spec;
    const volume = spec?.volumes?.find((v) => v.hostPath && normalise(v.hostPath.path) === normalise(hostPath));
    const field = 'spec.template.spec.volumes[].hostPath.path';
    if (!volume) {
      const paths = (spec?.volumes ?? []).filter((v) => v.hostPath).map((v) => v.hostPath!.path);
      return fail(
        `No hostPath volume has path ${hostPath}${paths.length ? ` (hostPath volumes: ${paths.join(', ')})` : ''}.`,
        `Declare the node's folder as a volume (${field}), then mount it in the container (volumeMounts); see kubectl explain daemonset.spec.template.spec.volumes.hostPath.`,
      );
    }
    const target = spec?.containers?.find((c) => c.name === container);
    const mount = target?.volumeMounts?.find((m) => m.name === volume.name);
    if (!mount) {
      return fail(
        `Volume ${volume.name} (hostPath ${hostPath}) is declared but container ${container} does not mount it.`,
        `Add it to spec.template.spec.containers[${container}].volumeMounts with a mountPath.`,
      );
    }
    if (options.readOnly && !mount.readOnly) {
      return fail(
        `Container ${container} mounts ${hostPath} at ${mount.mountPath} read-write.`,
        `A collector only reads the node's files: set readOnly: true on that volumeMount, so a bug cannot damage them.`,
      );
    }
    return pass(`Container ${container} mounts hostPath ${hostPath} at ${mount.mountPath}${mount.readOnly ? ', read-only' : ''} (volume ${volume.name}).`);
  });
}

/** One revision of a DaemonSet's rollout history, as `kubectl rollout history` lists it. */
export interface HistoryEntry {
  readonly revision: number;
  readonly name: string;
  /** Container name → image of the revision's template, normalized (docker.io/library/nginx:1.19). */
  readonly images: Readonly<Record<string, string>>;
  readonly changeCause?: string;
}

/** The DaemonSet's history (its ControllerRevisions), oldest revision first. */
export async function rolloutHistory(ds: V1DaemonSet, context: CheckContext): Promise<HistoryEntry[]> {
  const revisions = (await context.snapshot.revisions()).filter((r) => (r.metadata?.ownerReferences ?? []).some((o) => o.uid === ds.metadata?.uid));
  return revisions
    .map((r) => {
      const containers = ((r.data as { spec?: { template?: { spec?: { containers?: V1Container[] } } } } | undefined)?.spec?.template?.spec?.containers ?? []);
      const changeCause = r.metadata?.annotations?.['kubernetes.io/change-cause'];
      return {
        revision: r.revision,
        name: r.metadata?.name ?? '',
        images: Object.fromEntries(containers.map((c) => [c.name, normalizeImage(c.image ?? '')])),
        ...(changeCause ? { changeCause } : {}),
      };
    })
    .sort((a, b) => a.revision - b.revision);
}
