/**
 * Troubleshooting pods that crash or never start. Setup deploys node-agent, whose container exits
 * at once (CrashLoopBackOff), and nginx-daemonset with a mistyped image tag (ImagePullBackOff).
 * The learner reads the exit code with the chapter's jsonpath command and records it as an
 * annotation (so the check can see the diagnosis), reads the logs, then fixes both.
 */
import type { V1DaemonSet } from '@kubernetes/client-node';
import { daemonSetCoverage, describePod, isPodOf, withDaemonSet } from '../../src/server/labs/checks/index.ts';
import { defineLab, fail, pass, type CheckContext } from '../../src/server/labs/define.ts';

const AGENT = 'node-agent';
const AGENT_FILE = 'node-agent.yaml';
const NGINX = 'nginx-daemonset';
const NGINX_FILE = 'nginx-daemonset.yaml';
/** Where the learner records the exit code they found. */
const EXIT_CODE_ANNOTATION = 'daemonset-lab.dev/exit-code';
const JSONPATH_COMMAND = 'kubectl get pod <pod> -o jsonpath="{.status.containerStatuses[].lastState.terminated.exitCode}"';

/**
 * The exit code the agent's containers report: from the live pods while they crash, else (after
 * the fix replaced them) from the script of the first revision in the DaemonSet's history.
 */
async function observedExitCode(ds: V1DaemonSet, context: CheckContext): Promise<number | undefined> {
  const pods = (await context.snapshot.pods()).filter((p) => isPodOf(p, ds)).map(describePod);
  const live = pods.find((p) => p.lastExitCode !== undefined && p.lastExitCode !== 0)?.lastExitCode;
  if (live !== undefined) return live;
  const revisions = (await context.snapshot.revisions()).filter((r) => (r.metadata?.ownerReferences ?? []).some((o) => o.uid === ds.metadata?.uid));
  const first = revisions.sort((a, b) => a.revision - b.revision)[0];
  const container = (first?.data as { spec?: { template?: { spec?: { containers?: Array<{ command?: string[]; args?: string[] }> } } } } | undefined)?.spec?.template?.spec?.containers?.[0];
  const match = [...(container?.command ?? []), ...(container?.args ?? [])].join(' ').match(/exit +(\d+)/);
  return match ? Number(match[1]) : undefined;
}

export default defineLab({
  id: 'troubleshoot-crashloop',
  title: 'Troubleshooting: crashing pods',
  summary: 'One DaemonSet crash-loops and one cannot pull its image. Find the exit code and the logs, then fix both.',
  lessonSlug: 'troubleshooting-crashloop',
  setup: { manifests: [`start/${AGENT_FILE}`, `start/${NGINX_FILE}`] },
  steps: [
    {
      id: 'exit-code',
      title: 'Find the exit code',
      checks: [
        {
          id: 'exit-code-recorded',
          title: `The exit code is recorded in the ${EXIT_CODE_ANNOTATION} annotation`,
          run: withDaemonSet(AGENT, AGENT_FILE, async (ds, context) => {
            const recorded = ds.metadata?.annotations?.[EXIT_CODE_ANNOTATION];
            const hint = `Read it with ${JSONPATH_COMMAND}, then record it: kubectl annotate daemonset ${AGENT} ${EXIT_CODE_ANNOTATION}=<code> --overwrite.`;
            if (recorded === undefined) return fail(`${AGENT} has no ${EXIT_CODE_ANNOTATION} annotation yet.`, hint);
            const actual = await observedExitCode(ds, context);
            if (actual === undefined) return fail(`No ${AGENT} container has exited yet, so there is no exit code to compare with.`, 'Wait a few seconds for the first crash: kubectl get pods -l name=node-agent -w.');
            if (recorded.trim() !== String(actual)) {
              return fail(`${EXIT_CODE_ANNOTATION} is "${recorded}", which is not the exit code the ${AGENT} containers report.`, hint);
            }
            return pass(`You recorded exit code ${recorded}, the code the ${AGENT} containers exit with.`);
          }),
        },
      ],
      solve: async (lab) => {
        const code = await lab.waitUntil('a node-agent container to exit', async () => {
          const ds = await lab.clients.apps.readNamespacedDaemonSet({ name: AGENT, namespace: 'default' });
          const pods = (await lab.clients.core.listNamespacedPod({ namespace: 'default' })).items.filter((p) => isPodOf(p, ds));
          return pods.map(describePod).find((p) => p.lastExitCode)?.lastExitCode;
        });
        await lab.annotateDaemonSet(AGENT, EXIT_CODE_ANNOTATION, String(code));
      },
    },
    {
      id: 'fix-crash',
      title: 'Stop the crash loop',
      checks: [{ id: 'agents-ready', title: 'A Ready node-agent pod on every eligible node', run: daemonSetCoverage(AGENT, { file: AGENT_FILE, expect: 'eligible' }) }],
      solve: (lab) => lab.applyFile(`solution/${AGENT_FILE}`),
    },
    {
      id: 'fix-image',
      title: 'Fix the image',
      checks: [{ id: 'nginx-ready', title: 'A Ready nginx pod on every eligible node', run: daemonSetCoverage(NGINX, { file: NGINX_FILE, expect: 'eligible' }) }],
      solve: (lab) => lab.applyFile(`solution/${NGINX_FILE}`),
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'a wrong exit code recorded (128)',
      act: (lab) => lab.annotateDaemonSet(AGENT, EXIT_CODE_ANNOTATION, '128'),
      failingCheck: 'exit-code/exit-code-recorded',
      hintIncludes: 'jsonpath',
    },
    {
      kind: 'wrong',
      title: 'another mistyped tag (nginx:1.20.O)',
      act: (lab) => lab.applyYaml(lab.readFile(`start/${NGINX_FILE}`).replace('nginx:1.2O', 'nginx:1.20.O')),
      failingCheck: 'fix-image/nginx-ready',
      hintIncludes: 'image name and tag',
    },
    {
      kind: 'wrong',
      title: 'the agent script still exits, with another code',
      act: (lab) => lab.applyYaml(lab.readFile(`start/${AGENT_FILE}`).replace('exit 1', 'exit 3')),
      failingCheck: 'fix-crash/agents-ready',
      hintIncludes: 'kubectl logs',
    },
    {
      kind: 'correct',
      title: 'exit code recorded after the fix; sleep as the command; nginx:1.19',
      act: async (lab) => {
        await lab.solveStep('exit-code');
        await lab.applyYaml(
          lab.readFile(`start/${AGENT_FILE}`).replace(/ {8}command:[\s\S]*?(?= {8}resources:)/, '        command: ["sleep", "infinity"]\n'),
        );
        await lab.setImage(NGINX, 'nginx', 'nginx:1.19');
      },
      passingSteps: ['exit-code', 'fix-crash', 'fix-image'],
    },
  ],
});

