/**
 * The lab ids that lessons may link to.
 *
 * This list is the single source of truth for the lessons part of the site:
 * the content schema rejects a lesson whose `lab` frontmatter is not listed
 * here, and the build test allows `/labs/<id>/` links to stay unresolved only
 * for these ids (the lab pages are built by a separate part of the project).
 * Replace it with the real lab registry once that exists.
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
