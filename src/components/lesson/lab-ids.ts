/**
 * The lab ids that lessons may link to: the labs of the catalog (src/shared/lab-catalog.ts), in
 * its order. The content schema rejects a lesson whose `lab` frontmatter is not listed here, and
 * the build test allows `/labs/<id>/` links only for these ids.
 */
import { LAB_CATALOG, type CatalogLabId } from '../../shared/lab-catalog.ts';

export const KNOWN_LAB_IDS: readonly CatalogLabId[] = LAB_CATALOG.map((lab) => lab.id);

/** A lab id from {@link KNOWN_LAB_IDS}. */
export type KnownLabId = CatalogLabId;

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
