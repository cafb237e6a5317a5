/**
 * Troubleshooting pods that are not created or not scheduled. Setup breaks three DaemonSets, one
 * way each: a nodeSelector that matches no node (nginx-daemonset), a taint without a toleration
 * (log-collector), and requests larger than any node (node-exporter). The learner diagnoses each
 * with describe and events, then fixes it in any way that gets the pods running. Requests are
 * judged against the lab's node size (the topology's 4 GiB), not what the engine's nodes report,
 * so the verdict is the same on kind, whose nodes report the host's memory.
 */
import { allOf, daemonSetCoverage, requestsFitLabNodes } from '../../src/server/labs/checks/index.ts';
import { defineLab } from '../../src/server/labs/define.ts';

const TAINTED = 'daemonset-lab-worker3';
const TAINT = { key: 'special', value: 'true', effect: 'NoSchedule' } as const;
const NGINX_FILE = 'nginx-daemonset.yaml';
const COLLECTOR_FILE = 'log-collector-daemonset.yaml';
const EXPORTER_FILE = 'node-exporter.yaml';

export default defineLab({
  id: 'troubleshoot-not-scheduling',
  title: 'Troubleshooting: pods that do not appear',
  summary: 'Three DaemonSets are broken three ways: a nodeSelector that matches nothing, a taint without a toleration, and requests no node can meet. Diagnose each with describe and events, then fix it.',
  lessonSlug: 'troubleshooting-scheduling',
  setup: {
    manifests: [`start/${NGINX_FILE}`, `start/${COLLECTOR_FILE}`, `start/${EXPORTER_FILE}`],
    nodes: [{ node: TAINTED, taints: [TAINT] }],
  },
  steps: [
    {
      id: 'no-matching-node',
      title: 'nginx-daemonset wants no node',
      checks: [{ id: 'pods-on-selected-nodes', title: 'A Ready pod on every node it selects (at least one)', run: daemonSetCoverage('nginx-daemonset', { file: NGINX_FILE, expect: 'eligible' }) }],
      solve: (lab) => lab.applyFile(`solution/${NGINX_FILE}`),
    },
    {
      id: 'untolerated-taint',
      title: 'log-collector misses a node',
      checks: [{ id: 'pod-on-every-node', title: 'A Ready pod on every node', run: daemonSetCoverage('log-collector', { file: COLLECTOR_FILE, expect: 'all-nodes' }) }],
      solve: (lab) => lab.applyFile(`solution/${COLLECTOR_FILE}`),
    },
    {
      id: 'requests-too-large',
      title: 'node-exporter pods stay Pending',
      checks: [
        {
          id: 'pods-scheduled',
          title: 'Requests that fit a lab node, and a Ready pod on every eligible node',
          run: allOf(requestsFitLabNodes('node-exporter', EXPORTER_FILE), daemonSetCoverage('node-exporter', { file: EXPORTER_FILE, expect: 'eligible' })),
        },
      ],
      solve: (lab) => lab.applyFile(`solution/${EXPORTER_FILE}`),
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'nodeSelector changed to another label no node has (disktype: SSD)',
      act: (lab) => lab.applyYaml(lab.readFile(`start/${NGINX_FILE}`).replace('disktype: ssd', 'disktype: SSD')),
      failingCheck: 'no-matching-node/pods-on-selected-nodes',
      hintIncludes: 'spec.template.spec.nodeSelector',
    },
    {
      kind: 'wrong',
      title: 'toleration for the taint with effect NoExecute',
      act: (lab) => lab.applyYaml(lab.readFile(`solution/${COLLECTOR_FILE}`).replace('value: "true"\n        effect: NoSchedule', 'value: "true"\n        effect: NoExecute')),
      failingCheck: 'untolerated-taint/pod-on-every-node',
      hintIncludes: 'has effect NoExecute',
    },
    {
      kind: 'wrong',
      title: 'requests lowered, but still more memory than a node has (5Gi)',
      act: (lab) => lab.applyYaml(lab.readFile(`start/${EXPORTER_FILE}`).replaceAll('memory: 8Gi', 'memory: 5Gi')),
      failingCheck: 'requests-too-large/pods-scheduled',
      hintIncludes: 'resources.requests',
    },
    {
      kind: 'wrong',
      title: 'the taint removed from the node instead of tolerated',
      act: (lab) => lab.taintNode(TAINTED, TAINT, true),
      failingCheck: 'untolerated-taint/pod-on-every-node',
      hintIncludes: 'Put the taint back',
    },
    {
      kind: 'wrong',
      title: 'requests of 6Gi (more than a lab node, whatever the engine reports)',
      act: (lab) => lab.applyYaml(lab.readFile(`start/${EXPORTER_FILE}`).replaceAll('memory: 8Gi', 'memory: 6Gi')),
      failingCheck: 'requests-too-large/pods-scheduled',
      hintIncludes: 'Allocatable',
    },
    {
      kind: 'correct',
      title: 'label a node disktype=ssd instead of changing the DaemonSet',
      act: (lab) => lab.labelNode('daemonset-lab-worker2', 'disktype', 'ssd'),
      passingSteps: ['no-matching-node'],
    },
    {
      kind: 'correct',
      title: 'a blanket toleration; requests of 256Mi',
      act: async (lab) => {
        await lab.applyYaml(lab.readFile(`start/${COLLECTOR_FILE}`).replace(/ {6}tolerations:\n(?: {6}[- ] .*\n)+/, '      tolerations:\n      - operator: Exists\n'));
        await lab.applyYaml(lab.readFile(`start/${EXPORTER_FILE}`).replaceAll('memory: 8Gi', 'memory: 256Mi'));
      },
      passingSteps: ['untolerated-taint', 'requests-too-large'],
    },
    {
      kind: 'correct',
      title: 'requests only (limits removed), written as 0.25Gi and 0.1 CPU',
      act: (lab) =>
        lab.applyYaml(
          lab
            .readFile(`start/${EXPORTER_FILE}`)
            .replace(/ {10}limits:\n(?: {12}.*\n)+/, '')
            .replace('memory: 8Gi', 'memory: 0.25Gi')
            .replace('cpu: 100m', 'cpu: "0.1"'),
        ),
      passingSteps: ['requests-too-large'],
    },
    {
      kind: 'correct',
      title: 'the toleration added with kubectl patch (operator Exists on the key)',
      act: async (lab) => {
        await lab.patchDaemonSet('log-collector', {
          spec: { template: { spec: { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }, { key: 'special', operator: 'Exists' }] } } },
        });
      },
      passingSteps: ['untolerated-taint'],
    },
  ],
});
