/**
 * Node lifecycle: a DaemonSet follows the nodes. Adding a node brings a pod; removing it takes the
 * pod away; a cordon (unschedulable) does not keep DaemonSet pods out. Adding and removing nodes
 * needs an engine that simulates them (embedded); elsewhere those steps say so and pass as not
 * applicable instead of failing.
 */
import type { V1Node } from '@kubernetes/client-node';
import { TOPOLOGY } from '../../src/server/cluster/topology.ts';
import { daemonSetCoverage, daemonPodNode, isPodOf, withDaemonSet } from '../../src/server/labs/checks/index.ts';
import { defineLab, fail, pass, type CheckContext, type CheckFunction, type CheckOutcome } from '../../src/server/labs/define.ts';

const DS = 'nginx-daemonset';
const FILE = 'nginx-daemonset.yaml';
const BASE_NODES = new Set(TOPOLOGY.map((n) => n.name));
const NODE_TO_CORDON = 'daemonset-lab-worker2';

const isAddedNode = (node: V1Node) => !BASE_NODES.has(node.metadata?.name ?? '');
const isCordoned = (node: V1Node) => Boolean(node.spec?.unschedulable);

/** Steps that add or remove nodes pass as "not applicable" on engines that cannot do that. */
function needsNodeChanges(run: CheckFunction): CheckFunction {
  return async (context: CheckContext): Promise<CheckOutcome> =>
    context.engine.canChangeNodes
      ? run(context)
      : pass(
          `Not applicable here: the ${context.engine.provider} engine cannot add or remove nodes, so this step is skipped. On the embedded engine (npm run cluster -- up --provider embedded) you would run npm run cluster -- add-node and watch the pod appear.`,
        );
}

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
      notGradableFromFiles: 'the learner adds a node with npm run cluster -- add-node and checks while it is there; a submission cannot add a node',
      instructions: [
        'nginx-daemonset runs one pod per worker. Watch the pods in one terminal, add a worker in another, and check while the new node is there:',
        '',
        '```bash',
        'kubectl get pods -o wide -w',
        'npm run cluster -- add-node',
        '```',
      ].join('\n'),
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
      notGradableFromFiles: 'it needs the node of step 1 seen live, then removed with npm run cluster -- remove-node; a submission cannot remove a node',
      instructions: [
        'Remove the node you added and watch its pod disappear with it:',
        '',
        '```bash',
        'npm run cluster -- remove-node <the node you added>',
        'kubectl get pods -o wide',
        '```',
        '',
        'Check after step 1 while the node is still there, then again after removing it.',
      ].join('\n'),
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
      instructions: [
        `Cordon \`${NODE_TO_CORDON}\` (no new pods should be scheduled there), then delete its nginx-daemonset pod and watch what the DaemonSet controller does:`,
        '',
        '```bash',
        `kubectl cordon ${NODE_TO_CORDON}`,
        'kubectl get pods -o wide',
        'kubectl delete pod <its nginx-daemonset pod>',
        'kubectl get pods -o wide -w',
        '```',
        '',
        'Why does the new pod land on a cordoned node? (`kubectl get pod <pod> -o jsonpath="{.spec.tolerations}"`)',
      ].join('\n'),
      checks: [
        {
          id: 'pod-on-cordoned-node',
          title: 'A cordoned node still runs a Ready nginx-daemonset pod',
          run: async (context) => {
            const cordoned = (await context.snapshot.nodes()).filter(isCordoned);
            if (!cordoned.length) return fail('No node is cordoned (kubectl get nodes shows none SchedulingDisabled).', 'Mark a worker unschedulable: kubectl cordon --help.');
            return daemonSetCoverage(DS, { file: FILE, expect: { describe: 'cordoned nodes', includes: isCordoned } })(context);
          },
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
      kind: 'correct',
      title: 'a labelled node added and removed; another worker cordoned, its pod left alone',
      act: async (lab) => {
        const name = await lab.addNode({ disktype: 'ssd' });
        await lab.waitUntil('step add-node to pass', async () => ((await lab.checkNow()).steps.find((s) => s.id === 'add-node')?.passed ? true : undefined));
        await lab.removeNode(name);
        await lab.cordon('daemonset-lab-worker3');
      },
      passingSteps: ['add-node', 'remove-node', 'cordon'],
    },
  ],
});
