/**
 * A cluster provider brings up the `daemonset-lab` cluster on one engine and answers for it.
 * Implementations stay private to this folder; everything else goes through this interface and
 * the registry in registry.ts.
 */
import type { NewNode, NodeTemplate } from '../topology.ts';

/** The engines there are. `auto` picks one of the first two. */
export const PROVIDER_NAMES = ['embedded', 'kind', 'existing'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
export type ProviderChoice = ProviderName | 'auto';

/** Whether a provider can run here, and if not, why and what would fix it. */
export interface ProviderAvailability {
  readonly usable: boolean;
  /** What was found, in a sentence: "kind v0.32.0 and a working Docker daemon", or why not. */
  readonly reason: string;
  /** For an unusable provider: what would make it usable. */
  readonly fix?: string;
  /** For a usable provider that would first need a long build (kind without a node image): why. */
  readonly slowStart?: string;
}

/** A node as `status` reports it. */
export interface NodeSummary {
  readonly name: string;
  readonly ready: boolean;
  readonly roles: string[];
}

/** What `status` reports. */
export interface ClusterStatus {
  readonly provider: ProviderName;
  readonly running: boolean;
  readonly kubeconfig: string;
  readonly context: string;
  readonly nodes: readonly NodeSummary[];
  /** One line for people: "running, 4 of 4 nodes Ready" or why it is not running. */
  readonly summary: string;
}

/** How tools reach the cluster: `kubectl --kubeconfig <kubeconfig> --context <context>`. */
export interface ClusterConnection {
  readonly kubeconfig: string;
  readonly context: string;
  /** The folder holding the project's kubectl, put first on PATH by `cluster env` and the lab shell. */
  readonly kubectlDir: string;
}

/** A cluster engine. */
export interface ClusterProvider {
  readonly name: ProviderName;
  /** Whether nodes can be added and removed live (only when the engine simulates them). */
  readonly canChangeNodes: boolean;
  /** Whether this provider can run here; never throws. */
  availability(): Promise<ProviderAvailability>;
  /** Starts the cluster, or finds it running, and brings it to the baseline. Idempotent. */
  up(): Promise<ClusterStatus>;
  /** Stops the cluster; `purge` also deletes its data. A calm no-op when nothing is up. Returns what it did. */
  down(options?: { purge?: boolean }): Promise<string>;
  status(): Promise<ClusterStatus>;
  /** Returns the cluster to the baseline topology and removes everything a learner made. */
  reset(): Promise<void>;
  connection(): Promise<ClusterConnection>;
  /** Adds a worker; returns its name. Throws when {@link canChangeNodes} is false. */
  addNode(node: NewNode): Promise<string>;
  /**
   * Adds `count` workers alike (`add-nodes`) and waits until all are Ready; returns their names.
   * Only engines that simulate nodes have it.
   */
  addNodes?(count: number, template: NodeTemplate): Promise<string[]>;
  /** Removes a node and its pods. Throws when {@link canChangeNodes} is false. */
  removeNode(name: string): Promise<void>;
}

/** The result of running an external command. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for one command. */
export interface CommandOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Text written to the command's standard input. */
  readonly input?: string;
  /** Inherit the terminal (long commands that print their own progress, like `kind create`). */
  readonly interactive?: boolean;
}

/**
 * Runs external commands. Providers never spawn processes directly, so a recording runner can
 * capture the exact commands an engine would run (kind's golden files).
 */
export interface CommandRunner {
  run(command: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
}
