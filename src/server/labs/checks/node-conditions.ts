/**
 * Checks of what happens when a node stops being Ready: the node lifecycle controller taints it
 * node.kubernetes.io/not-ready (or …/unreachable) with NoExecute, the taint eviction controller
 * evicts every pod that does not tolerate the taint once its tolerationSeconds run out, and
 * DaemonSet pods stay, because the DaemonSet controller gives them those tolerations with no
 * tolerationSeconds (AUTOMATIC_DAEMONSET_TOLERATIONS).
 */
import type { CoreV1Event, V1Node, V1Taint } from '@kubernetes/client-node';
import { isNodeReady, readySince } from '../../cluster/readiness.ts';
import { fail, notApplicable, pass, type CheckContext, type CheckFunction, type CheckOutcome } from '../define.ts';
import { withDaemonSet } from './with-daemonset.ts';
import { daemonPodNode, describePod, formatTaint, isPodOf, toleratesTaint } from './scheduling.ts';

/** The NoExecute taints the node lifecycle controller puts on a node that is not Ready. */
export const NOT_READY_TAINT_KEYS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'] as const;

/** The event reason of the taint eviction controller when it deletes a pod (pkg/controller/tainteviction). */
export const TAINT_EVICTION_REASON = 'TaintManagerEviction';

const HOW_TO_NOT_READY = 'npm run cluster -- node-condition daemonset-lab-worker NotReady';

/** A check only engines with simulated nodes can judge (they set node conditions on demand); elsewhere not applicable. */
export function needsNodeConditions(run: CheckFunction): CheckFunction {
  return async (context: CheckContext): Promise<CheckOutcome> =>
    context.engine.canChangeNodes
      ? run(context)
      : notApplicable(
          `Not applicable here: the ${context.engine.provider} engine's kubelets report their own conditions. On the embedded engine (npm run cluster -- up --provider embedded) you would run ${HOW_TO_NOT_READY} and watch the pods.`,
        );
}

/** The lifecycle controller's NoExecute not-ready/unreachable taint on a node, if it has one. */
export function notReadyTaint(node: V1Node): V1Taint | undefined {
  return node.spec?.taints?.find((t) => t.effect === 'NoExecute' && (NOT_READY_TAINT_KEYS as readonly string[]).includes(t.key));
}

/** Nodes that are not Ready and carry the lifecycle controller's NoExecute taint. */
async function notReadyNodes(context: CheckContext): Promise<Array<{ node: V1Node; taint: V1Taint }>> {
  return (await context.snapshot.nodes()).flatMap((node) => {
    const taint = notReadyTaint(node);
    return !isNodeReady(node) && taint ? [{ node, taint }] : [];
  });
}

/**
 * A Ready node still carrying the not-ready taint from before it came back: the controller added
 * it (with its time) before the Ready condition last changed, and removes it at its next look. A
 * taint added by hand to a Ready node is newer than that change, or has no time.
 */
function leftFromNotReady(node: V1Node): boolean {
  const added = notReadyTaint(node)?.timeAdded;
  const back = readySince(node);
  return added !== undefined && back !== undefined && new Date(added).getTime() <= back.getTime();
}

/** A node went NotReady, and the node lifecycle controller tainted it NoExecute (a taint added by hand on a Ready node is not that). */
export function nodeWentNotReady(): CheckFunction {
  return needsNodeConditions(async (context) => {
    const found = (await notReadyNodes(context))[0];
    if (found) return pass(`${found.node.metadata?.name} is NotReady, and the node lifecycle controller tainted it ${formatTaint(found.taint)}.`);
    const nodes = await context.snapshot.nodes();
    const recovering = nodes.find((n) => isNodeReady(n) && leftFromNotReady(n));
    if (recovering) {
      return fail(
        `${recovering.metadata?.name} is Ready again; the node lifecycle controller has not yet taken off the ${formatTaint(notReadyTaint(recovering)!)} it added while the node was NotReady.`,
        `It does at its next look, within seconds. To see a node fail again: ${HOW_TO_NOT_READY}.`,
      );
    }
    const byHand = nodes.find((n) => isNodeReady(n) && notReadyTaint(n));
    if (byHand) {
      return fail(
        `${byHand.metadata?.name} carries ${formatTaint(notReadyTaint(byHand)!)}, yet its Ready condition is True: the taint was added by hand.`,
        `The node lifecycle controller puts that taint on a node whose kubelet stops reporting Ready; remove yours (kubectl taint nodes ${byHand.metadata?.name} ${notReadyTaint(byHand)!.key}:NoExecute-) and make the node NotReady: ${HOW_TO_NOT_READY}.`,
        [{ kind: 'pod-state', node: byHand.metadata?.name ?? '', state: 'tainted by hand while Ready' }],
      );
    }
    const waiting = nodes.find((n) => !isNodeReady(n));
    if (waiting) {
      return fail(
        `${waiting.metadata?.name} is NotReady, but the node lifecycle controller has not tainted it NoExecute yet.`,
        'The controller checks every few seconds and taints at a limited rate: wait, and watch kubectl get node -o jsonpath="{.spec.taints}".',
      );
    }
    return fail('Every node is Ready (kubectl get nodes).', `Make a worker NotReady, as if its kubelet stopped reporting: ${HOW_TO_NOT_READY}.`);
  });
}

/** On a NotReady node, the DaemonSet's pod that was there before the NoExecute taint is still there. */
export function daemonPodStaysOnNotReadyNode(name: string, file: string): CheckFunction {
  return needsNodeConditions(
    withDaemonSet(name, file, async (ds, context) => {
      const nodes = await notReadyNodes(context);
      if (!nodes.length) return fail('No node is NotReady with the lifecycle controller\'s NoExecute taint.', `First make a worker NotReady: ${HOW_TO_NOT_READY}.`);
      const pods = (await context.snapshot.pods()).filter((p) => isPodOf(p, ds) && !p.metadata?.deletionTimestamp);
      const seen: string[] = [];
      for (const { node, taint } of nodes) {
        const nodeName = node.metadata?.name ?? '';
        const pod = pods.find((p) => daemonPodNode(p) === nodeName);
        const tainted = taint.timeAdded ? new Date(taint.timeAdded).getTime() : Date.now();
        const created = pod?.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : undefined;
        if (pod && created !== undefined && created <= tainted) {
          const tolerated = (pod.spec?.tolerations ?? []).find((t) => toleratesTaint(t, taint));
          const how = tolerated && tolerated.tolerationSeconds === undefined ? `it tolerates ${formatTaint(taint)} with no tolerationSeconds, so for ever` : 'it tolerates the taint';
          return pass(`${describePod(pod).name} was on ${nodeName} before the node went NotReady and is still there: ${how}.`);
        }
        seen.push(pod ? `${nodeName}'s ${name} pod ${describePod(pod).name} was created after the taint` : `${nodeName} has no ${name} pod`);
      }
      return fail(`${seen.join('; ')}.`, `Apply ${file} first (its pod runs on daemonset-lab-worker too), then make that node NotReady and watch: kubectl get pods -o wide -w.`);
    }),
  );
}

/**
 * A pod of the Deployment `deployment` (pods labelled `podLabels`) was evicted by the taint
 * eviction controller, and none of its pods is left on a NotReady node.
 */
export function deploymentPodEvicted(deployment: string, podLabels: Readonly<Record<string, string>>): CheckFunction {
  const selected = (labels: Record<string, string> | undefined) => Object.entries(podLabels).every(([k, v]) => labels?.[k] === v);
  return needsNodeConditions(async (context) => {
    const nodes = await notReadyNodes(context);
    const names = new Set(nodes.map((n) => n.node.metadata?.name));
    const staying = (await context.snapshot.pods()).filter((p) => selected(p.metadata?.labels) && names.has(p.spec?.nodeName) && !p.metadata?.deletionTimestamp);
    const evictions = (await context.snapshot.events()).filter((e: CoreV1Event) => e.reason === TAINT_EVICTION_REASON && e.involvedObject.kind === 'Pod' && e.involvedObject.name?.startsWith(`${deployment}-`));
    if (!nodes.length) return fail('No node is NotReady with the lifecycle controller\'s NoExecute taint.', `First make a worker NotReady: ${HOW_TO_NOT_READY}.`);
    if (staying.length) {
      return fail(
        `${staying.map((p) => `${p.metadata?.name} (on ${p.spec?.nodeName})`).join(', ')} still runs on the NotReady node.`,
        `Its tolerationSeconds for ${NOT_READY_TAINT_KEYS[0]} has not run out yet (kubectl get pod NAME -o jsonpath="{.spec.tolerations}"): wait, and watch kubectl get pods -o wide -w.`,
        staying.map((p) => ({ kind: 'pod-state' as const, node: p.spec?.nodeName ?? '', state: 'not evicted yet' })),
      );
    }
    if (!evictions.length) {
      return fail(
        `No pod of ${deployment} was evicted by the taint eviction controller (no ${TAINT_EVICTION_REASON} event: kubectl get events).`,
        `Deleting the pod by hand is not an eviction: let the node go NotReady with the pod on it and wait for its tolerationSeconds to run out.`,
      );
    }
    return pass(`The taint eviction controller evicted ${evictions.map((e) => e.involvedObject.name).join(', ')} (${TAINT_EVICTION_REASON}); no pod of ${deployment} is left on the NotReady node.`);
  });
}

/** After a node was seen NotReady (step `earlierStep`), every node is Ready again and untainted by the lifecycle controller. */
export function nodesReadyAgain(earlierStep: string): CheckFunction {
  return needsNodeConditions(async (context) => {
    if (!context.passedSteps.has(earlierStep)) {
      return fail('No node was seen NotReady yet in this attempt.', 'Do the previous step first and check while the node is NotReady; then bring it back.');
    }
    const nodes = await context.snapshot.nodes();
    const notReady = nodes.filter((n) => !isNodeReady(n) || notReadyTaint(n));
    if (notReady.length) {
      return fail(
        `${notReady.map((n) => `${n.metadata?.name} (${isNodeReady(n) ? `Ready, still tainted ${formatTaint(notReadyTaint(n)!)}` : 'NotReady'})`).join(', ')}.`,
        'Bring it back: npm run cluster -- node-condition daemonset-lab-worker NotReady --clear; the controller then removes its taints.',
      );
    }
    return pass(`All ${nodes.length} nodes are Ready again, and the lifecycle controller took its taints away.`);
  });
}
