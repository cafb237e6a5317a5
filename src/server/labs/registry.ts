/**
 * The labs, validated once per process. The list itself is labs/index.ts (static imports, so the
 * definitions are type-checked together and listing labs never waits for the disk).
 */
import { join } from 'node:path';
import { LAB_DEFINITIONS } from '../../../labs/index.ts';
import { UsageError } from '../errors.ts';
import { LABS_DIR, validateLab, type LoadedLab } from './loader.ts';

let loaded: Map<string, LoadedLab> | undefined;

/** Every lab, validated, by id, in the order of labs/index.ts. Throws LabDefinitionError for a broken one. */
export function allLabs(): Map<string, LoadedLab> {
  loaded ??= new Map(LAB_DEFINITIONS.map(({ folder, definition }) => {
    const lab = validateLab(definition, join(LABS_DIR, folder));
    return [lab.definition.id, lab] as const;
  }));
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
