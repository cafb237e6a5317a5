/**
 * Durations of the phases of a long operation (the embedded engine's `up`), for finding where its
 * time goes: `DAEMONSET_LAB_TIMINGS=1 npm run cluster -- up` prints them on stderr, and
 * `npm run bench -- --only cluster --timings` beside each cold start. Measurement only: nothing
 * decides anything from them.
 */

/** One finished phase: its name, when it began after the operation began, and how long it took. */
export interface PhaseTiming {
  readonly phase: string;
  readonly startMs: number;
  readonly durationMs: number;
}

/** Runs `work` as a named phase (see {@link PhaseTimings.time}). */
export type Timer = <T>(phase: string, work: () => Promise<T>) => Promise<T>;

/** Records phases of one operation; phases may overlap (they run concurrently). */
export class PhaseTimings {
  readonly #began = performance.now();
  readonly #phases: PhaseTiming[] = [];

  /** Runs `work` as the phase `phase` and records how long it took, whether it succeeded or not. */
  async time<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.#phases.push({ phase, startMs: start - this.#began, durationMs: performance.now() - start });
    }
  }

  /** The phases recorded so far, in the order they began. */
  phases(): PhaseTiming[] {
    return [...this.#phases].sort((a, b) => a.startMs - b.startMs);
  }

  /** One line per phase: `  +1.20 s  0.35 s  name`, then the total. */
  format(title: string): string {
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const lines = this.phases().map((p) => `  +${seconds(p.startMs).padStart(8)}  ${seconds(p.durationMs).padStart(8)}  ${p.phase}`);
    return `${title}: ${seconds(performance.now() - this.#began)}\n${lines.join('\n')}\n`;
  }
}

/** Whether `DAEMONSET_LAB_TIMINGS` asks for phase timings on stderr. */
export function timingsRequested(): boolean {
  const value = process.env.DAEMONSET_LAB_TIMINGS;
  return value !== undefined && value !== '' && value !== '0';
}
