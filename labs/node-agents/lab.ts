/**
 * A real-world node agent (Prometheus node-exporter): it shares the node's network and process
 * namespaces, reads the node's root filesystem through a read-only hostPath, tolerates every
 * taint and runs at system-node-critical priority, checked on all four nodes. Setup taints two
 * workers the way real clusters do (a GPU node, a dedicated NoExecute node). Then a node goes
 * NotReady (simulated nodes only): the agent stays, the Deployment `web` is evicted.
 */
import {
  daemonPodStaysOnNotReadyNode,
  daemonSetCoverage,
  deploymentPodEvicted,
  hostNamespaces,
  hostPathMounted,
  nodeWentNotReady,
  nodesReadyAgain,
  podsHavePriority,
  toleratesEveryTaint,
} from '../../src/server/labs/checks/index.ts';
import { defineLab, type LabActions } from '../../src/server/labs/define.ts';

const DS = 'node-agent';
const CONTAINER = 'node-exporter';
const FILE = 'node-agent.yaml';
const SOLUTION = `solution/${FILE}`;
/** The value of the built-in PriorityClass system-node-critical. */
const NODE_CRITICAL = 2_000_001_000;
const GPU_TAINT = { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' } as const;
const DEDICATED_TAINT = { key: 'dedicated', value: 'ingress', effect: 'NoExecute' } as const;

/** The worker no lab taint covers: the only node where `web` (setup/web.yaml) can run. */
const FAILING_NODE = 'daemonset-lab-worker';
const WEB = 'web';
const WEB_LABELS = { app: 'web' } as const;
const NOT_GRADABLE = 'the learner makes a node NotReady with npm run cluster -- node-condition and watches; a submission cannot';

/** Makes the worker NotReady, then waits (as a learner watching) until `web`'s pod is evicted. */
async function nodeFailsAndWebIsEvicted(lab: LabActions): Promise<void> {
  if (!lab.engine.canChangeNodes) return;
  // As a learner does: the node fails once the agent's rollout is complete, never in the middle
  // of it (a busy machine may still be replacing the agent's pods when the file is applied).
  await lab.waitForRollout(DS, 120_000);
  await lab.setNodeCondition(FAILING_NODE, 'NotReady');
  await lab.waitUntil(
    `${WEB}'s pod to be evicted from ${FAILING_NODE}`,
    async () => {
      const pods = (await lab.clients.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items;
      return pods.some((p) => p.spec?.nodeName === FAILING_NODE) ? undefined : true;
    },
    90_000,
  );
}

const SOLUTION_TOLERATIONS = '      tolerations:\n      - operator: Exists\n';

export default defineLab({
  id: 'node-agents',
  title: 'Agents on every node',
  summary: 'Turn node-exporter into a real node agent: the node\'s network, processes and files, every taint tolerated, and the priority of pods a node cannot do without, on all four nodes.',
  lessonSlug: 'best-practices',
  setup: {
    manifests: ['setup/web.yaml'],
    nodes: [
      { node: 'daemonset-lab-worker2', taints: [GPU_TAINT] },
      { node: 'daemonset-lab-worker3', taints: [DEDICATED_TAINT] },
    ],
  },
  steps: [
    {
      id: 'host-access',
      title: 'See the node from the inside',
      checks: [
        { id: 'host-namespaces', title: 'hostNetwork and hostPID', run: hostNamespaces(DS, FILE) },
        { id: 'root-read-only', title: 'The node\'s / mounted read-only', run: hostPathMounted(DS, FILE, CONTAINER, '/', { readOnly: true }) },
      ],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
    {
      id: 'every-node',
      title: 'Every node, whatever its taints',
      checks: [
        { id: 'tolerates-everything', title: 'Every taint is tolerated', run: toleratesEveryTaint(DS, FILE) },
        { id: 'pod-on-every-node', title: 'A Ready pod on all four nodes', run: daemonSetCoverage(DS, { file: FILE, expect: 'all-nodes' }) },
      ],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
    {
      id: 'priority',
      title: 'Node-critical priority',
      checks: [{ id: 'node-critical', title: 'Every pod runs with system-node-critical priority', run: podsHavePriority(DS, FILE, 'system-node-critical', NODE_CRITICAL) }],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
    {
      id: 'node-not-ready',
      title: 'A node goes NotReady: the agent stays, other pods go',
      // The node comes back in the next step, and with it the evidence goes.
      sticky: true,
      notGradableFromFiles: NOT_GRADABLE,
      checks: [
        { id: 'node-not-ready', title: 'A node is NotReady, tainted by the node lifecycle controller', run: nodeWentNotReady() },
        { id: 'agent-stays', title: 'The agent\'s pod stays on the NotReady node', run: daemonPodStaysOnNotReadyNode(DS, FILE) },
        { id: 'web-evicted', title: 'The Deployment\'s pod was evicted from it', run: deploymentPodEvicted(WEB, WEB_LABELS) },
      ],
      solve: async (lab) => {
        await lab.applyFile(SOLUTION);
        await nodeFailsAndWebIsEvicted(lab);
      },
    },
    {
      id: 'node-back',
      title: 'The node comes back',
      notGradableFromFiles: NOT_GRADABLE,
      checks: [{ id: 'nodes-ready', title: 'Every node is Ready again', run: nodesReadyAgain('node-not-ready') }],
      solve: async (lab) => {
        if (lab.engine.canChangeNodes) await lab.setNodeCondition(FAILING_NODE, 'NotReady', true);
      },
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'the not-ready taint added by hand to a Ready node: web goes, but no node failed',
      act: async (lab) => {
        await lab.applyFile(SOLUTION);
        await lab.taintNode(FAILING_NODE, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' });
      },
      failingCheck: 'node-not-ready/node-not-ready',
      hintIncludes: 'node-condition daemonset-lab-worker NotReady',
    },
    {
      kind: 'wrong',
      title: 'web\'s pod deleted by hand on the NotReady node before its tolerationSeconds ran out: not an eviction',
      act: async (lab) => {
        if (!lab.engine.canChangeNodes) return;
        await lab.applyFile(SOLUTION);
        await lab.setNodeCondition(FAILING_NODE, 'NotReady');
        await lab.clients.core.deleteCollectionNamespacedPod({ namespace: 'default', labelSelector: 'app=web', gracePeriodSeconds: 0 });
      },
      failingCheck: 'node-not-ready/web-evicted',
      hintIncludes: 'not an eviction',
    },
    {
      kind: 'correct',
      title: 'the agent from the start file, with no toleration of its own, stays too: the DaemonSet controller adds them',
      act: async (lab) => {
        await lab.applyFile('start/node-agent.yaml');
        await nodeFailsAndWebIsEvicted(lab);
      },
      passingSteps: ['node-not-ready'],
    },
    {
      kind: 'wrong',
      title: 'the node\'s / mounted read-write',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace('          readOnly: true\n', '')),
      failingCheck: 'host-access/root-read-only',
      hintIncludes: 'readOnly: true',
    },
    {
      kind: 'wrong',
      title: 'hostPID forgotten',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace('      hostPID: true\n', '')),
      failingCheck: 'host-access/host-namespaces',
      hintIncludes: 'hostPID',
    },
    {
      kind: 'wrong',
      title: 'one toleration per taint seen today: covers the four nodes, not tomorrow\'s taints',
      act: (lab) =>
        lab.applyYaml(
          lab
            .readFile(SOLUTION)
            .replace(
              SOLUTION_TOLERATIONS,
              '      tolerations:\n      - key: node-role.kubernetes.io/control-plane\n        operator: Exists\n      - key: nvidia.com/gpu\n        operator: Exists\n      - key: dedicated\n        operator: Exists\n',
            ),
        ),
      failingCheck: 'every-node/tolerates-everything',
      hintIncludes: 'operator Exists and no key',
    },
    {
      kind: 'wrong',
      title: 'the taints removed from the nodes instead',
      act: async (lab) => {
        await lab.applyYaml(lab.readFile(SOLUTION).replace(SOLUTION_TOLERATIONS, ''));
        await lab.taintNode('daemonset-lab-worker2', GPU_TAINT, true);
        await lab.taintNode('daemonset-lab-worker3', DEDICATED_TAINT, true);
      },
      failingCheck: 'every-node/pod-on-every-node',
      hintIncludes: 'Put the taint back',
    },
    {
      kind: 'wrong',
      title: 'system-cluster-critical instead of system-node-critical',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace('system-node-critical', 'system-cluster-critical')),
      failingCheck: 'priority/node-critical',
      hintIncludes: 'system-node-critical',
    },
    {
      kind: 'correct',
      title: 'tolerations written per effect with operator Exists; / mounted elsewhere; applied in two steps with kubectl patch',
      act: async (lab) => {
        const base = lab.readFile(SOLUTION).replace('      priorityClassName: system-node-critical\n', '').replace('mountPath: /host/root', 'mountPath: /rootfs').replace('--path.rootfs=/host/root', '--path.rootfs=/rootfs');
        await lab.applyYaml(base.replace(SOLUTION_TOLERATIONS, '      tolerations:\n      - operator: Exists\n        effect: NoSchedule\n      - operator: Exists\n        effect: NoExecute\n      - operator: Exists\n        effect: PreferNoSchedule\n'));
        await lab.patchDaemonSet(DS, { spec: { template: { spec: { priorityClassName: 'system-node-critical' } } } });
      },
      passingSteps: ['host-access', 'every-node', 'priority'],
    },
  ],
});
