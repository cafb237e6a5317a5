/**
 * The chapter's practical example: a log collector with the node's /var/log and (read-only)
 * /var/lib/docker/containers as hostPath volumes, on every node including the control plane, with
 * an explicit terminationGracePeriodSeconds.
 */
import { daemonSetCoverage, fieldDeclared, hostPathMounted, withDaemonSet } from '../../src/server/labs/checks/index.ts';
import { defineLab, fail, pass } from '../../src/server/labs/define.ts';

const DS = 'log-collector';
const CONTAINER = 'log-collector';
const FILE = 'log-collector-daemonset.yaml';
const SOLUTION = `solution/${FILE}`;
/** What the API server fills in when the field is left out. */
const DEFAULT_GRACE_PERIOD = 30;

const CONTROL_PLANE_TOLERATION = '      tolerations:\n      - key: node-role.kubernetes.io/control-plane\n        effect: NoSchedule\n';

export default defineLab({
  id: 'log-collector',
  title: 'A log collector on every node',
  summary: 'Build the chapter\'s log-collector: the node\'s log folders as hostPath volumes, a toleration for the control plane, and time to flush on shutdown.',
  lessonSlug: 'log-collector',
  setup: { manifests: [] },
  steps: [
    {
      id: 'host-paths',
      title: 'Mount the node\'s log folders',
      instructions: [
        `In \`${FILE}\`, mount the node's \`/var/log\` and \`/var/lib/docker/containers\` into the \`${CONTAINER}\` container as hostPath volumes; the second one read-only. Apply it:`,
        '',
        '```bash',
        `kubectl apply -f ${FILE}`,
        'kubectl describe daemonset log-collector   # Volumes:',
        '```',
      ].join('\n'),
      checks: [
        { id: 'var-log', title: 'hostPath /var/log is mounted', run: hostPathMounted(DS, FILE, CONTAINER, '/var/log') },
        { id: 'docker-containers-read-only', title: 'hostPath /var/lib/docker/containers is mounted read-only', run: hostPathMounted(DS, FILE, CONTAINER, '/var/lib/docker/containers', { readOnly: true }) },
      ],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
    {
      id: 'every-node',
      title: 'Run on every node, control plane included',
      instructions: [
        'Logs are written on the control-plane node too, but the collector has no pod there. Find out why (`kubectl get pods -o wide`, `kubectl describe node daemonset-lab-control-plane | grep Taints`), add the toleration and apply again.',
      ].join('\n'),
      checks: [{ id: 'pod-on-every-node', title: 'A Ready pod on every node', run: daemonSetCoverage(DS, { file: FILE, expect: 'all-nodes' }) }],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
    {
      id: 'grace-period',
      title: 'Set terminationGracePeriodSeconds',
      instructions: 'When a collector is stopped it should get time to flush what it has buffered. Set `terminationGracePeriodSeconds` in the pod template explicitly (the chapter uses 30) and apply.',
      checks: [
        {
          id: 'grace-period-set',
          title: 'terminationGracePeriodSeconds is set explicitly',
          run: withDaemonSet(DS, FILE, (ds) => {
            const value = ds.spec?.template?.spec?.terminationGracePeriodSeconds;
            if (fieldDeclared(ds, ['spec', 'template', 'spec', 'terminationGracePeriodSeconds'], value, DEFAULT_GRACE_PERIOD)) {
              return pass(`terminationGracePeriodSeconds is ${value}.`);
            }
            return fail(
              `terminationGracePeriodSeconds is ${value ?? 'unset'}, the API server's default: your DaemonSet does not set it.`,
              'Set spec.template.spec.terminationGracePeriodSeconds (kubectl explain daemonset.spec.template.spec.terminationGracePeriodSeconds).',
            );
          }),
        },
      ],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
  ],
  trials: [
    {
      kind: 'wrong',
      title: 'the old control-plane taint key (node-role.kubernetes.io/master)',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace(CONTROL_PLANE_TOLERATION, CONTROL_PLANE_TOLERATION.replace('control-plane', 'master'))),
      failingCheck: 'every-node/pod-on-every-node',
      hintIncludes: 'No toleration has key "node-role.kubernetes.io/control-plane"',
    },
    {
      kind: 'wrong',
      title: 'container logs mounted read-write',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace('          readOnly: true\n', '')),
      failingCheck: 'host-paths/docker-containers-read-only',
      hintIncludes: 'readOnly: true',
    },
    {
      kind: 'wrong',
      title: 'grace period left to the default',
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace('      terminationGracePeriodSeconds: 30\n', '')),
      failingCheck: 'grace-period/grace-period-set',
      hintIncludes: 'terminationGracePeriodSeconds',
    },
    {
      kind: 'correct',
      title: 'a blanket toleration, other volume names and mount paths, 60 s grace',
      act: (lab) =>
        lab.applyYaml(
          lab
            .readFile(SOLUTION)
            .replace(CONTROL_PLANE_TOLERATION, '      tolerations:\n      - operator: Exists\n')
            .replaceAll('varlibdockercontainers', 'containers')
            .replaceAll('name: varlog', 'name: host-logs')
            .replace('mountPath: /var/log', 'mountPath: /host/var/log')
            .replace('terminationGracePeriodSeconds: 30', 'terminationGracePeriodSeconds: 60'),
        ),
      passingSteps: ['host-paths', 'every-node', 'grace-period'],
    },
  ],
});
