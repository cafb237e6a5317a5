/**
 * Every lab, in the order the site lists them. A lab is a folder labs/<id>/ with lab.ts
 * (defineLab), start/ (the files the editor opens), setup/ (manifests) and solution/ (reference
 * files). Add a new lab here; the tests check this list against the folders and the lessons' ids.
 */
import firstDaemonSet from './first-daemonset/lab.ts';
import logCollector from './log-collector/lab.ts';
import nodeLifecycle from './node-lifecycle/lab.ts';
import nodeSelection from './node-selection/lab.ts';
import rollingUpdate from './rolling-update/lab.ts';
import tolerations from './tolerations/lab.ts';
import troubleshootCrashloop from './troubleshoot-crashloop/lab.ts';
import troubleshootNotScheduling from './troubleshoot-not-scheduling/lab.ts';

/** The lab definitions with their folder names; validated when loaded (src/server/labs/registry.ts). */
export const LAB_DEFINITIONS: ReadonlyArray<{ readonly folder: string; readonly definition: unknown }> = [
  { folder: 'first-daemonset', definition: firstDaemonSet },
  { folder: 'node-lifecycle', definition: nodeLifecycle },
  { folder: 'node-selection', definition: nodeSelection },
  { folder: 'tolerations', definition: tolerations },
  { folder: 'rolling-update', definition: rollingUpdate },
  { folder: 'log-collector', definition: logCollector },
  { folder: 'troubleshoot-not-scheduling', definition: troubleshootNotScheduling },
  { folder: 'troubleshoot-crashloop', definition: troubleshootCrashloop },
];
