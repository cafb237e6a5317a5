/**
 * Node lifecycle: a DaemonSet follows the nodes. Adding a node brings a pod; removing it takes the
 * pod away; a cordon (unschedulable) does not keep DaemonSet pods out: the controller re-creates
 * a deleted pod on the cordoned node. Adding and removing nodes needs an engine that simulates
 * them (embedded); elsewhere those checks are "not applicable", which never counts as passed.
 */
import type { V1Node } from '@kubernetes/client-node';
import { TOPOLOGY } from '../../src/server/cluster/topology.ts';
import { daemonSetCoverage, daemonPodNode, isPodOf, needsNodeChanges, podCreatedAfterCordon, withDaemonSet } from '../../src/server/labs/checks/index.ts';
import { defineLab, fail, pass } from '../../src/server/labs/define.ts';

const DS = 'nginx-daemonset';
const FILE = 'nginx-daemonset.yaml';
const BASE_NODES = new Set(TOPOLOGY.map((n) => n.name));
const NODE_TO_CORDON = 'daemonset-lab-worker2';

const isAddedNode = (node: V1Node) => !BASE_NODES.has(node.metadata?.name ?? '');

const podOnAddedNode = daemonSetCoverage(DS, { file: FILE, expect: { describe: 'added nodes', includes: isAddedNode } });

export default defineLab({
  id: 'node-lifecycle',
  title: 'Nodes come and go',
  summary: 'Add a node and watch its pod appear, remove it and watch the pod go, and see that a cordon does not keep DaemonSet pods out.',
  lessonSlug: 'how-scheduling-works',
  needsNodeChanges: true,
  setup: { manifests: ['setup/nginx-daemonset.yaml'] },
  steps: [
    {
      id: 'add-node',
      title: 'Add a node',
      sticky: true,
      checks: [
        {
          id: 'pod-on-added-node',
          title: 'A Ready pod on the added node',
          run: needsNodeChanges(async (context) => {
            const added = (await context.snapshot.nodes()).filter(isAddedNode);
            if (!added.length) {
              return fail(`The cluster has only its ${BASE_NODES.size} lab nodes (kubectl get nodes).`, 'Add a worker: npm run cluster -- add-node (see npm run cluster -- --help), then watch kubectl get pods -o wide -w.');
            }
            return podOnAddedNode(context);
          }),
        },
      ],
      solve: async (lab) => {
        await lab.addNode();
      },
    },
    {
      id: 'remove-node',
      title: 'Remove it again',
      checks: [
        {
          id: 'pod-collected',
          title: 'The added node and its pod are gone',
          run: needsNodeChanges(
            withDaemonSet(DS, FILE, async (ds, context) => {
              if (!context.passedSteps.has('add-node')) {
                return fail('No node was seen added yet in this attempt, so there is nothing to remove.', 'Do step 1 and check while the new node is there; then remove it and check again.');
              }
              const nodes = await context.snapshot.nodes();
              const added = nodes.filter(isAddedNode).map((n) => n.metadata?.name);
              if (added.length) {
                return fail(`${added.join(', ')} ${added.length === 1 ? 'is' : 'are'} still in the cluster.`, 'Remove it with npm run cluster -- remove-node NAME, then watch kubectl get pods -o wide.');
              }
              const names = new Set(nodes.map((n) => n.metadata?.name));
              const orphans = (await context.snapshot.pods()).filter((p) => isPodOf(p, ds) && !names.has(daemonPodNode(p)));
              if (orphans.length) {
                return fail(
                  `${orphans.map((p) => `${p.metadata?.name} (on ${daemonPodNode(p)})`).join(', ')} still ${orphans.length === 1 ? 'exists, bound to a node that is' : 'exist, bound to nodes that are'} gone.`,
                  'The pod garbage collector deletes the pods of a deleted node only after a 40 s quarantine; npm run cluster -- remove-node deletes them at once. Wait, then run kubectl get pods -o wide again.',
                );
              }
              return pass(`The added node is gone and so is its pod; the cluster is back to its ${nodes.length} lab nodes.`);
            }),
          ),
        },
      ],
      solve: async (lab) => {
        const added = (await lab.clients.core.listNode()).items.filter(isAddedNode);
        for (const node of added) await lab.removeNode(node.metadata!.name!);
      },
    },
    {
      id: 'cordon',
      title: 'Cordon a node',
      checks: [
        {
          id: 'pod-on-cordoned-node',
          title: 'A pod created on a cordoned node after the cordon is Ready',
          run: podCreatedAfterCordon(DS, FILE),
        },
      ],
      solve: async (lab) => {
        await lab.cordon(NODE_TO_CORDON);
        await lab.deletePodOn(DS, NODE_TO_CORDON);
      },
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'the Node object deleted directly: its pod lingers for the garbage collector',
      act: async (lab) => {
        await lab.solveStep('add-node');
        await lab.waitUntil('step add-node to pass', async () => ((await lab.checkNow()).steps.find((s) => s.id === 'add-node')?.passed ? true : undefined));
        const added = (await lab.clients.core.listNode()).items.filter(isAddedNode);
        for (const node of added) await lab.clients.core.deleteNode({ name: node.metadata!.name! });
      },
      failingCheck: 'remove-node/pod-collected',
      hintIncludes: 'garbage collector',
    },
    {
      kind: 'wrong',
      title: 'removing the node without checking while it was there',
      act: async (lab) => {
        await lab.solveStep('add-node');
        await lab.solveStep('remove-node');
      },
      failingCheck: 'remove-node/pod-collected',
      hintIncludes: 'check while the new node is there',
    },
    {
      kind: 'wrong',
      title: 'cordon alone: the pod that was already there proves nothing',
      act: async (lab) => {
        await lab.cordon(NODE_TO_CORDON);
      },
      failingCheck: 'cordon/pod-on-cordoned-node',
      hintIncludes: 'Delete the nginx-daemonset pod on the cordoned node',
    },
    {
      kind: 'wrong',
      title: 'pod deleted first, node cordoned afterwards',
      act: async (lab) => {
        await lab.deletePodOn(DS, NODE_TO_CORDON);
        await lab.waitUntil(`a new pod on ${NODE_TO_CORDON}`, async () => {
          const pods = (await lab.clients.core.listNamespacedPod({ namespace: 'default' })).items;
          return pods.some((p) => daemonPodNode(p) === NODE_TO_CORDON && !p.metadata?.deletionTimestamp) ? true : undefined;
        });
        // Creation times have whole seconds: cordon in a later second than the pod's creation.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await lab.cordon(NODE_TO_CORDON);
      },
      failingCheck: 'cordon/pod-on-cordoned-node',
      hintIncludes: 'before the cordon',
    },
    {
      kind: 'correct',
      title: 'a labelled node added and removed; another worker cordoned and its pod deleted',
      act: async (lab) => {
        const name = await lab.addNode({ disktype: 'ssd' });
        await lab.waitUntil('step add-node to pass', async () => ((await lab.checkNow()).steps.find((s) => s.id === 'add-node')?.passed ? true : undefined));
        await lab.removeNode(name);
        await lab.cordon('daemonset-lab-worker3');
        await lab.deletePodOn(DS, 'daemonset-lab-worker3');
      },
      passingSteps: ['add-node', 'remove-node', 'cordon'],
    },
  ],
});
