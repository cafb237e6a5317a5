/**
 * The labs, validated once per process. Which labs exist, and in what order, is the catalog
 * (src/shared/lab-catalog.ts, pure data the site reads too); each lab's code is its folder's
 * lab.ts, loaded here by path like a plug-in, so nothing under labs/ is imported statically by
 * the server and no import cycle runs between labs/ and src/server/labs/.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LAB_CATALOG } from '../../shared/lab-catalog.ts';
import { UsageError } from '../errors.ts';
import { LABS_DIR, validateLab, type LoadedLab } from './loader.ts';

/** Each catalog lab's exported definition, unvalidated, with its folder. */
const DEFINITIONS: ReadonlyArray<{ readonly folder: string; readonly definition: unknown }> = await Promise.all(
  LAB_CATALOG.map(async ({ id }) => {
    const module = (await import(pathToFileURL(join(LABS_DIR, id, 'lab.ts')).href)) as { default?: unknown };
    return { folder: id, definition: module.default };
  }),
);

let loaded: Map<string, LoadedLab> | undefined;

/** Every lab, validated, by id, in catalog order. Throws LabDefinitionError for a broken one. */
export function allLabs(): Map<string, LoadedLab> {
  loaded ??= new Map(
    DEFINITIONS.map(({ folder, definition }) => {
      const lab = validateLab(definition, join(LABS_DIR, folder));
      return [lab.definition.id, lab] as const;
    }),
  );
  return loaded;
}

/** The lab ids, in order. */
export function labIds(): string[] {
  return [...allLabs().keys()];
}

/** One lab; an unknown id is a usage error that lists the valid ones. */
export function findLab(id: string): LoadedLab {
  const lab = allLabs().get(id);
  if (!lab) throw new UsageError(`Unknown lab "${id}". Valid labs: ${labIds().join(', ')}.`);
  return lab;
}
