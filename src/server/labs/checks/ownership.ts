/**
 * Ownership of pods: deleting a DaemonSet with `--cascade=orphan` leaves its pods running with no
 * owner; a DaemonSet whose selector selects them adopts them (and keeps them when its template is
 * the same). Judged by owner references and creation times, not by names.
 */
import type { V1DaemonSet, V1Pod } from '@kubernetes/client-node';
import { fail, pass, type CheckContext, type CheckFunction } from '../define.ts';
import { describePod, daemonPodNode, isControlPlane } from './scheduling.ts';
import { formatLabelSelector, labelSelectorMatches, sameImage } from './values.ts';

/** The controller owner reference of a pod, if any. */
function controllerOf(pod: V1Pod) {
  return (pod.metadata?.ownerReferences ?? []).find((o) => o.controller);
}

const created = (object: { metadata?: { creationTimestamp?: Date } }) => new Date(object.metadata?.creationTimestamp ?? 0).getTime();

/** Live pods with these labels (not terminating). */
async function labelledPods(context: CheckContext, labels: Readonly<Record<string, string>>): Promise<V1Pod[]> {
  return (await context.snapshot.pods()).filter(
    (p) => !p.metadata?.deletionTimestamp && Object.entries(labels).every(([k, v]) => p.metadata?.labels?.[k] === v),
  );
}

/** Worker names, for "on every worker". */
async function workerNames(context: CheckContext): Promise<string[]> {
  return (await context.snapshot.nodes()).filter((n) => !isControlPlane(n)).map((n) => n.metadata?.name ?? '');
}

const labelText = (labels: Readonly<Record<string, string>>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');

/**
 * The DaemonSet `name` is gone, and the pods it made (labelled `podLabels`) still run on every
 * worker, Ready and without an owner: what `kubectl delete daemonset NAME --cascade=orphan` leaves.
 */
export function podsOrphaned(name: string, podLabels: Readonly<Record<string, string>>): CheckFunction {
  return async (context) => {
    if (await context.snapshot.daemonSet(name)) {
      return fail(`DaemonSet ${name} still exists.`, `Delete the DaemonSet but not its pods: kubectl delete daemonset --help (look for --cascade).`);
    }
    const pods = await labelledPods(context, podLabels);
    const selector = labelText(podLabels);
    if (!pods.length) {
      return fail(
        `${name} is gone, and so are its pods: no pod labelled ${selector} is left (kubectl get pods -l ${selector}).`,
        `kubectl delete daemonset deletes the pods too unless you ask otherwise (--cascade=orphan). Reset the lab to get them back and try again.`,
      );
    }
    const owned = pods.filter((p) => controllerOf(p));
    if (owned.length) {
      const owners = [...new Set(owned.map((p) => `${controllerOf(p)!.kind}/${controllerOf(p)!.name}`))];
      return fail(`${owned.length} pod(s) labelled ${selector} belong to ${owners.join(', ')}.`, `This step wants pods without an owner: kubectl get pods -l ${selector} -o jsonpath="{.items[*].metadata.ownerReferences}".`);
    }
    const workers = await workerNames(context);
    const missing = workers.filter((w) => !pods.some((p) => daemonPodNode(p) === w && describePod(p).ready));
    if (missing.length) return fail(`${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no Ready pod labelled ${selector} any more.`, `The orphaned pods should keep running: kubectl get pods -l ${selector} -o wide.`);
    return pass(`${name} is gone; its ${pods.length} pods keep running without an owner on ${workers.join(', ')}.`);
  };
}

/** DaemonSets whose selector selects these labels. */
async function selectingDaemonSets(context: CheckContext, podLabels: Readonly<Record<string, string>>): Promise<V1DaemonSet[]> {
  return (await context.snapshot.daemonSets()).filter((ds) => labelSelectorMatches(ds.spec?.selector, podLabels));
}

/**
 * A DaemonSet (any name) adopted the orphaned pods labelled `podLabels`: on every worker its
 * Ready pod is older than the DaemonSet itself (it was adopted, not re-created), and no rollout
 * is replacing them.
 */
export function podsAdopted(podLabels: Readonly<Record<string, string>>, file: string): CheckFunction {
  return async (context) => {
    const selector = labelText(podLabels);
    const candidates = await selectingDaemonSets(context, podLabels);
    if (!candidates.length) {
      const others = (await context.snapshot.daemonSets()).map((d) => `${d.metadata?.name} (selector ${formatLabelSelector(d.spec?.selector)})`);
      return fail(
        `No DaemonSet selects pods labelled ${selector}${others.length ? `; DaemonSets there: ${others.join(', ')}` : ''}.`,
        `Create a DaemonSet whose spec.selector selects the orphaned pods' labels (kubectl get pods --show-labels), e.g. from ${file}: kubectl apply -f ${file}.`,
      );
    }
    const workers = await workerNames(context);
    const pods = await labelledPods(context, podLabels);
    const verdicts = candidates.map((ds) => {
      const own = pods.filter((p) => controllerOf(p)?.uid === ds.metadata?.uid);
      const adopted = own.filter((p) => created(p) < created(ds));
      const remade = own.filter((p) => created(p) >= created(ds));
      const covered = workers.filter((w) => adopted.some((p) => daemonPodNode(p) === w && describePod(p).ready));
      return { ds, adopted, remade, covered };
    });
    const best = verdicts.sort((a, b) => b.covered.length - a.covered.length)[0]!;
    const dsName = best.ds.metadata?.name ?? '';
    if (best.remade.length) {
      return fail(
        `DaemonSet ${dsName} replaced ${best.remade.length} of the pods with new ones (created after it), so they were not kept.`,
        `Pods created after the DaemonSet were made by it, not adopted: was the old DaemonSet deleted with its pods, or were the orphans deleted? Reset the lab and delete it with --cascade=orphan, then create ${file} again.`,
      );
    }
    const templateImages = (best.ds.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '');
    const stale = best.adopted.filter((p) => !(p.spec?.containers ?? []).every((c) => templateImages.some((image) => sameImage(image, c.image))));
    if (stale.length) {
      const running = [...new Set(stale.flatMap((p) => (p.spec?.containers ?? []).map((c) => c.image)))].join(', ');
      return fail(
        `DaemonSet ${dsName} adopted ${stale.length} pod(s) that run ${running}, while its template says ${templateImages.join(', ')}; kubectl get daemonset ${dsName} still counts them UP-TO-DATE.`,
        `The controller counts an adopted pod as up to date when its pod-template-generation label equals the DaemonSet's template generation, and a new DaemonSet starts again at 1: its update strategy never replaces them. Adopt with the template the pods were made from (${file}), then change the image as an update.`,
      );
    }
    if (best.covered.length < workers.length) {
      const missing = workers.filter((w) => !best.covered.includes(w));
      return fail(`DaemonSet ${dsName} has adopted pods on ${best.covered.join(', ') || 'no node'}; not on ${missing.join(', ')}.`, `Watch the owners change: kubectl get pods -l ${selector} -o custom-columns=NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].name.`);
    }
    return pass(`DaemonSet ${dsName} adopted the ${best.adopted.length} orphaned pods without re-creating them.`);
  };
}

/**
 * After `earlierStep`, no DaemonSet selects `podLabels` and no such pod is left: a DaemonSet
 * deleted together with its pods.
 */
export function deletedWithPods(podLabels: Readonly<Record<string, string>>, earlierStep: string): CheckFunction {
  return async (context) => {
    const selector = labelText(podLabels);
    if (!context.passedSteps.has(earlierStep)) {
      return fail(`Step "${earlierStep}" has not passed yet in this attempt.`, 'Do the steps in order, checking after each one.');
    }
    const sets = await selectingDaemonSets(context, podLabels);
    if (sets.length) return fail(`DaemonSet ${sets.map((d) => d.metadata?.name).join(', ')} still exists.`, `Delete it, and its pods with it: kubectl delete daemonset NAME.`);
    const pods = await labelledPods(context, podLabels);
    if (pods.length) {
      return fail(
        `The DaemonSet is gone but ${pods.length} pod(s) labelled ${selector} are left without an owner.`,
        `--cascade=orphan leaves the pods behind; the default (--cascade=background) deletes them with the DaemonSet. Delete the leftovers: kubectl delete pods -l ${selector}.`,
      );
    }
    return pass(`No DaemonSet selects ${selector}, and no such pod is left.`);
  };
}
