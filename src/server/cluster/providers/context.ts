import { join } from 'node:path';
import { stateDir } from '../../paths.ts';
import type { CommandRunner } from './provider.ts';
import { processRunner } from './runner.ts';

/** Everything a provider needs from its surroundings; tests build their own. */
export interface ProviderContext {
  /** Where this cluster's data, kubeconfig and saved choices live. */
  readonly stateDir: string;
  /**
   * Base of the embedded engine's local ports (kube-apiserver at base+43, …), so that a test
   * cluster and a learner's cluster can run side by side.
   */
  readonly portBase: number;
  readonly runner: CommandRunner;
  /** For the existing engine: which kubeconfig and context to use. */
  readonly existing?: {
    readonly kubeconfig?: string;
    readonly context?: string;
    /** Lets lab setup label and taint nodes of a cluster that carries no lab marker. */
    readonly allowNonLabCluster?: boolean;
  };
}

/** The default port base; `DAEMONSET_LAB_PORT_BASE` overrides it. */
export const DEFAULT_PORT_BASE = 16400;

/** The context for this process: state and ports from the environment, real commands. */
export function defaultProviderContext(overrides: Partial<ProviderContext> = {}): ProviderContext {
  const portBase = Number(process.env.DAEMONSET_LAB_PORT_BASE ?? DEFAULT_PORT_BASE);
  return { stateDir: stateDir(), portBase, runner: processRunner, ...overrides };
}

/** Where the saved provider choice is kept: later commands talk to the engine `up` started. */
export function savedProviderFile(context: ProviderContext): string {
  return join(context.stateDir, 'provider.json');
}
