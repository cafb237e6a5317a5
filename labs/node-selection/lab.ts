/**
 * Node selection: some workers carry disktype=ssd. nginx-daemonset must run only there, whether
 * by nodeSelector or by required node affinity; labelling one more node brings a pod to it
 * without touching the DaemonSet; finally the placement is written as required node affinity.
 */
import type { V1Node } from '@kubernetes/client-node';
import { daemonSetCoverage, requiredNodeAffinity, withDaemonSet } from '../../src/server/labs/checks/index.ts';
import { defineLab, fail } from '../../src/server/labs/define.ts';

const DS = 'nginx-daemonset';
const FILE = 'nginx-daemonset.yaml';
const SOLUTION = 'solution/nginx-daemonset.yaml';
const LABEL = { key: 'disktype', value: 'ssd' } as const;
const LABELLED_AT_START = ['daemonset-lab-worker', 'daemonset-lab-worker2'];
const NEXT_NODE = 'daemonset-lab-worker3';

const hasSsd = (node: V1Node) => node.metadata?.labels?.[LABEL.key] === LABEL.value;
const onlySsdNodes = daemonSetCoverage(DS, { file: FILE, expect: { describe: `nodes labelled ${LABEL.key}=${LABEL.value}`, includes: hasSsd }, only: true });
const podOnNextNode = daemonSetCoverage(DS, { file: FILE, expect: { describe: NEXT_NODE, includes: (n: V1Node) => n.metadata?.name === NEXT_NODE } });

export default defineLab({
  id: 'node-selection',
  title: 'Choosing nodes',
  summary: 'Run nginx-daemonset only on nodes with fast disks, with a nodeSelector or node affinity, and watch a pod follow a new label.',
  lessonSlug: 'node-selection',
  setup: {
    manifests: ['setup/nginx-daemonset.yaml'],
    nodes: LABELLED_AT_START.map((node) => ({ node, labels: { [LABEL.key]: LABEL.value } })),
  },
  steps: [
    {
      id: 'select-ssd',
      title: 'Only on nodes with disktype=ssd',
      checks: [{ id: 'only-ssd-nodes', title: `A Ready pod on every node labelled ${LABEL.key}=${LABEL.value}, and on no other`, run: onlySsdNodes }],
      solve: (lab) => lab.applyFile('trials/with-node-selector.yaml'),
    },
    {
      id: 'label-another',
      title: `Label ${NEXT_NODE}`,
      checks: [
        {
          id: 'pod-on-labelled-node',
          title: `${NEXT_NODE} is labelled ${LABEL.key}=${LABEL.value} and runs a Ready pod`,
          run: async (context) => {
            const node = (await context.snapshot.nodes()).find((n) => n.metadata?.name === NEXT_NODE);
            if (node && !hasSsd(node)) {
              const current = node.metadata?.labels?.[LABEL.key];
              return fail(
                `${NEXT_NODE} has ${current === undefined ? `no label ${LABEL.key}` : `${LABEL.key}=${current}`}.`,
                `Labels are set on the node, not in the DaemonSet: see kubectl label --help, then watch kubectl get pods -o wide -w.`,
              );
            }
            return podOnNextNode(context);
          },
        },
      ],
      solve: (lab) => lab.labelNode(NEXT_NODE, LABEL.key, LABEL.value),
    },
    {
      id: 'affinity',
      title: 'Write it as required node affinity',
      checks: [
        { id: 'required-affinity', title: 'The pod template has a required node affinity', run: requiredNodeAffinity(DS, FILE) },
        {
          id: 'placement-kept',
          title: 'Still only on nodes with disktype=ssd',
          run: withDaemonSet(DS, FILE, async (ds, context) => {
            const affinity = ds.spec?.template?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
            if (!affinity) return fail('No required node affinity yet, so nothing to compare.', 'Do this step after adding the affinity.');
            return onlySsdNodes(context);
          }),
        },
      ],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'nodeSelector with the wrong case (disktype: SSD)',
      act: (lab) => lab.applyYaml(lab.readFile('trials/with-node-selector.yaml').replace('disktype: ssd', 'disktype: SSD')),
      failingCheck: 'select-ssd/only-ssd-nodes',
      hintIncludes: 'spec.template.spec.nodeSelector',
    },
    {
      kind: 'wrong',
      title: 'preferred instead of required node affinity',
      act: (lab) => lab.applyFile('trials/preferred-affinity.yaml'),
      failingCheck: 'affinity/required-affinity',
      hintIncludes: 'requiredDuringSchedulingIgnoredDuringExecution',
    },
    {
      kind: 'correct',
      title: 'step 1 as node affinity "disktype Exists": it selects the same nodes',
      act: (lab) =>
        lab.applyYaml(
          lab.readFile(SOLUTION).replace('              - key: disktype\n                operator: In\n                values:\n                - ssd\n', '              - key: disktype\n                operator: Exists\n'),
        ),
      passingSteps: ['select-ssd', 'affinity'],
    },
    {
      kind: 'correct',
      title: 'step 1 with required node affinity instead of a nodeSelector',
      act: (lab) => lab.applyFile(SOLUTION),
      passingSteps: ['select-ssd', 'affinity'],
    },
    {
      kind: 'correct',
      title: 'a nodeSelector and node affinity together, then the new label',
      act: async (lab) => {
        await lab.applyYaml(lab.readFile(SOLUTION).replace('      affinity:\n', '      nodeSelector:\n        disktype: ssd\n      affinity:\n'));
        await lab.labelNode(NEXT_NODE, LABEL.key, LABEL.value);
      },
      passingSteps: ['select-ssd', 'label-another', 'affinity'],
    },
  ],
});
