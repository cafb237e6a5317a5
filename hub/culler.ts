/**
 * Idle culling from the lab page's heartbeats. Each open page of a learner's lab beats every
 * {@link BEAT_INTERVAL_MS} saying whether it is visible, and says `closed` when the tab goes away.
 * A pod is deleted (its files and progress are in PostgreSQL) when no page beat for the idle
 * timeout, when every page was hidden for the hidden timeout, or when it reached the hard cap.
 */
import type { Classroom } from './classroom.ts';

/** How often a lab page beats. */
export const BEAT_INTERVAL_MS = 30_000;
/** A page silent for this long is gone (a crash or a closed laptop sends no `closed`). */
export const PAGE_STALE_MS = 3 * BEAT_INTERVAL_MS;

export type PageState = 'visible' | 'hidden' | 'closed';

interface PageActivity {
  at: number;
  visible: boolean;
  hiddenSince: number | undefined;
}

/** A learner's recent activity: the pages of their lab and when anything last happened. */
export interface LearnerActivity {
  /** Last heartbeat of any page, or the claim time. */
  lastSeen: number;
  readonly pages: Map<string, PageActivity>;
}

/** Why a pod goes. */
export interface CullDecision {
  readonly reason: 'idle' | 'hidden' | 'max-age';
  readonly message: string;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/** Whether to delete a learner's pod now, and why. Pure: `now` is given. */
export function cullDecision(classroom: Classroom, podStartedAt: number, activity: LearnerActivity, now: number): CullDecision | undefined {
  const age = now - podStartedAt;
  if (age >= classroom.maxPodHours * 3_600_000) {
    return { reason: 'max-age', message: `the pod is ${minutes(age)} old; the class caps a pod at ${classroom.maxPodHours} h` };
  }
  const pages = [...activity.pages.values()].filter((page) => now - page.at < PAGE_STALE_MS);
  const idleFor = now - activity.lastSeen;
  if (pages.length === 0 && idleFor >= classroom.idleTimeoutMinutes * 60_000) {
    return { reason: 'idle', message: `no lab page sent a heartbeat for ${minutes(idleFor)} (idle timeout ${classroom.idleTimeoutMinutes} min)` };
  }
  if (pages.length > 0 && pages.every((page) => !page.visible)) {
    const hiddenFor = now - Math.max(...pages.map((page) => page.hiddenSince ?? page.at));
    if (hiddenFor >= classroom.hiddenTimeoutMinutes * 60_000) {
      return { reason: 'hidden', message: `every lab page was hidden for ${minutes(hiddenFor)} (hidden timeout ${classroom.hiddenTimeoutMinutes} min)` };
    }
  }
  return undefined;
}

/** Heartbeats of every learner, in memory (one hub replica; a restart counts as a fresh beat). */
export class Heartbeats {
  readonly #learners = new Map<string, LearnerActivity>();

  /** The learner's activity, created at `now` (a claim counts as activity). */
  activity(learnerId: string, now = Date.now()): LearnerActivity {
    let activity = this.#learners.get(learnerId);
    if (!activity) {
      activity = { lastSeen: now, pages: new Map() };
      this.#learners.set(learnerId, activity);
    }
    return activity;
  }

  /** Records one page's heartbeat. */
  beat(learnerId: string, pageId: string, state: PageState, now = Date.now()): void {
    const activity = this.activity(learnerId, now);
    activity.lastSeen = now;
    if (state === 'closed') {
      activity.pages.delete(pageId);
      return;
    }
    const page = activity.pages.get(pageId);
    const visible = state === 'visible';
    const hiddenSince = visible ? undefined : (page && !page.visible ? page.hiddenSince : now);
    activity.pages.set(pageId, { at: now, visible, hiddenSince });
  }

  /** Forgets a learner whose pod was culled (the next claim starts afresh). */
  forget(learnerId: string): void {
    this.#learners.delete(learnerId);
  }
}
