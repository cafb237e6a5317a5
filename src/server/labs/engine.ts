/**
 * The lab engine: starts a lab (baseline cluster + the lab's setup + start files in the
 * workspace), checks it against live cluster state, applies the reference solution, resets it,
 * and keeps the learner's progress. The command line (scripts/lab.ts) and the browser server use
 * this one API.
 *
 * Workspace layout, <stateDir>/workspaces/<id>/: the start files (what the editor and terminal
 * share); solution/ (written by solve: the reference files, same relative paths as the start
 * files); .backup/<timestamp>/ (the learner's edited files, moved there by reset).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiException, PatchStrategy, setHeaderOptions, type KubernetesObject, type V1Taint } from '@kubernetes/client-node';
import { TOPOLOGY } from '../cluster/topology.ts';
import type { CheckResult, LabReport, StepReport } from '../../shared/lab-results.ts';
import type { LabSummary, ProgressSnapshot } from '../../shared/lab-summary.ts';
import { EnvironmentError, NodeChangesUnsupportedError, SolveStalledError } from '../errors.ts';
import { JSON_PATCH, apiServerMessage, kubeClients, waitFor, type KubeClients } from '../cluster/kube.ts';
import { createdObjectsFile, recordCreated } from '../cluster/created-objects.ts';
import { assertMayChangeCluster } from '../cluster/providers/existing.ts';
import type { ClusterProvider } from '../cluster/providers/provider.ts';
import { applyManifests, isTransportError, labActions, parseManifests } from './actions.ts';
import { describePod, isPodOf } from './checks/scheduling.ts';
import type { CheckContext, EngineFacts, LabActions, LabDefinition } from './define.ts';
import type { LoadedLab } from './loader.ts';
import { openProgressStore, type ProgressStore } from './progress-db.ts';
import { allLabs, findLab } from './registry.ts';
import { backUpEntries, copyIntoWorkspace, entryExists } from './workspace-files.ts';
import { LAB_NAMESPACE, clusterSnapshot } from './snapshot.ts';

/** How the engine reaches the cluster and where it keeps state. */
export interface LabEngineOptions {
  provider: ClusterProvider;
  /** Holds progress.sqlite and workspaces/; outside the repository. */
  stateDir: string;
  /** Lets lab setup label and taint nodes of a cluster without the lab marker. */
  allowNonLabCluster?: boolean;
  /** How long solve waits for each step to pass once its solution is applied (tests shorten it). */
  solveStepTimeoutMs?: number;
}

/** The lab engine's API. */
export interface LabEngine {
  list(): LabSummary[];
  /** A UsageError listing the valid ids when `id` is unknown. */
  summary(id: string): LabSummary;
  /** Baseline cluster + lab setup; start files into the workspace if absent; records the start; returns the first check. */
  start(id: string): Promise<LabReport>;
  /** Reads the cluster (a few list calls, no writes) and records newly passed steps. An unreachable cluster comes back as `environment`. */
  check(id: string): Promise<LabReport>;
  /** Applies the reference solution step by step, writes the solution files to <workspace>/solution/, returns the check. */
  solve(id: string): Promise<LabReport>;
  /** Restores the start state: cluster (incl. node labels and taints) and start files, edited files moved to .backup/<timestamp>/ first. */
  reset(id: string): Promise<LabReport>;
  /** <stateDir>/workspaces/<id>. */
  workspaceDir(id: string): string;
  /** The reference files, with the relative path of the start file they solve. */
  solutionFiles(id: string): Array<{ path: string; content: string }>;
  progress(): ProgressSnapshot;
  /** The kubectl-like moves of a lab's solutions and trials, for verify-all and tests. */
  actions(id: string): Promise<LabActions>;
  /** Closes the progress database. */
  close(): void;
}

/** The command that starts the lab cluster, named whenever it is down. */
export const START_CLUSTER_COMMAND = 'npm run cluster -- up';

/** How long start waits for setup pods to be Ready or visibly broken. */
const SETTLE_TIMEOUT_MS = 15_000;

/**
 * How long solve waits for one step to pass once its solution is applied: a rollout that replaces
 * a learner's pods on a busy machine can take more than a minute.
 */
const STEP_SETTLE_MS = 120_000;

/** The summary of a loaded lab. */
export function labSummary(lab: LoadedLab): LabSummary {
  const { definition } = lab;
  return {
    id: definition.id,
    title: definition.title,
    summary: definition.summary,
    ...(definition.lessonSlug ? { lessonSlug: definition.lessonSlug } : {}),
    needsNodeChanges: definition.needsNodeChanges ?? false,
    steps: definition.steps.map((s) => ({ id: s.id, title: s.title, instructions: lab.instructions.get(s.id) ?? '' })),
    startFiles: [...lab.startFiles],
  };
}

/** The taints every node has by design: the topology's, plus those the lab's setup adds. */
export function labTaints(definition: LabDefinition): Map<string, V1Taint[]> {
  const taints = new Map(TOPOLOGY.map((node) => [node.name, [...node.taints]]));
  for (const node of definition.setup.nodes ?? []) taints.set(node.node, [...(taints.get(node.node) ?? []), ...(node.taints ?? [])]);
  return taints;
}

/** A cluster that cannot be reached, as an EnvironmentError naming the command that starts it. */
export function unreachable(error: unknown): EnvironmentError {
  if (error instanceof EnvironmentError) return error;
  return new EnvironmentError(`The lab cluster does not answer (${apiServerMessage(error)}).`, START_CLUSTER_COMMAND);
}

/** Errors that mean "no cluster to talk to", as opposed to a bug or a learner's mistake. */
function isEnvironmentProblem(error: unknown): boolean {
  return error instanceof EnvironmentError || isTransportError(error) || (error instanceof ApiException && (error.code === 401 || error.code === 403 || error.code >= 500));
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Every step passed, or those that did not have only not-applicable checks besides passing ones
 * (this engine cannot show them). Such steps are still not passed: report.passed stays false.
 */
export function solvedWhereApplicable(steps: readonly StepReport[]): boolean {
  return steps.length > 0 && steps.every((s) => s.passed || s.checks.every((c) => c.status !== 'fail'));
}

/** Pod states a lab may start from: Ready, or stuck in a way the learner is meant to diagnose. */
export const SETTLED_REASONS: ReadonlySet<string> = new Set(['Ready', 'Unschedulable', 'ErrImagePull', 'ImagePullBackOff', 'CrashLoopBackOff', 'StartError', 'RunContainerError', 'CreateContainerError', 'Error']);

/**
 * How long a pod must have run before start counts it settled as Ready. A real kubelet reports a
 * container that exits at once as Ready until its next status sync notices the exit (PLEG relists
 * every second, later on a busy machine); the simulated node plays the container's plan and never
 * shows that moment, so it needs no wait.
 */
function readySettleSeconds(provider: ClusterProvider): number {
  return provider.name === 'embedded' ? 0 : 5;
}

/**
 * Waits (briefly) until the setup DaemonSets' pods are Ready or visibly broken, so the first check
 * shows the lab's problem ("ImagePullBackOff") rather than "ContainerCreating". Never fails: a
 * slow pod only makes the first check less telling.
 */
async function waitForSettledPods(kube: KubeClients, daemonSets: readonly string[], readyForSeconds: number): Promise<void> {
  if (!daemonSets.length) return;
  try {
    await waitFor(
      'the lab setup pods to settle',
      async () => {
        const [sets, pods] = await Promise.all([
          kube.apps.listNamespacedDaemonSet({ namespace: LAB_NAMESPACE }),
          kube.core.listNamespacedPod({ namespace: LAB_NAMESPACE }),
        ]);
        const owned = sets.items.filter((d) => daemonSets.includes(d.metadata!.name!));
        const settled = pods.items
          .filter((p) => owned.some((d) => isPodOf(p, d)))
          .every((p) => {
            const state = describePod(p);
            if (state.reason === 'Ready') return (state.runningSeconds ?? readyForSeconds) >= readyForSeconds;
            return SETTLED_REASONS.has(state.reason) || state.lastExitCode !== undefined;
          });
        return settled ? true : undefined;
      },
      SETTLE_TIMEOUT_MS,
    );
  } catch {
    // Still starting after the timeout: start anyway (see above).
  }
}

/** Creates the engine. */
export function createLabEngine(options: LabEngineOptions): LabEngine {
  const { provider, stateDir, solveStepTimeoutMs = STEP_SETTLE_MS } = options;
  const engineFacts: EngineFacts = { provider: provider.name, canChangeNodes: provider.canChangeNodes };
  let store: ProgressStore | undefined;
  const progressStore = () => (store ??= openProgressStore(join(stateDir, 'progress.sqlite')));
  let cachedClients: Promise<KubeClients> | undefined;
  const clients = () =>
    (cachedClients ??= provider.connection().then((c) => kubeClients(c.kubeconfig, c.context)).catch((error: unknown) => {
      cachedClients = undefined;
      throw unreachable(error);
    }));

  const workspaceDir = (id: string) => join(stateDir, 'workspaces', findLab(id).definition.id);

  /**
   * On a cluster the user already had (existing engine), what the labs create is recorded, so
   * that lab set-up and reset there delete only that (see created-objects.ts).
   */
  const recordCreations = (kube: KubeClients) =>
    provider.name === 'existing' ? (object: KubernetesObject) => recordCreated(createdObjectsFile(stateDir), kube.config.getCurrentContext(), object) : undefined;

  /** Runs every check of a lab once against a fresh snapshot, and records newly passed steps. */
  async function runChecks(lab: LoadedLab, kube: KubeClients): Promise<LabReport> {
    const started = performance.now();
    const { definition } = lab;
    const passedBefore = progressStore().passedSteps(definition.id);
    const context: CheckContext = { snapshot: clusterSnapshot(kube), engine: engineFacts, passedSteps: passedBefore, labTaints: labTaints(definition) };
    const steps: StepReport[] = await Promise.all(
      definition.steps.map(async (step) => {
        let checks: CheckResult[] = await Promise.all(
          step.checks.map(async (check) => {
            const outcome = await check.run(context);
            return {
              id: check.id,
              title: check.title,
              status: outcome.status,
              observed: outcome.observed,
              ...(outcome.status === 'fail' && outcome.hint ? { hint: outcome.hint } : {}),
              ...(outcome.reasons?.length ? { reasons: [...outcome.reasons] } : {}),
            };
          }),
        );
        if (step.sticky && passedBefore.has(step.id) && checks.some((c) => c.status === 'fail')) {
          // The evidence is gone because a later step removed it on purpose (a node added, then removed).
          checks = checks.map(({ hint: _hint, reasons: _reasons, ...c }) =>
            c.status === 'fail' ? { ...c, status: 'pass', observed: `Passed earlier in this attempt. Now: ${c.observed}` } : c,
          );
        }
        return { id: step.id, title: step.title, passed: checks.every((c) => c.status === 'pass'), checks };
      }),
    );
    progressStore().recordPassed(
      definition.id,
      steps.filter((s) => s.passed).map((s) => s.id),
      steps.map((s) => s.id),
    );
    return {
      labId: definition.id,
      checkedAt: new Date().toISOString(),
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      passed: steps.every((s) => s.passed),
      steps,
    };
  }

  async function check(id: string): Promise<LabReport> {
    const lab = findLab(id);
    const started = performance.now();
    try {
      return await runChecks(lab, await clients());
    } catch (error) {
      if (!isEnvironmentProblem(error)) throw error;
      const problem = unreachable(error);
      return {
        labId: lab.definition.id,
        checkedAt: new Date().toISOString(),
        durationMs: Math.round(performance.now() - started),
        passed: false,
        steps: [],
        environment: { message: problem.message, fix: problem.fix },
      };
    }
  }

  /** Clients for a cluster that answers and that lab setup may change. */
  async function changeableClients(what: string): Promise<KubeClients> {
    const kube = await clients();
    try {
      await kube.core.listNode();
    } catch (error) {
      throw unreachable(error);
    }
    await assertMayChangeCluster(kube, options.allowNonLabCluster ?? false, what);
    return kube;
  }

  /** Baseline, then the lab's node labels and taints, then its manifests; waits for its DaemonSets to have their pods. */
  async function prepareCluster(lab: LoadedLab, kube: KubeClients): Promise<void> {
    await provider.reset();
    const actions = actionsFor(lab, kube);
    for (const node of lab.definition.setup.nodes ?? []) {
      if (node.labels) await kube.core.patchNode({ name: node.node, body: { metadata: { labels: node.labels } } }, MERGE_PATCH);
      if (node.taints?.length) {
        const current = (await kube.core.readNode({ name: node.node })).spec?.taints ?? [];
        await kube.core.patchNode({ name: node.node, body: [{ op: 'add', path: '/spec/taints', value: [...current, ...node.taints] }] }, JSON_PATCH);
      }
    }
    const daemonSets: string[] = [];
    for (const manifest of lab.definition.setup.manifests) {
      const text = actions.readFile(manifest);
      await applyManifests(kube, text, `labs/${lab.definition.id}/${manifest}`, recordCreations(kube));
      daemonSets.push(...parseManifests(text, manifest).filter((o) => o.kind === 'DaemonSet').map((o) => o.metadata!.name!));
    }
    // Checks right after start should judge the lab's starting point, not a half-created one.
    for (const name of daemonSets) {
      await waitFor(
        `daemonset/${name} of the lab setup to create its pods`,
        async () => {
          const ds = await kube.apps.readNamespacedDaemonSet({ name, namespace: LAB_NAMESPACE });
          const status = ds.status;
          return status && (status.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 1) && status.currentNumberScheduled === status.desiredNumberScheduled
            ? true
            : undefined;
        },
        30_000,
      );
    }
    await waitForSettledPods(kube, daemonSets, readySettleSeconds(provider));
  }

  /**
   * Waits until the steps `stepIds` pass (where applicable) once their solution is applied; the
   * report that shows it. In time or not at all: a SolveStalledError then quotes what the first
   * failing step's checks saw, because something changed the lab's objects meanwhile.
   */
  async function passesAfterSolution(lab: LoadedLab, kube: KubeClients, stepIds: readonly string[]): Promise<LabReport> {
    const { id } = lab.definition;
    let last: LabReport | undefined;
    try {
      return await waitFor(
        `${stepIds.length === 1 ? `step "${stepIds[0]}"` : 'every step'} of lab ${id} to pass after its solution`,
        async () => {
          last = await runChecks(lab, kube);
          return solvedWhereApplicable(last.steps.filter((s) => stepIds.includes(s.id))) ? last : undefined;
        },
        solveStepTimeoutMs,
        250,
      );
    } catch (error) {
      const stalled = last?.steps.find((s) => stepIds.includes(s.id) && !solvedWhereApplicable([s]));
      if (!stalled || isTransportError(error)) throw error;
      const seen = stalled.checks.filter((c) => c.status === 'fail').map((c) => `${c.title}: ${c.observed}`).join(' ');
      throw new SolveStalledError(
        `Solve applied the reference solution, but step "${stalled.title}" did not pass within ${Math.round(solveStepTimeoutMs / 1000)} s. Its checks saw: ${seen}`,
        `Something changed the lab's objects while Solve ran (a kubectl apply of your own file replaces the solution), or the cluster was too busy. Run Solve again once nothing else is changing them, or reset the lab.`,
        stalled.id,
      );
    }
  }

  function actionsFor(lab: LoadedLab, kube: KubeClients): LabActions {
    const actions: LabActions = labActions({
      clients: kube,
      provider,
      engine: engineFacts,
      labDir: lab.dir,
      solveStep: async (stepId) => {
        const step = lab.definition.steps.find((s) => s.id === stepId);
        if (!step) throw new Error(`Lab ${lab.definition.id} has no step ${stepId}`);
        await step.solve(actions);
      },
      checkNow: () => runChecks(lab, kube),
      onCreated: recordCreations(kube),
    });
    return actions;
  }

  /** Copies the start files into the workspace; only missing ones unless `overwrite`. Never through a symlink. */
  function copyStartFiles(lab: LoadedLab, overwrite: boolean): void {
    const workspace = workspaceDir(lab.definition.id);
    mkdirSync(workspace, { recursive: true });
    for (const file of lab.startFiles) {
      if (!overwrite && entryExists(join(workspace, file))) continue;
      copyIntoWorkspace(join(lab.dir, 'start', file), workspace, file);
    }
  }

  /** Moves every workspace entry that is not an untouched start file into .backup/<timestamp>/ (links as links). */
  function backUpEditedFiles(lab: LoadedLab): string | undefined {
    const workspace = workspaceDir(lab.definition.id);
    const stamp = new Date().toISOString().replaceAll(':', '-');
    const untouched = (file: string, content: Buffer) => {
      const start = join(lab.dir, 'start', file);
      return existsSync(start) && readFileSync(start).equals(content);
    };
    return backUpEntries(workspace, stamp, untouched, ['.backup/', 'solution/']);
  }

  async function startOrReset(id: string, resetting: boolean): Promise<LabReport> {
    const lab = findLab(id);
    const kube = await changeableClients(`${resetting ? 'reset' : 'set up'} lab ${lab.definition.id}`);
    try {
      await prepareCluster(lab, kube);
    } catch (error) {
      throw isTransportError(error) ? unreachable(error) : error;
    }
    if (resetting) backUpEditedFiles(lab);
    copyStartFiles(lab, resetting);
    progressStore().recordStart(lab.definition.id);
    return check(id);
  }

  return {
    list: () => [...allLabs().values()].map(labSummary),
    summary: (id) => labSummary(findLab(id)),
    start: (id) => startOrReset(id, false),
    reset: (id) => startOrReset(id, true),
    check,

    async solve(id) {
      const lab = findLab(id);
      const kube = await changeableClients(`solve lab ${lab.definition.id}`);
      const workspace = workspaceDir(id);
      mkdirSync(workspace, { recursive: true });
      for (const file of lab.solutionFiles) copyIntoWorkspace(join(lab.dir, 'solution', file), workspace, `solution/${file}`);
      const actions = actionsFor(lab, kube);
      for (const step of lab.definition.steps) {
        try {
          await step.solve(actions);
        } catch (error) {
          // Adding a node on kind: the step's checks say "not applicable", which the wait below confirms.
          if (!(error instanceof NodeChangesUnsupportedError)) throw error;
        }
        // Wait for the step to pass before the next one: later steps build on it, and sticky
        // steps must be seen passing before their evidence goes.
        await passesAfterSolution(lab, kube, [step.id]);
      }
      // Every step passed on its own; the whole lab must pass at once (later steps may take a
      // moment to settle what earlier ones showed). Not-applicable checks stay so: report.passed is false then.
      return passesAfterSolution(lab, kube, lab.definition.steps.map((s) => s.id));
    },

    workspaceDir,

    solutionFiles(id) {
      const lab = findLab(id);
      return lab.solutionFiles.map((path) => ({ path, content: readFileSync(join(lab.dir, 'solution', path), 'utf8') }));
    },

    progress: () => progressStore().snapshot(),

    async actions(id) {
      return actionsFor(findLab(id), await clients());
    },

    close() {
      store?.close();
      store = undefined;
    },
  };
}
