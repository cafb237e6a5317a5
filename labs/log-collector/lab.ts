/**
 * The chapter's practical example: a log collector with the node's /var/log and (read-only)
 * /var/lib/docker/containers as hostPath volumes, on every node including the control plane (by
 * a toleration: removing the node's taint does not count), with a grace period long enough to
 * flush its buffer (judged by its value, however it is written).
 */
import { daemonSetCoverage, gracePeriodAtLeast, hostPathMounted } from '../../src/server/labs/checks/index.ts';
import { defineLab } from '../../src/server/labs/define.ts';

const DS = 'log-collector';
const CONTAINER = 'log-collector';
const FILE = 'log-collector-daemonset.yaml';
const SOLUTION = `solution/${FILE}`;
/** How long the collector needs to flush its buffer. */
const FLUSH_SECONDS = 60;

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
      checks: [
        { id: 'var-log', title: 'hostPath /var/log is mounted', run: hostPathMounted(DS, FILE, CONTAINER, '/var/log') },
        { id: 'docker-containers-read-only', title: 'hostPath /var/lib/docker/containers is mounted read-only', run: hostPathMounted(DS, FILE, CONTAINER, '/var/lib/docker/containers', { readOnly: true }) },
      ],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
    {
      id: 'every-node',
      title: 'Run on every node, control plane included',
      checks: [{ id: 'pod-on-every-node', title: 'A Ready pod on every node', run: daemonSetCoverage(DS, { file: FILE, expect: 'all-nodes' }) }],
      solve: (lab) => lab.applyFile(SOLUTION),
    },
    {
      id: 'grace-period',
      title: `Give it ${FLUSH_SECONDS} s to flush`,
      checks: [{ id: 'grace-period-long-enough', title: `terminationGracePeriodSeconds is at least ${FLUSH_SECONDS}`, run: gracePeriodAtLeast(DS, FILE, FLUSH_SECONDS) }],
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
      act: (lab) => lab.applyYaml(lab.readFile(SOLUTION).replace(`      terminationGracePeriodSeconds: ${FLUSH_SECONDS}\n`, '')),
      failingCheck: 'grace-period/grace-period-long-enough',
      hintIncludes: 'terminationGracePeriodSeconds',
    },
    {
      kind: 'wrong',
      title: 'the default (30) written explicitly with kubectl patch',
      act: async (lab) => {
        await lab.applyFile(SOLUTION);
        await lab.patchDaemonSet(DS, { spec: { template: { spec: { terminationGracePeriodSeconds: 30 } } } });
      },
      failingCheck: 'grace-period/grace-period-long-enough',
      hintIncludes: `at least ${FLUSH_SECONDS}`,
    },
    {
      kind: 'wrong',
      title: "the control plane's taint removed instead of tolerated",
      act: async (lab) => {
        await lab.applyYaml(lab.readFile(SOLUTION).replace(CONTROL_PLANE_TOLERATION, ''));
        await lab.taintNode('daemonset-lab-control-plane', { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }, true);
      },
      failingCheck: 'every-node/pod-on-every-node',
      hintIncludes: 'Put the taint back',
    },
    {
      kind: 'correct',
      title: 'the grace period set with kubectl patch (90 s) after applying the rest',
      act: async (lab) => {
        await lab.applyYaml(lab.readFile(SOLUTION).replace(`      terminationGracePeriodSeconds: ${FLUSH_SECONDS}\n`, ''));
        await lab.patchDaemonSet(DS, { spec: { template: { spec: { terminationGracePeriodSeconds: 90 } } } });
      },
      passingSteps: ['host-paths', 'every-node', 'grace-period'],
    },
    {
      kind: 'correct',
      title: 'a blanket toleration, other volume names and mount paths, 120 s grace',
      act: (lab) =>
        lab.applyYaml(
          lab
            .readFile(SOLUTION)
            .replace(CONTROL_PLANE_TOLERATION, '      tolerations:\n      - operator: Exists\n')
            .replaceAll('varlibdockercontainers', 'containers')
            .replaceAll('name: varlog', 'name: host-logs')
            .replace('mountPath: /var/log', 'mountPath: /host/var/log')
            .replace(`terminationGracePeriodSeconds: ${FLUSH_SECONDS}`, 'terminationGracePeriodSeconds: 120'),
        ),
      passingSteps: ['host-paths', 'every-node', 'grace-period'],
    },
  ],
});
