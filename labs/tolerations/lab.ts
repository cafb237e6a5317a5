/**
 * Tolerations: daemonset-lab-worker3 is tainted special=true:NoSchedule, and nginx-daemonset must
 * run there too. Any toleration that tolerates the taint passes: key with Equal and the value,
 * key with Exists, or a blanket Exists.
 */
import type { V1Node } from '@kubernetes/client-node';
import { daemonSetCoverage } from '../../src/server/labs/checks/index.ts';
import { defineLab } from '../../src/server/labs/define.ts';

const DS = 'nginx-daemonset';
const FILE = 'nginx-daemonset.yaml';
const SOLUTION = 'solution/nginx-daemonset.yaml';
const TAINTED = 'daemonset-lab-worker3';
const TAINT = { key: 'special', value: 'true', effect: 'NoSchedule' } as const;

/** The solution's toleration block, swapped for variants by the trials. */
const SOLUTION_TOLERATIONS = `      tolerations:
      - key: "special"
        operator: "Exists"
        effect: "NoSchedule"
`;

const isTainted = (node: V1Node) => (node.spec?.taints ?? []).some((t) => t.key === TAINT.key);

export default defineLab({
  id: 'tolerations',
  title: 'Taints and tolerations',
  summary: `A worker is tainted ${TAINT.key}=${TAINT.value}:${TAINT.effect}; give nginx-daemonset the toleration that lets it run there too.`,
  lessonSlug: 'taints-and-tolerations',
  setup: {
    manifests: ['setup/nginx-daemonset.yaml'],
    nodes: [{ node: TAINTED, taints: [TAINT] }],
  },
  steps: [
    {
      id: 'tolerate',
      title: 'Run on the tainted worker too',
      checks: [
        {
          id: 'pod-on-tainted-worker',
          title: `A Ready pod on the tainted worker ${TAINTED}`,
          run: daemonSetCoverage(DS, { file: FILE, expect: { describe: `tainted workers (${TAINT.key}=${TAINT.value}:${TAINT.effect})`, includes: isTainted } }),
        },
        { id: 'pod-on-every-worker', title: 'A Ready pod on every worker', run: daemonSetCoverage(DS, { file: FILE, expect: 'workers' }) },
      ],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'toleration with the wrong effect (NoExecute)',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace(SOLUTION_TOLERATIONS, SOLUTION_TOLERATIONS.replace('"NoSchedule"', '"NoExecute"'))),
      failingCheck: 'tolerate/pod-on-tainted-worker',
      hintIncludes: 'has effect NoExecute, but the taint\'s effect is NoSchedule',
    },
    {
      kind: 'wrong',
      title: 'toleration with a misspelt key',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace(SOLUTION_TOLERATIONS, SOLUTION_TOLERATIONS.replace('"special"', '"specail"'))),
      failingCheck: 'tolerate/pod-on-tainted-worker',
      hintIncludes: 'No toleration has key "special"',
    },
    {
      kind: 'wrong',
      title: 'toleration with the wrong value',
      act: (lab) =>
        lab.applyYaml(lab.readFile(SOLUTION).replace(SOLUTION_TOLERATIONS, '      tolerations:\n      - key: special\n        operator: Equal\n        value: "yes"\n        effect: NoSchedule\n')),
      failingCheck: 'tolerate/pod-on-every-worker',
      hintIncludes: 'expects value "yes"',
    },
    {
      kind: 'wrong',
      title: 'the taint removed from the node instead of tolerated',
      act: (lab) => lab.taintNode(TAINTED, TAINT, true),
      failingCheck: 'tolerate/pod-on-tainted-worker',
      hintIncludes: 'Put the taint back',
    },
    {
      kind: 'correct',
      title: 'key, operator Equal and the value, no effect',
      act: (lab) =>
        lab.applyYaml(lab.readFile(SOLUTION).replace(SOLUTION_TOLERATIONS, '      tolerations:\n      - key: special\n        operator: Equal\n        value: "true"\n')),
      passingSteps: ['tolerate'],
    },
    {
      kind: 'correct',
      title: 'a blanket operator: Exists (also runs on the control plane)',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace(SOLUTION_TOLERATIONS, '      tolerations:\n      - operator: Exists\n')),
      passingSteps: ['tolerate'],
    },
  ],
});
