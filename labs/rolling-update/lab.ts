/**
 * Rolling updates and rollbacks: a RollingUpdate that replaces one node's pod at a time (judged by
 * the pace the controller resolves, however maxUnavailable is written), an update to nginx:1.20.0
 * whose own revision records a change cause (as `kubectl rollout history` shows it), a rollback to nginx:1.19 (by `rollout undo` or by setting the old
 * image again), and a second DaemonSet with OnDelete, whose pods change only when deleted.
 * The checks read the rollout history (ControllerRevisions), so earlier steps stay proven after
 * later ones change the template.
 */
import { daemonSetCoverage, rollingUpdatePace, rolloutHistory, sameImage, templateImage, withDaemonSet } from '../../src/server/labs/checks/index.ts';
import { describePod, isPodOf } from '../../src/server/labs/checks/scheduling.ts';
import { defineLab, fail, pass } from '../../src/server/labs/define.ts';

const DS = 'nginx-daemonset';
const FILE = 'nginx-daemonset.yaml';
const ON_DELETE_DS = 'nginx-ondelete';
const ON_DELETE_FILE = 'nginx-ondelete.yaml';
const CONTAINER = 'nginx';
const OLD_IMAGE = 'nginx:1.19';
const NEW_IMAGE = 'nginx:1.20.0';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const NODE_TO_RECREATE = 'daemonset-lab-worker';

const allPodsOnOldImage = daemonSetCoverage(DS, { file: FILE, expect: 'eligible', image: OLD_IMAGE });

export default defineLab({
  id: 'rolling-update',
  title: 'Updates and rollbacks',
  summary: `Update nginx-daemonset to ${NEW_IMAGE} node by node, read its history, roll back to ${OLD_IMAGE}, and see how OnDelete differs.`,
  lessonSlug: 'updates-and-rollbacks',
  setup: { manifests: ['setup/nginx-daemonset.yaml'] },
  steps: [
    {
      id: 'strategy',
      title: 'One node at a time',
      checks: [{ id: 'one-node-at-a-time', title: 'RollingUpdate with at most one node updated at a time', run: rollingUpdatePace(DS, FILE, 1) }],
      solve: (lab) => lab.applyFile(`solution/${FILE}`),
    },
    {
      id: 'update',
      title: `Update to ${NEW_IMAGE} and record why`,
      checks: [
        {
          id: 'revision-with-new-image',
          title: `The history has a revision with ${NEW_IMAGE}`,
          run: withDaemonSet(DS, FILE, async (ds, context) => {
            const history = await rolloutHistory(ds, context);
            const found = history.find((h) => sameImage(h.images[CONTAINER], NEW_IMAGE));
            const list = history.map((h) => `${h.revision}: ${h.images[CONTAINER] ?? '?'}`).join(', ');
            if (found) return pass(`Revision ${found.revision} runs ${NEW_IMAGE} (history: ${list}).`);
            return fail(
              `No revision runs ${NEW_IMAGE} yet (history: ${list || 'empty'}).`,
              `Change the image of container ${CONTAINER} (kubectl set image --help), then follow it with kubectl rollout status daemonset/${DS}.`,
            );
          }),
        },
        {
          id: 'change-cause',
          title: 'A change cause is recorded',
          run: withDaemonSet(DS, FILE, async (ds, context) => {
            const history = await rolloutHistory(ds, context);
            const updated = history.filter((h) => sameImage(h.images[CONTAINER], NEW_IMAGE)).at(-1);
            const hint = `kubectl rollout history daemonset/${DS} shows each revision's own ${CHANGE_CAUSE}, copied from the DaemonSet when the revision was made: annotate first, then change the image (or change both in one kubectl apply). To fix this revision, go back to ${OLD_IMAGE} and update again with the cause in place.`;
            if (!updated) return fail(`No update to ${NEW_IMAGE} yet, so no change cause either.`, hint);
            if (updated.changeCause) return pass(`Revision ${updated.revision} (${NEW_IMAGE}) has CHANGE-CAUSE "${updated.changeCause}".`);
            const onDaemonSet = ds.metadata?.annotations?.[CHANGE_CAUSE];
            return fail(
              `kubectl rollout history shows CHANGE-CAUSE <none> for revision ${updated.revision} (${NEW_IMAGE})${onDaemonSet ? `; the DaemonSet has "${onDaemonSet}", added after the revision was made` : ''}.`,
              hint,
            );
          }),
        },
      ],
      solve: async (lab) => {
        await lab.annotateDaemonSet(DS, CHANGE_CAUSE, `update nginx to ${NEW_IMAGE}`);
        await lab.setImage(DS, CONTAINER, NEW_IMAGE);
        await lab.waitForRollout(DS);
      },
    },
    {
      id: 'rollback',
      title: `Roll back to ${OLD_IMAGE}`,
      checks: [
        {
          id: 'rolled-back',
          title: `Rolled back: the template and every pod run ${OLD_IMAGE} again`,
          run: withDaemonSet(DS, FILE, async (ds, context) => {
            const history = await rolloutHistory(ds, context);
            const newest = (image: string) => history.filter((h) => sameImage(h.images[CONTAINER], image)).at(-1)?.revision ?? 0;
            if (!newest(NEW_IMAGE)) {
              return fail(`Nothing to roll back yet: no revision runs ${NEW_IMAGE}.`, 'Do the update step first, then roll back.');
            }
            const current = templateImage(ds, CONTAINER);
            if (!sameImage(current, OLD_IMAGE) || newest(OLD_IMAGE) < newest(NEW_IMAGE)) {
              return fail(
                `The template runs ${current}; the newest revision is ${history.at(-1)?.revision} (${history.at(-1)?.images[CONTAINER]}).`,
                `kubectl rollout history daemonset/${DS} lists the revisions; go back to the previous one (kubectl rollout undo --help) or set the old image again.`,
              );
            }
            const pods = await allPodsOnOldImage(context);
            if (pods.status === 'fail') return pods;
            return pass(`Revision ${newest(OLD_IMAGE)} brought back ${OLD_IMAGE}, after revision ${newest(NEW_IMAGE)} with ${NEW_IMAGE}. ${pods.observed}`);
          }),
        },
      ],
      solve: async (lab) => {
        await lab.rolloutUndo(DS);
        await lab.waitForRollout(DS);
      },
    },
    {
      id: 'on-delete',
      title: 'OnDelete: pods change only when deleted',
      checks: [
        {
          id: 'on-delete-strategy',
          title: `${ON_DELETE_DS} uses the OnDelete strategy`,
          run: withDaemonSet(ON_DELETE_DS, ON_DELETE_FILE, (ds) =>
            ds.spec?.updateStrategy?.type === 'OnDelete'
              ? pass(`${ON_DELETE_DS} has updateStrategy.type OnDelete.`)
              : fail(`${ON_DELETE_DS} has updateStrategy.type ${ds.spec?.updateStrategy?.type}.`, 'Set spec.updateStrategy.type (kubectl explain daemonset.spec.updateStrategy.type).'),
          ),
        },
        {
          id: 'only-deleted-pods-updated',
          title: `Only the deleted pod runs ${NEW_IMAGE}`,
          run: withDaemonSet(ON_DELETE_DS, ON_DELETE_FILE, async (ds, context) => {
            const image = templateImage(ds, CONTAINER);
            if (!sameImage(image, NEW_IMAGE)) {
              return fail(`${ON_DELETE_DS}'s template runs ${image}.`, `Change the image of container ${CONTAINER} to ${NEW_IMAGE} (kubectl set image --help), then watch the pods: kubectl get pods -o wide.`);
            }
            const pods = (await context.snapshot.pods()).filter((p) => isPodOf(p, ds) && !p.metadata?.deletionTimestamp).map((p) => ({ node: p.spec?.nodeName, state: describePod(p) }));
            const runsNew = (images: readonly string[]) => images.some((i) => sameImage(i, NEW_IMAGE));
            const updated = pods.filter((p) => runsNew(p.state.images) && p.state.ready);
            const kept = pods.filter((p) => !runsNew(p.state.images));
            const list = pods.map((p) => `${p.node}: ${p.state.images.join(', ')}${p.state.ready ? '' : ` (${p.state.description})`}`).join('; ');
            if (!kept.length) {
              return fail(
                `Every pod runs ${NEW_IMAGE} (${list}): none kept the old image.`,
                `With OnDelete the controller replaces no pod by itself. If all pods changed at once, the strategy was still RollingUpdate when the image changed (kubectl rollout history daemonset/${ON_DELETE_DS}); set OnDelete first, then change the image, then delete one pod.`,
              );
            }
            if (!updated.length) {
              return fail(`No Ready pod runs ${NEW_IMAGE} yet (${list}).`, `With OnDelete, a pod gets the new template only when it is deleted: delete one (kubectl delete pod NAME) and watch kubectl get pods -o wide -w.`);
            }
            return pass(`${updated.map((p) => p.node).join(', ')} ${updated.length === 1 ? 'runs' : 'run'} ${NEW_IMAGE}; ${kept.map((p) => p.node).join(', ')} still ${kept.length === 1 ? 'runs' : 'run'} the old image (${list}).`);
          }),
        },
      ],
      solve: async (lab) => {
        await lab.applyFile(`solution/${ON_DELETE_FILE}`);
        await lab.waitForRollout(ON_DELETE_DS);
        await lab.setImage(ON_DELETE_DS, CONTAINER, NEW_IMAGE);
        await lab.deletePodOn(ON_DELETE_DS, NODE_TO_RECREATE);
      },
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'maxUnavailable 34%: of 3 nodes it rounds up to 2',
      act: (lab) => lab.patchDaemonSet(DS, { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '34%' } } } }),
      failingCheck: 'strategy/one-node-at-a-time',
      hintIncludes: 'rounded up',
    },
    {
      kind: 'wrong',
      title: 'the change cause annotated after the image change',
      act: async (lab) => {
        await lab.solveStep('strategy');
        await lab.setImage(DS, CONTAINER, NEW_IMAGE);
        await lab.waitForRollout(DS);
        await lab.annotateDaemonSet(DS, CHANGE_CAUSE, `update nginx to ${NEW_IMAGE}`);
      },
      failingCheck: 'update/change-cause',
      hintIncludes: 'annotate first',
    },
    {
      kind: 'wrong',
      title: 'update without a change cause',
      act: async (lab) => {
        await lab.solveStep('strategy');
        await lab.setImage(DS, CONTAINER, NEW_IMAGE);
      },
      failingCheck: 'update/change-cause',
      hintIncludes: CHANGE_CAUSE,
    },
    {
      kind: 'wrong',
      title: 'OnDelete forgotten: the image change rolls every pod',
      act: async (lab) => {
        await lab.applyFile('trials/ondelete-forgotten.yaml');
        await lab.waitForRollout(ON_DELETE_DS);
        await lab.setImage(ON_DELETE_DS, CONTAINER, NEW_IMAGE);
        await lab.waitForRollout(ON_DELETE_DS);
      },
      failingCheck: 'on-delete/only-deleted-pods-updated',
      hintIncludes: 'still RollingUpdate',
    },
    {
      kind: 'correct',
      title: 'the default maxUnavailable written explicitly with kubectl patch; rollback by setting the old image again',
      act: async (lab) => {
        await lab.patchDaemonSet(DS, { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } } });
        await lab.solveStep('update');
        await lab.setImage(DS, CONTAINER, OLD_IMAGE);
        await lab.waitForRollout(DS);
      },
      passingSteps: ['strategy', 'update', 'rollback'],
    },
    {
      kind: 'correct',
      title: 'maxUnavailable 33% (1 of 3 nodes)',
      act: (lab) => lab.patchDaemonSet(DS, { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '33%' } } } }),
      passingSteps: ['strategy'],
    },
    {
      kind: 'correct',
      title: 'kubectl replace without rollingUpdate (the default, 1); the cause and a full image name in one apply; rollout undo',
      act: async (lab) => {
        const file = lab.readFile(`solution/${FILE}`).replace(/ {4}rollingUpdate:\n {6}maxUnavailable: 1\n/, '');
        await lab.applyYaml(file);
        const updated = file
          .replace('  labels:\n    app: nginx\n', `  labels:\n    app: nginx\n  annotations:\n    ${CHANGE_CAUSE}: "nginx ${NEW_IMAGE}"\n`)
          .replace(`image: ${OLD_IMAGE}`, `image: docker.io/library/${NEW_IMAGE}`);
        await lab.applyYaml(updated);
        await lab.waitForRollout(DS);
        await lab.rolloutUndo(DS);
        await lab.waitForRollout(DS);
      },
      passingSteps: ['strategy', 'update', 'rollback'],
    },
  ],
});
