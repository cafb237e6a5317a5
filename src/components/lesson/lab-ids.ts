/**
 * The lab ids that lessons may link to: the labs of labs/index.ts, in the same order.
 *
 * The content schema rejects a lesson whose `lab` frontmatter is not listed here, and the build
 * test allows `/labs/<id>/` links only for these ids. The list is spelled out (rather than
 * imported from labs/index.ts) because this file is bundled into the site, and the lab
 * definitions import server code. tests/labs/registry.test.ts fails if it drifts from labs/.
 */
export const KNOWN_LAB_IDS = [
  'first-daemonset',
  'node-lifecycle',
  'node-selection',
  'tolerations',
  'rolling-update',
  'log-collector',
  'troubleshoot-not-scheduling',
  'troubleshoot-crashloop',
] as const;

/** A lab id from {@link KNOWN_LAB_IDS}. */
export type KnownLabId = (typeof KNOWN_LAB_IDS)[number];

/** Narrows an arbitrary string to a {@link KnownLabId}. */
export function isKnownLabId(id: string): id is KnownLabId {
  return (KNOWN_LAB_IDS as readonly string[]).includes(id);
}

/**
 * The site-relative URL of a lab page, e.g. `/labs/first-daemonset/`.
 * Lab pages live at `src/pages/labs/[id].astro`, outside the lessons part.
 */
export function labPath(id: string): string {
  return `/labs/${id}/`;
}
