/**
 * What a lab author writes in labs/<id>/lab.ts: `export default defineLab({...})`. The lab types
 * are inferred from the zod schema (src/shared/lab-definition.ts) instantiated here with the
 * precise signatures of checks and actions, so the editor checks every field as it is written
 * and the loader validates the same schema when the labs load.
 */
import type { V1ControllerRevision, V1DaemonSet, V1Node, V1Pod, CoreV1Event, V1Taint } from '@kubernetes/client-node';
import type { z } from 'zod';
import { labDefinitionSchema } from '../../shared/lab-definition.ts';
import type { CheckReason, CheckStatus, LabReport } from '../../shared/lab-results.ts';
import type { KubeClients } from '../cluster/kube.ts';
import type { NodeConditionName } from '../cluster/embedded/simulation/conditions.ts';
import type { ProviderName } from '../cluster/providers/provider.ts';

/**
 * The cluster as one check run sees it. Each list is fetched at most once per run and shared by
 * every check, so a whole lab check costs a handful of list calls.
 */
export interface ClusterSnapshot {
  nodes(): Promise<V1Node[]>;
  /** Pods of namespace `default`, where labs run. */
  pods(): Promise<V1Pod[]>;
  daemonSets(): Promise<V1DaemonSet[]>;
  daemonSet(name: string): Promise<V1DaemonSet | undefined>;
  /** ControllerRevisions of namespace `default`: DaemonSet rollout history. */
  revisions(): Promise<V1ControllerRevision[]>;
  /** Events of namespace `default`. */
  events(): Promise<CoreV1Event[]>;
}

/** Which engine runs the cluster, for steps only some engines can do. */
export interface EngineFacts {
  readonly provider: ProviderName;
  readonly canChangeNodes: boolean;
}

/** What a check receives. */
export interface CheckContext {
  readonly snapshot: ClusterSnapshot;
  readonly engine: EngineFacts;
  /** Steps that passed since the latest start (from the progress database), for steps that build on an earlier event. */
  readonly passedSteps: ReadonlySet<string>;
  /**
   * The taints each node has by design (the topology's, plus the lab's setup): a check for a
   * toleration fails when one is gone, since removing the node's taint is not tolerating it.
   */
  readonly labTaints: ReadonlyMap<string, readonly V1Taint[]>;
}

/** What a check returns: a result, never an exception, for unfinished work. */
export interface CheckOutcome {
  readonly status: CheckStatus;
  /** What was observed, naming the node or field at fault. */
  readonly observed: string;
  /** For a failure: what to look at or run next; it teaches, it does not give the answer. */
  readonly hint?: string;
  /** The causes behind `observed`, as data. */
  readonly reasons?: readonly CheckReason[];
}

/** A check function. */
export type CheckFunction = (context: CheckContext) => Promise<CheckOutcome>;

/**
 * What solutions and trials may do to the cluster: the moves a learner makes with kubectl, done
 * through the API. Paths are relative to the lab folder (labs/<id>/).
 */
export interface LabActions {
  readonly clients: KubeClients;
  readonly engine: EngineFacts;
  /** `kubectl apply -f labs/<id>/<path>`: every object of the file becomes what the file says (see applyManifests). */
  applyFile(path: string): Promise<void>;
  /** Applies YAML text (one or more documents). */
  applyYaml(yaml: string): Promise<void>;
  /** Reads a lab file, e.g. to apply a variant of it. */
  readFile(path: string): string;
  /** `kubectl label node NODE key=value` (null removes the label). */
  labelNode(node: string, key: string, value: string | null): Promise<void>;
  /** `kubectl taint nodes NODE key=value:Effect` (`remove` takes it away again). */
  taintNode(node: string, taint: V1Taint, remove?: boolean): Promise<void>;
  /** `kubectl cordon NODE` / `uncordon`. */
  cordon(node: string, unschedulable?: boolean): Promise<void>;
  /** `kubectl set image daemonset/NAME container=image`. */
  setImage(daemonSet: string, container: string, image: string): Promise<void>;
  /** `kubectl annotate daemonset NAME key=value --overwrite`. */
  annotateDaemonSet(daemonSet: string, key: string, value: string): Promise<void>;
  /** A JSON merge patch of a DaemonSet, like `kubectl patch daemonset NAME --type merge -p …`. */
  patchDaemonSet(daemonSet: string, patch: object): Promise<void>;
  /** `kubectl rollout undo daemonset/NAME`: the previous revision's template. */
  rolloutUndo(daemonSet: string): Promise<void>;
  /** Waits until a DaemonSet's rollout is complete, like `kubectl rollout status` (60 s unless told). */
  waitForRollout(daemonSet: string, timeoutMs?: number): Promise<void>;
  /**
   * `kubectl delete daemonset NAME --cascade=…`: `background` (the default) deletes its pods
   * too, `orphan` leaves them running without an owner. Waits until the DaemonSet is gone.
   */
  deleteDaemonSet(daemonSet: string, cascade?: 'background' | 'foreground' | 'orphan'): Promise<void>;
  /** Deletes the DaemonSet's pod on a node (`kubectl delete pod …`); waits for it to go. */
  deletePodOn(daemonSet: string, node: string): Promise<void>;
  /** `npm run cluster -- add-node`; returns the node's name. */
  addNode(labels?: Record<string, string>): Promise<string>;
  /** `npm run cluster -- remove-node NAME`. */
  removeNode(name: string): Promise<void>;
  /**
   * `npm run cluster -- node-condition NODE NotReady [--clear]`: the simulated node reports the
   * condition (or stops); waits until it does. Only engines that change nodes (embedded) can.
   */
  setNodeCondition(node: string, condition: NodeConditionName, clear?: boolean): Promise<void>;
  /** Runs another step's reference solution (a trial for step 2 first solves step 1). */
  solveStep(stepId: string): Promise<void>;
  /** Runs the lab's checks now, as the learner's "check" button does (records passed steps). */
  checkNow(): Promise<LabReport>;
  /** Polls until `probe` returns a value (not undefined), like a learner re-running kubectl get. */
  waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
}

/** The reference solution of a step, or a trial's act: kubectl-like moves through the API. */
export type LabAction = (actions: LabActions) => Promise<void>;

/**
 * The lab schema with the real signatures: the single source of the lab types below, which
 * are inferred from it (no hand-written twin).
 */
export const LAB_SCHEMA = labDefinitionSchema<CheckFunction, LabAction>();

/** What an author writes (defaults such as a check's weight may be left out). */
export type LabDefinitionInput = z.input<typeof LAB_SCHEMA>;
/** A validated lab definition, defaults filled in. */
export type LabDefinition = z.output<typeof LAB_SCHEMA>;
/** One step of a lab. */
export type LabStep = LabDefinition['steps'][number];
/** One check of a step. */
export type LabCheck = LabStep['checks'][number];
/** A wrong attempt or an alternative solution. */
export type LabTrial = LabDefinition['trials'][number];
/** A plausible mistake that must fail the named check with a hint containing `hintIncludes`. */
export type WrongTrial = Extract<LabTrial, { kind: 'wrong' }>;
/** An alternative correct solution whose steps must pass. */
export type CorrectTrial = Extract<LabTrial, { kind: 'correct' }>;

/** Declares a lab. Only typing: validation happens when the labs load (see loader.ts). */
export function defineLab(definition: LabDefinitionInput): LabDefinitionInput {
  return definition;
}

/** A passing check outcome. */
export function pass(observed: string): CheckOutcome {
  return { status: 'pass', observed };
}

/** A failing check outcome with its hint, and the causes as data when there are some. */
export function fail(observed: string, hint: string, reasons?: readonly CheckReason[]): CheckOutcome {
  return { status: 'fail', observed, hint, ...(reasons?.length ? { reasons } : {}) };
}

/**
 * A check this engine cannot judge (e.g. adding nodes on kind): shown to the learner as not
 * applicable, never counted as passed.
 */
export function notApplicable(observed: string): CheckOutcome {
  return { status: 'not-applicable', observed };
}
