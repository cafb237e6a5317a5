/**
 * The cluster `lab grade` judges on. Embedded: a cluster of its own, in a scratch state folder on
 * free ports, deleted afterwards, so grading never touches a learner's cluster and two gradings
 * can run side by side. kind: the `daemonset-lab` kind cluster, created if absent (and then
 * deleted afterwards); each lab's set-up resets it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Where gradings claim their port bases, so two gradings started at once never pick the same ports. */
const PORT_CLAIMS = join(tmpdir(), 'daemonset-lab-grade-ports');

/** Claims a port base for this process (a folder holding our pid); a claim whose process is gone is taken over. */
function claimPortBase(base: number): (() => void) | undefined {
  const claim = join(PORT_CLAIMS, String(base));
  mkdirSync(PORT_CLAIMS, { recursive: true });
  try {
    mkdirSync(claim);
  } catch {
    // Claimed: skip it unless its owner is gone (a claim without its pid yet is being made now).
    const pidFile = join(claim, 'pid');
    if (!existsSync(pidFile)) return undefined;
    const owner = Number(readFileSync(pidFile, 'utf8').trim() || 0);
    if (owner !== process.pid && existsSync(`/proc/${owner}`)) return undefined;
  }
  writeFileSync(join(claim, 'pid'), String(process.pid));
  return () => rmSync(claim, { recursive: true, force: true });
}

/** The first port base from `preferred` (steps of 100) that no other grading claimed and whose ports are all free. */
async function freePortBase(preferred: number): Promise<{ base: number; release: () => void }> {
  for (let base = preferred; base < preferred + 3000; base += 100) {
    const release = claimPortBase(base);
    if (!release) continue;
    const ports = Object.values(embeddedPorts(base));
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return { base, release };
    release();
  }
  return { base: preferred, release: () => undefined }; // All busy: up() names the busy port.
}

/** Starts the grading cluster. An engine that cannot start throws EnvironmentError (exit 3). */
export async function startGradingCluster(engineName: GradeEngine): Promise<GradingCluster> {
  const stateDir = mkdtempSync(join(tmpdir(), 'daemonset-lab-grade-'));
  const ports = await freePortBase(GRADE_PORT_BASE);
  const context: ProviderContext = { stateDir, portBase: ports.base, runner: processRunner };
  const provider = createProvider(engineName, context);
  const removeState = () => {
    rmSync(stateDir, { recursive: true, force: true });
    ports.release();
  };
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
