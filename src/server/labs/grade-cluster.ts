/**
 * The cluster `lab grade` judges on. Embedded: a cluster of its own, in a scratch state folder on
 * free ports, deleted afterwards, so grading never touches a learner's cluster and two gradings
 * can run side by side. kind: the `daemonset-lab` kind cluster, created if absent (and then
 * deleted afterwards); each lab's set-up resets it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.ts';
import { embeddedPorts, portIsFree } from '../cluster/providers/embedded.ts';
import type { ProviderContext } from '../cluster/providers/context.ts';
import type { ClusterProvider } from '../cluster/providers/provider.ts';
import { createProvider } from '../cluster/providers/registry.ts';
import { processRunner } from '../cluster/providers/runner.ts';
import { createLabEngine, type LabEngine } from './engine.ts';

/** The engines `lab grade` can use. */
export const GRADE_ENGINES = ['embedded', 'kind'] as const;
export type GradeEngine = (typeof GRADE_ENGINES)[number];

/** Where grading looks for free embedded ports first (kube-apiserver on 26443), away from the learner's default 16400. */
export const GRADE_PORT_BASE = 26400;

/** A running grading cluster with its lab engine; `close` stops and deletes what grading created. */
export interface GradingCluster {
  readonly provider: ClusterProvider;
  readonly engine: LabEngine;
  close(): Promise<void>;
}

/** The first port base from `preferred` (steps of 100) whose embedded ports are all free. */
async function freePortBase(preferred: number): Promise<number> {
  for (let base = preferred; base < preferred + 3000; base += 100) {
    const ports = Object.values(embeddedPorts(base));
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  return preferred; // All busy: up() names the busy port.
}

/** Starts the grading cluster. An engine that cannot start throws EnvironmentError (exit 3). */
export async function startGradingCluster(engineName: GradeEngine): Promise<GradingCluster> {
  const stateDir = mkdtempSync(join(tmpdir(), 'daemonset-lab-grade-'));
  const context: ProviderContext = { stateDir, portBase: await freePortBase(GRADE_PORT_BASE), runner: processRunner };
  const provider = createProvider(engineName, context);
  const removeState = () => rmSync(stateDir, { recursive: true, force: true });
  try {
    const availability = await provider.availability();
    if (!availability.usable) {
      throw new EnvironmentError(`The ${engineName} engine cannot run here: ${availability.reason}.`, availability.fix ?? 'Grade with --engine embedded.');
    }
    const wasRunning = engineName === 'kind' && (await provider.status()).running;
    await provider.up();
    const engine = createLabEngine({ provider, stateDir });
    return {
      provider,
      engine,
      async close() {
        engine.close();
        if (!wasRunning) await provider.down({ purge: true });
        removeState();
      },
    };
  } catch (error) {
    // A half-started embedded cluster of our own goes; a kind cluster is left as it is.
    if (engineName === 'embedded') await provider.down({ purge: true }).catch(() => undefined);
    removeState();
    if (error instanceof EnvironmentError) throw error;
    throw new EnvironmentError(`The ${engineName} grading cluster did not start: ${error instanceof Error ? error.message : String(error)}`, 'Run the grading again (exit code 3 is worth a retry); npm run setup checks the binaries.');
  }
}
