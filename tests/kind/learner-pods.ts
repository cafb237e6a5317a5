/**
 * The learner pods of an installed classroom, as the hub labels them (hub/pods.ts): shared by the
 * end-to-end test (tests/kind/classroom.test.ts) and the classroom bench (classroom-bench.ts).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS, LEARNER_APP } from '../../hub/pods.ts';
import { podReady } from '../../hub/spawner.ts';
import { kubectl, type KindClusterInfo } from './kind-cluster.ts';

/** One learner pod, as `kubectl get pods -o json` shows it. */
export interface LearnerPodView {
  readonly name: string;
  /** When it was created (epoch ms). */
  readonly created: number;
  readonly classroom: string;
  /** warm or claimed. */
  readonly state: string;
  /** The learner it was claimed for, if any. */
  readonly learner?: string;
  /** The lab a warm pod has set up, if any. */
  readonly prepared?: string;
  readonly ready: boolean;
  /** When it became Ready (epoch ms), if it is. */
  readonly readySince?: number;
  /** Being deleted (a learner's pod shutting its cluster down). */
  readonly terminating: boolean;
}

/** The namespace's learner pods, terminating ones included (see `terminating`). */
export async function learnerPods(info: KindClusterInfo, namespace: string): Promise<LearnerPodView[]> {
  const answer = await kubectl(info, ['-n', namespace, 'get', 'pods', '-l', `${LABELS.app}=${LEARNER_APP}`, '-o', 'json']);
  if (answer.code !== 0) throw new Error(`kubectl get pods failed: ${answer.stderr}`);
  // Raw JSON: times are strings here, not the Dates client-node's own reader would make.
  return (JSON.parse(answer.stdout) as { items: V1Pod[] }).items.map((pod) => {
    const labels = pod.metadata?.labels ?? {};
    const learner = labels[LABELS.learner];
    const prepared = pod.metadata?.annotations?.[ANNOTATIONS.prepared];
    const readyAt = pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    const ready = podReady(pod);
    return {
      name: pod.metadata!.name!,
      created: Date.parse(String(pod.metadata?.creationTimestamp)),
      classroom: labels[LABELS.classroom] ?? '',
      state: labels[LABELS.state] ?? '',
      ...(learner ? { learner } : {}),
      ...(prepared ? { prepared } : {}),
      ready,
      ...(ready && readyAt ? { readySince: Date.parse(String(readyAt)) } : {}),
      terminating: pod.metadata?.deletionTimestamp !== undefined,
    };
  });
}

/** The learner's live (not terminating) pod, if any. */
export async function podOfLearner(info: KindClusterInfo, namespace: string, learnerId: string): Promise<LearnerPodView | undefined> {
  return (await learnerPods(info, namespace)).find((pod) => pod.learner === learnerId && !pod.terminating);
}
