/**
 * Deleting a DaemonSet, with and without its pods: `--cascade=orphan` leaves the pods running
 * without an owner, a new DaemonSet whose selector selects them adopts them (and keeps them,
 * since its template is the same), and a plain delete takes the pods with it. Judged by owner
 * references and creation times, so a DaemonSet of any name, with its selector written any way,
 * passes. A new DaemonSet with another image also adopts the pods but never updates them (their
 * pod-template-generation label, 1, matches its own), which the adopt check says.
 */
import { deletedWithPods, podsAdopted, podsOrphaned } from '../../src/server/labs/checks/index.ts';
import { defineLab } from '../../src/server/labs/define.ts';

const DS = 'nginx-daemonset';
const FILE = 'nginx-daemonset.yaml';
const POD_LABELS = { name: 'nginx-daemonset' } as const;

export default defineLab({
  id: 'delete-and-adopt',
  title: 'Delete, orphan and adopt',
  summary: 'Delete nginx-daemonset but keep its pods, let a new DaemonSet adopt them without restarting them, then delete a DaemonSet together with its pods.',
  lessonSlug: 'managing-daemonsets',
  setup: { manifests: ['setup/nginx-daemonset.yaml'] },
  steps: [
    {
      id: 'orphan',
      title: 'Delete the DaemonSet, keep its pods',
      sticky: true,
      checks: [{ id: 'pods-orphaned', title: 'nginx-daemonset is gone, its pods run on without an owner', run: podsOrphaned(DS, POD_LABELS) }],
      solve: (lab) => lab.deleteDaemonSet(DS, 'orphan'),
    },
    {
      id: 'adopt',
      title: 'Let a new DaemonSet adopt them',
      sticky: true,
      checks: [{ id: 'pods-adopted', title: 'A DaemonSet adopted the orphaned pods, none re-created', run: podsAdopted(POD_LABELS, FILE) }],
      solve: (lab) => lab.applyFile(`solution/${FILE}`),
    },
    {
      id: 'delete',
      title: 'Delete a DaemonSet and its pods',
      checks: [{ id: 'deleted-with-pods', title: 'No DaemonSet and no pod labelled name=nginx-daemonset is left', run: deletedWithPods(POD_LABELS, 'adopt') }],
      solve: (lab) => lab.deleteDaemonSet(DS, 'background'),
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'a plain delete: the pods go with the DaemonSet',
      act: (lab) => lab.deleteDaemonSet(DS, 'background'),
      failingCheck: 'orphan/pods-orphaned',
      hintIncludes: '--cascade=orphan',
    },
    {
      kind: 'wrong',
      title: 'the new DaemonSet runs another image: it adopts the pods and never updates them',
      act: async (lab) => {
        await lab.deleteDaemonSet(DS, 'orphan');
        await lab.applyYaml(lab.readFile(`solution/${FILE}`).replace('image: nginx:1.19', 'image: nginx:1.20.0'));
      },
      failingCheck: 'adopt/pods-adopted',
      hintIncludes: 'pod-template-generation',
    },
    {
      kind: 'wrong',
      title: 'the last delete with --cascade=orphan again: the pods are left behind',
      act: async (lab) => {
        await lab.solveStep('orphan');
        await lab.solveStep('adopt');
        await lab.waitUntil('step adopt to pass', async () => ((await lab.checkNow()).steps.find((s) => s.id === 'adopt')?.passed ? true : undefined));
        await lab.deleteDaemonSet(DS, 'orphan');
      },
      failingCheck: 'delete/deleted-with-pods',
      hintIncludes: '--cascade=orphan leaves the pods behind',
    },
    {
      kind: 'correct',
      title: 'adopted by nginx-agent, another name with a matchExpressions selector; deleted in the foreground',
      act: async (lab) => {
        await lab.deleteDaemonSet(DS, 'orphan');
        await lab.waitUntil('step orphan to pass', async () => ((await lab.checkNow()).steps.find((s) => s.id === 'orphan')?.passed ? true : undefined));
        await lab.applyFile('trials/nginx-agent.yaml');
        await lab.waitUntil('step adopt to pass', async () => ((await lab.checkNow()).steps.find((s) => s.id === 'adopt')?.passed ? true : undefined));
        await lab.deleteDaemonSet('nginx-agent', 'foreground');
      },
      passingSteps: ['orphan', 'adopt', 'delete'],
    },
  ],
});
