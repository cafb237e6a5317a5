/**
 * The classroom's sign-in figures on real pods, for `npm run bench -- --only classroom` (the
 * goals: from the warm pool ≤ 2 s p95, from a cold pod ≤ 10 s). The chart is installed on the kind
 * cluster as in the end-to-end test, with two classes: `bench-warm` keeps a warm pool of one pod,
 * `bench-cold` none. Each sign-in is one learner alone: it begins only once no learner pod is
 * starting or shutting down and, for the warm class, once its pool pod has set up the lab and
 * settled (see SETTLED_MS). A
 * measured learner's page is closed and their pod deleted before the next, so idle pods do not
 * pile up on the machine. Their logs are kept in test-results/classroom-bench/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { launchChromium, until } from '../workspace/support.ts';
import { signIn } from './classroom-browser.ts';
import { installClassroom, type ClassroomSettings } from './classroom-install.ts';
import { kubectl, startKindCluster, type KindClusterInfo } from './kind-cluster.ts';
import { learnerPods, podOfLearner } from './learner-pods.ts';

const LAB = 'first-daemonset';
/** Learner pods start a control plane each on a shared 2-core machine. */
const POD_START_MS = 240_000;

/**
 * How long a warm pod has been Ready before it counts as waiting in the pool: its start-up work is
 * over by then (the lab set up, and its scripts compressed ahead, 10 s after its cluster is up).
 * In a class, warm pods wait minutes; one that has just started is still busy.
 */
const SETTLED_MS = 25_000;

/**
 * Waits until no learner pod is starting or shutting down and, for `warm`, its pool is full of pods
 * that have set up the lab and settled (SETTLED_MS), so each learner is measured alone.
 */
async function quiet(info: KindClusterInfo, namespace: string, warm?: ClassroomSettings): Promise<void> {
  await until('the learner pods to be quiet', async () => {
    const pods = await learnerPods(info, namespace);
    const busy = pods.filter((p) => p.terminating || !p.ready || (p.state === 'warm' && p.prepared !== LAB));
    const pool = warm ? pods.filter((p) => p.classroom === warm.id && p.state === 'warm' && !p.terminating && p.ready && p.prepared === LAB) : [];
    const settled = pool.filter((p) => p.readySince !== undefined && Date.now() - p.readySince >= SETTLED_MS);
    if (busy.length === 0 && settled.length === (warm?.warmPool ?? 0)) return true;
    throw new Error(`starting or shutting down: ${busy.map((p) => p.name).join(', ') || 'none'}; prepared warm pods: ${pool.length}, settled: ${settled.length}`);
  }, POD_START_MS);
}

/** Where each measured pod's log is kept, to see where a sign-in's time went. */
export const POD_LOG_DIR = join(REPO_ROOT, 'test-results', 'classroom-bench');

/** Keeps a measured pod's log and, beside it, its object (creation, scheduling and container start times). */
async function keepLog(info: KindClusterInfo, namespace: string, pod: string, joinedAt: number): Promise<void> {
  const log = await kubectl(info, ['-n', namespace, 'logs', pod, '--timestamps']);
  const object = await kubectl(info, ['-n', namespace, 'get', 'pod', pod, '-o', 'json']);
  await mkdir(POD_LOG_DIR, { recursive: true });
  await writeFile(join(POD_LOG_DIR, `${pod}.log`), `${new Date(joinedAt).toISOString()} Join pressed (the bench's mark)\n${log.code === 0 ? log.stdout : `kubectl logs failed: ${log.stderr}`}`);
  await writeFile(join(POD_LOG_DIR, `${pod}.json`), object.code === 0 ? object.stdout : `kubectl get failed: ${object.stderr}`);
}

/** One class's sign-ins: Join → a usable terminal, and Join → the whole page (editor too), in ms. */
export interface SignInTimes {
  readonly terminal: number[];
  readonly page: number[];
}

/** Signs `runs` learners into `classroom` one at a time; returns each sign-in's milliseconds. */
async function signIns(info: KindClusterInfo, namespace: string, hubUrl: string, browser: Browser, classroom: ClassroomSettings, runs: number): Promise<SignInTimes> {
  const times = { terminal: [] as number[], page: [] as number[] };
  const warm = classroom.warmPool > 0 ? classroom : undefined;
  for (let run = 1; run <= runs; run += 1) {
    await quiet(info, namespace, warm);
    const learner = await signIn(browser, hubUrl, classroom, `${classroom.id} learner ${run}`, POD_START_MS);
    times.terminal.push(learner.terminalMs);
    times.page.push(learner.signInMs);
    const pod = await podOfLearner(info, namespace, learner.learnerId);
    process.stderr.write(`  ${classroom.id} ${run}/${runs}: ${learner.terminalMs} ms to a connected terminal, ${learner.signInMs} ms to the editor loaded too (pod ${pod?.name ?? '?'}, prepared: ${pod?.prepared ?? 'no'})\n`);
    await learner.context.close();
    if (pod) await keepLog(info, namespace, pod.name, learner.joinedAt);
    if (pod) await kubectl(info, ['-n', namespace, 'delete', 'pod', pod.name, '--wait=false']);
  }
  return times;
}

/** Sign-in figures: from a warm pod that has set up the lab, and from a cold pod (image present). */
export interface ClassroomSignInFigures {
  readonly warm: SignInTimes;
  readonly cold: SignInTimes;
}

/** Brings up kind (or uses DAEMONSET_LAB_TEST_KIND_STATE's), installs the chart, signs learners in, removes it all. */
export async function benchClassroomSignIns(runs: number): Promise<ClassroomSignInFigures> {
  const warmClass: ClassroomSettings = { id: 'bench-warm', joinCode: 'BENCH-WARM-CODE-2026', instructorCode: 'BENCH-INSTRUCTOR-2026', labs: [LAB], capacity: runs + 2, warmPool: 1 };
  const coldClass: ClassroomSettings = { id: 'bench-cold', joinCode: 'BENCH-COLD-CODE-2026', instructorCode: 'BENCH-INSTRUCTOR-2026', labs: [LAB], capacity: runs + 2, warmPool: 0 };
  const cluster = await startKindCluster();
  let browser: Browser | undefined;
  let install;
  try {
    install = await installClassroom(cluster.info, [warmClass, coldClass], 'classroom-bench', 'bench');
    browser = await launchChromium();
    const warm = await signIns(cluster.info, install.namespace, install.hubUrl, browser, warmClass, runs);
    const cold = await signIns(cluster.info, install.namespace, install.hubUrl, browser, coldClass, runs);
    return { warm, cold };
  } finally {
    await browser?.close();
    await install?.uninstall();
    await cluster.stop();
  }
}
