/**
 * Rolling updates and rollbacks: an explicit RollingUpdate strategy, an update to nginx:1.20.0
 * with a recorded change cause, a rollback to nginx:1.19 (by `rollout undo` or by setting the old
 * image again), and a second DaemonSet with OnDelete, whose pods change only when deleted.
 * The checks read the rollout history (ControllerRevisions), so earlier steps stay proven after
 * later ones change the template.
 */
import { daemonSetCoverage, fieldDeclared, rolloutHistory, templateImage, withDaemonSet } from '../../src/server/labs/checks/index.ts';
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
/** The API server's default for rollingUpdate.maxUnavailable. */
const DEFAULT_MAX_UNAVAILABLE = 1;
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
      title: 'An explicit RollingUpdate strategy',
      instructions: [
        `nginx-daemonset runs ${OLD_IMAGE}. Before updating it, say how: in \`${FILE}\` set \`spec.updateStrategy\` to type \`RollingUpdate\` with an explicit \`rollingUpdate.maxUnavailable\` (how many nodes may be without a Ready pod during an update), and apply.`,
        '',
        '```bash',
        'kubectl explain daemonset.spec.updateStrategy.rollingUpdate',
        '```',
      ].join('\n'),
      checks: [
        {
          id: 'explicit-max-unavailable',
          title: 'RollingUpdate with an explicit maxUnavailable',
          run: withDaemonSet(DS, FILE, (ds) => {
            const strategy = ds.spec?.updateStrategy;
            const maxUnavailable = strategy?.rollingUpdate?.maxUnavailable;
            if (strategy?.type !== 'RollingUpdate') {
              return fail(`spec.updateStrategy.type is ${strategy?.type}.`, 'This step wants type RollingUpdate (kubectl explain daemonset.spec.updateStrategy).');
            }
            if (!fieldDeclared(ds, ['spec', 'updateStrategy', 'rollingUpdate', 'maxUnavailable'], maxUnavailable, DEFAULT_MAX_UNAVAILABLE)) {
              return fail(
                `spec.updateStrategy.rollingUpdate.maxUnavailable is ${maxUnavailable}, filled in by the API server: your DaemonSet does not set it.`,
                'Write spec.updateStrategy.rollingUpdate.maxUnavailable yourself (a number of nodes or a percentage), so the next reader sees the choice.',
              );
            }
            return pass(`RollingUpdate with maxUnavailable ${maxUnavailable}.`);
          }),
        },
      ],
      solve: (lab) => lab.applyFile(`solution/${FILE}`),
    },
    {
      id: 'update',
      title: `Update to ${NEW_IMAGE} and record why`,
      instructions: [
        `Update the \`${CONTAINER}\` container to \`${NEW_IMAGE}\`, record a change cause, and watch the rollout replace the pods node by node:`,
        '',
        '```bash',
        `kubectl set image daemonset/${DS} ${CONTAINER}=${NEW_IMAGE}`,
        `kubectl annotate daemonset/${DS} ${CHANGE_CAUSE}="…why…"`,
        `kubectl rollout status daemonset/${DS}`,
        `kubectl rollout history daemonset/${DS}`,
        '```',
      ].join('\n'),
      checks: [
        {
          id: 'revision-with-new-image',
          title: `The history has a revision with ${NEW_IMAGE}`,
          run: withDaemonSet(DS, FILE, async (ds, context) => {
            const history = await rolloutHistory(ds, context);
            const found = history.find((h) => h.images[CONTAINER] === NEW_IMAGE);
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
            const updated = history.filter((h) => h.images[CONTAINER] === NEW_IMAGE);
            const cause = updated.find((h) => h.changeCause)?.changeCause ?? (updated.length ? ds.metadata?.annotations?.[CHANGE_CAUSE] : undefined);
            if (cause) return pass(`Change cause: "${cause}".`);
            return fail(
              updated.length ? `Neither the ${NEW_IMAGE} revision nor the DaemonSet has a ${CHANGE_CAUSE} annotation: kubectl rollout history shows CHANGE-CAUSE <none>.` : `No update to ${NEW_IMAGE} yet, so no change cause either.`,
              `Record why with the ${CHANGE_CAUSE} annotation on the DaemonSet (kubectl annotate --help); kubectl rollout history daemonset/${DS} shows it.`,
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
      instructions: [
        `Suppose ${NEW_IMAGE} misbehaves. Go back to the previous revision and watch every pod return to \`${OLD_IMAGE}\`:`,
        '',
        '```bash',
        `kubectl rollout history daemonset/${DS}`,
        `kubectl rollout undo daemonset/${DS}`,
        `kubectl rollout status daemonset/${DS}`,
        '```',
      ].join('\n'),
      checks: [
        {
          id: 'rolled-back',
          title: `Rolled back: the template and every pod run ${OLD_IMAGE} again`,
          run: withDaemonSet(DS, FILE, async (ds, context) => {
            const history = await rolloutHistory(ds, context);
            const newest = (image: string) => history.filter((h) => h.images[CONTAINER] === image).at(-1)?.revision ?? 0;
            if (!newest(NEW_IMAGE)) {
              return fail(`Nothing to roll back yet: no revision runs ${NEW_IMAGE}.`, 'Do the update step first, then roll back.');
            }
            const current = templateImage(ds, CONTAINER);
            if (current !== OLD_IMAGE || newest(OLD_IMAGE) < newest(NEW_IMAGE)) {
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
      instructions: [
        `Apply \`${ON_DELETE_FILE}\` with \`updateStrategy.type: OnDelete\`. Then update its image to \`${NEW_IMAGE}\` and watch: no pod changes. Delete the pod on \`${NODE_TO_RECREATE}\`: its replacement runs the new image, the others keep the old one.`,
        '',
        '```bash',
        `kubectl set image daemonset/${ON_DELETE_DS} ${CONTAINER}=${NEW_IMAGE}`,
        'kubectl get pods -o wide -L name',
        `kubectl delete pod <the ${ON_DELETE_DS} pod on ${NODE_TO_RECREATE}>`,
        '```',
      ].join('\n'),
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
            if (image !== NEW_IMAGE) {
              return fail(`${ON_DELETE_DS}'s template runs ${image}.`, `Change the image of container ${CONTAINER} to ${NEW_IMAGE} (kubectl set image --help), then watch the pods: kubectl get pods -o wide.`);
            }
            const pods = (await context.snapshot.pods()).filter((p) => isPodOf(p, ds) && !p.metadata?.deletionTimestamp).map((p) => ({ node: p.spec?.nodeName, state: describePod(p) }));
            const updated = pods.filter((p) => p.state.images.includes(NEW_IMAGE) && p.state.ready);
            const kept = pods.filter((p) => !p.state.images.includes(NEW_IMAGE));
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
      title: 'rollback by setting the old image again, maxUnavailable as a percentage',
      act: async (lab) => {
        await lab.patchDaemonSet(DS, { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '34%' } } } });
        await lab.solveStep('update');
        await lab.setImage(DS, CONTAINER, OLD_IMAGE);
        await lab.waitForRollout(DS);
      },
      passingSteps: ['strategy', 'update', 'rollback'],
    },
  ],
});
