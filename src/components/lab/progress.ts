/**
 * The lab page's progress line. Progress comes from the engine's store (it survives an outage and
 * a restart); the checks read the cluster now. When the two disagree — steps passed earlier that
 * the cluster no longer shows, e.g. after `npm run cluster -- reset` — the line says which is which
 * instead of claiming "lab complete" above a column of ✗.
 */
import type { LabReport } from '../../shared/lab-results.ts';
import type { LabProgress, LabSummary } from '../../shared/lab-summary.ts';

/** What the progress line shows. */
export interface ProgressLine {
  readonly text: string;
  /** Every step passed (now, or earlier in this attempt). */
  readonly complete: boolean;
  /** Titles of steps passed earlier that the live checks no longer pass. */
  readonly noLongerShown: readonly string[];
}

/** The progress line for stored progress and the latest live report (either may be missing). */
export function progressLine(lab: LabSummary, progress: LabProgress | undefined, live: LabReport | undefined): ProgressLine {
  const total = lab.steps.length;
  const passedNow = new Set(live?.steps.filter((s) => s.passed).map((s) => s.id) ?? []);
  const passedEarlier = new Set(progress?.passedSteps.map((s) => s.stepId) ?? []);
  if (!progress && !live) return { text: '', complete: false, noLongerShown: [] };
  const complete = progress ? progress.completedAt !== undefined : Boolean(live?.passed);
  // Only a live report can say the cluster no longer shows a step.
  const noLongerShown = live ? lab.steps.filter((s) => passedEarlier.has(s.id) && !passedNow.has(s.id)).map((s) => s.title) : [];
  const passed = progress ? passedEarlier.size : passedNow.size;
  if (noLongerShown.length === 0) {
    return { text: `${passed} of ${total} steps done${complete ? ' — lab complete' : ''}`, complete, noLongerShown };
  }
  const earlier = complete ? 'Lab completed earlier' : `${passed} of ${total} steps done earlier`;
  const which = noLongerShown.length === passedEarlier.size ? (passedEarlier.size === 1 ? 'it' : 'them') : noLongerShown.map((t) => `“${t}”`).join(', ');
  return { text: `${earlier}; the cluster no longer shows ${which} (${passedNow.size} of ${total} steps pass now)`, complete, noLongerShown };
}
