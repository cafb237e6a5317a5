/**
 * The catalog of labs: pure data, no imports, so the site (lesson links, the content schema,
 * lab pages) and the server (src/server/labs/registry.ts loads labs/<id>/lab.ts for each entry)
 * read the same list. Order is the order the site lists them. Adding a lab: a folder labs/<id>/
 * and one line here; tests/labs/registry.test.ts checks that they agree.
 */
export const LAB_CATALOG = [
  { id: 'first-daemonset', title: 'Your first DaemonSet', lesson: 'creating-a-daemonset' },
  { id: 'node-lifecycle', title: 'Nodes come and go', lesson: 'how-scheduling-works' },
  { id: 'node-selection', title: 'Choosing nodes', lesson: 'node-selection' },
  { id: 'tolerations', title: 'Taints and tolerations', lesson: 'taints-and-tolerations' },
  { id: 'rolling-update', title: 'Updates and rollbacks', lesson: 'updates-and-rollbacks' },
  { id: 'delete-and-adopt', title: 'Delete, orphan and adopt', lesson: 'managing-daemonsets' },
  { id: 'log-collector', title: 'A log collector on every node', lesson: 'log-collector' },
  { id: 'node-agents', title: 'Agents on every node', lesson: 'best-practices' },
  { id: 'troubleshoot-not-scheduling', title: 'Troubleshooting: pods that do not appear', lesson: 'troubleshooting-scheduling' },
  { id: 'troubleshoot-crashloop', title: 'Troubleshooting: crashing pods', lesson: 'troubleshooting-crashloop' },
] as const;

/** One entry of {@link LAB_CATALOG}. */
export type LabCatalogEntry = (typeof LAB_CATALOG)[number];

/** A lab id of the catalog. */
export type CatalogLabId = LabCatalogEntry['id'];
