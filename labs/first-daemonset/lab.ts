/**
 * The chapter's first DaemonSet: nginx-daemonset, one Ready pod per eligible node, with a
 * selector that matches its template and resource requests and limits.
 */
import { daemonSetCoverage, daemonSetExists, resourcesSet, selectorMatchesTemplate } from '../../src/server/labs/checks/index.ts';
import { defineLab } from '../../src/server/labs/define.ts';

const DS = 'nginx-daemonset';
const FILE = 'nginx-daemonset.yaml';
const SOLUTION = 'solution/nginx-daemonset.yaml';

export default defineLab({
  id: 'first-daemonset',
  title: 'Your first DaemonSet',
  summary: 'Create the chapter\'s nginx-daemonset and watch the DaemonSet controller put one pod on every node that may run it.',
  lessonSlug: 'creating-a-daemonset',
  setup: { manifests: [] },
  steps: [
    {
      id: 'create',
      title: 'Create nginx-daemonset',
      checks: [
        { id: 'exists', title: 'DaemonSet nginx-daemonset exists', run: daemonSetExists(DS, FILE) },
        { id: 'selector-matches', title: 'The selector matches the pod template\'s labels', run: selectorMatchesTemplate(DS, FILE) },
        { id: 'pod-per-node', title: 'One Ready pod on every eligible node', run: daemonSetCoverage(DS, { file: FILE, expect: 'eligible' }) },
      ],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
    {
      id: 'resources',
      title: 'Set resource requests and limits',
      checks: [{ id: 'requests-and-limits', title: 'CPU and memory requests and limits on every container', run: resourcesSet(DS, FILE) }],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'limits forgotten',
      act: (lab) =>
        lab.applyYaml(lab.readFile(SOLUTION).replace(/ {8}resources:\n(?: {10}.*\n)+/, '')),
      failingCheck: 'resources/requests-and-limits',
      hintIncludes: 'resources.limits',
    },
    {
      kind: 'wrong',
      title: 'image tag typo nginx:1.I9',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace('nginx:1.19', 'nginx:1.I9')),
      failingCheck: 'create/pod-per-node',
      hintIncludes: 'image name and tag',
    },
    {
      kind: 'wrong',
      title: "the control plane's taint removed to get a pod there",
      act: async (lab) => {
        await lab.applyFile(SOLUTION);
        await lab.taintNode('daemonset-lab-control-plane', { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }, true);
      },
      failingCheck: 'create/pod-per-node',
      hintIncludes: 'Put the taint back',
    },
    {
      kind: 'correct',
      title: 'the selector written as matchExpressions (name In [nginx-daemonset]); the full image name',
      act: (lab) =>
        lab.applyYaml(
          lab
            .readFile(SOLUTION)
            .replace('    matchLabels:\n      name: nginx-daemonset\n', '    matchExpressions:\n    - key: name\n      operator: In\n      values: [nginx-daemonset]\n')
            .replace('image: nginx:1.19', 'image: docker.io/library/nginx:1.19'),
        ),
      passingSteps: ['create', 'resources'],
    },
    {
      kind: 'correct',
      title: 'other labels and resource values, created with a different selector label',
      act: (lab) => lab.applyFile('trials/other-labels.yaml'),
      passingSteps: ['create', 'resources'],
    },
  ],
});
