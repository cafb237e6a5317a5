/**
 * Every lab definition, by id. The order and the ids come from the catalog
 * (src/shared/lab-catalog.ts, pure data the site reads too); the tests check this list against
 * the catalog and the folders. A lab is a folder labs/<id>/ with lab.ts (defineLab), start/ (the
 * files the editor opens), setup/ (manifests) and solution/ (reference files).
 */
import { LAB_CATALOG, type CatalogLabId } from '../src/shared/lab-catalog.ts';
import deleteAndAdopt from './delete-and-adopt/lab.ts';
import firstDaemonSet from './first-daemonset/lab.ts';
import logCollector from './log-collector/lab.ts';
import nodeAgents from './node-agents/lab.ts';
import nodeLifecycle from './node-lifecycle/lab.ts';
import nodeSelection from './node-selection/lab.ts';
import rollingUpdate from './rolling-update/lab.ts';
import tolerations from './tolerations/lab.ts';
import troubleshootCrashloop from './troubleshoot-crashloop/lab.ts';
import troubleshootNotScheduling from './troubleshoot-not-scheduling/lab.ts';

const DEFINITIONS: Readonly<Record<CatalogLabId, unknown>> = {
  'first-daemonset': firstDaemonSet,
  'node-lifecycle': nodeLifecycle,
  'node-selection': nodeSelection,
  tolerations,
  'rolling-update': rollingUpdate,
  'delete-and-adopt': deleteAndAdopt,
  'log-collector': logCollector,
  'node-agents': nodeAgents,
  'troubleshoot-not-scheduling': troubleshootNotScheduling,
  'troubleshoot-crashloop': troubleshootCrashloop,
};

/** The lab definitions with their folder names, in catalog order; validated when loaded (src/server/labs/registry.ts). */
export const LAB_DEFINITIONS: ReadonlyArray<{ readonly folder: string; readonly definition: unknown }> = LAB_CATALOG.map((entry) => ({
  folder: entry.id,
  definition: DEFINITIONS[entry.id],
}));
