/**
 * Turns a lab's wrong trials (written as API moves in labs/<id>/lab.ts) into submissions a learner
 * could push: YAML applied before any command becomes a manifest file of the lab folder; every
 * later move becomes the kubectl command a learner types, in commands.sh. Moves a submission
 * cannot make (adding nodes, reading the cluster) throw NotSubmittable; such a trial whose check is
 * gradable gets a hand-written submission in tests/fixtures/grade-trials/<lab-id>/<title>/.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { V1Taint } from '@kubernetes/client-node';
import type { LabActions, LabDefinition, WrongTrial } from '../../src/server/labs/define.ts';
import { findLab } from '../../src/server/labs/registry.ts';

/** A move of a trial that a file submission cannot make. */
export class NotSubmittable extends Error {
  constructor(move: string) {
    super(`${move} cannot be written as a submission (files and commands.sh)`);
    this.name = 'NotSubmittable';
  }
}

/** Quotes one shell word. */
const sh = (word: string) => (/^[\w./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);
const kubectl = (...args: string[]) => `kubectl ${args.map(sh).join(' ')}`;

/** The files of a recorded submission: manifests (name → YAML) and the lines of commands.sh. */
interface Recording {
  manifests: Array<{ name: string; text: string }>;
  later: Array<{ name: string; text: string }>;
  commands: string[];
}

function recordingActions(lab: LabDefinition, labDir: string, recording: Recording): LabActions {
  const apply = (text: string, name: string) => {
    if (!recording.commands.length) {
      recording.manifests.push({ name: `${String(recording.manifests.length + 1).padStart(2, '0')}-${name}`, text });
      return;
    }
    const later = `later/${String(recording.later.length + 1).padStart(2, '0')}-${name}`;
    recording.later.push({ name: later, text });
    recording.commands.push(kubectl('apply', '-f', later));
  };
  const unsupported = (move: string) => () => {
    throw new NotSubmittable(move);
  };
  const taintText = (t: V1Taint) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
  const actions: LabActions = {
    get clients(): never {
      throw new NotSubmittable('reading the cluster through the API');
    },
    engine: { provider: 'embedded', canChangeNodes: true },
    readFile: (path) => readFileSync(join(labDir, path), 'utf8'),
    applyFile: async (path) => apply(readFileSync(join(labDir, path), 'utf8'), path.split('/').at(-1)!),
    applyYaml: async (yaml) => apply(yaml, 'manifest.yaml'),
    labelNode: async (node, key, value) => void recording.commands.push(kubectl('label', 'node', node, value === null ? `${key}-` : `${key}=${value}`, '--overwrite')),
    taintNode: async (node, taint, remove) => void recording.commands.push(kubectl('taint', 'node', node, `${taintText(taint)}${remove ? '-' : ''}`, ...(remove ? [] : ['--overwrite']))),
    cordon: async (node, unschedulable = true) => void recording.commands.push(kubectl(unschedulable ? 'cordon' : 'uncordon', node)),
    setImage: async (ds, container, image) => void recording.commands.push(kubectl('set', 'image', `daemonset/${ds}`, `${container}=${image}`)),
    annotateDaemonSet: async (ds, key, value) => void recording.commands.push(kubectl('annotate', 'daemonset', ds, `${key}=${value}`, '--overwrite')),
    patchDaemonSet: async (ds, patch) => void recording.commands.push(kubectl('patch', 'daemonset', ds, '--type', 'merge', '-p', JSON.stringify(patch))),
    deleteDaemonSet: async (ds, cascade = 'background') => void recording.commands.push(kubectl('delete', 'daemonset', ds, `--cascade=${cascade}`)),
    rolloutUndo: async (ds) => void recording.commands.push(kubectl('rollout', 'undo', `daemonset/${ds}`)),
    waitForRollout: async (ds, timeoutMs = 60_000) => void recording.commands.push(kubectl('rollout', 'status', `daemonset/${ds}`, `--timeout=${timeoutMs / 1000}s`)),
    deletePodOn: async (ds, node) =>
      void recording.commands.push(`kubectl delete pod $(${kubectl('get', 'pods', '--field-selector', `spec.nodeName=${node}`, '-o', `jsonpath={.items[?(@.metadata.ownerReferences[0].name=="${ds}")].metadata.name}`)})`),
    addNode: unsupported('adding a node'),
    removeNode: unsupported('removing a node'),
    setNodeCondition: unsupported('changing a node condition'),
    checkNow: unsupported('checking while the cluster is in an intermediate state'),
    waitUntil: unsupported('waiting for a cluster state'),
    solveStep: async (stepId) => {
      const step = lab.steps.find((s) => s.id === stepId);
      if (!step) throw new Error(`${lab.id} has no step ${stepId}`);
      await step.solve(actions);
    },
  };
  return actions;
}

/** Hand-written submissions of trials whose moves cannot be recorded (they wait on what the cluster shows). */
const FIXTURES = fileURLToPath(new URL('../fixtures/grade-trials', import.meta.url));

/** The fixture folder of a trial: tests/fixtures/grade-trials/<lab-id>/<title as words joined by dashes>. */
export const trialFixture = (labId: string, trial: WrongTrial) => join(FIXTURES, labId, trial.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''));

/** Writes the submission of one trial into `<root>/<lab-id>/`: its hand-written fixture, or its recorded moves. */
export async function writeTrialSubmission(root: string, labId: string, trial: WrongTrial): Promise<void> {
  if (existsSync(trialFixture(labId, trial))) {
    cpSync(trialFixture(labId, trial), join(root, labId), { recursive: true });
    return;
  }
  const { definition, dir } = findLab(labId);
  const recording: Recording = { manifests: [], later: [], commands: [] };
  await trial.act(recordingActions(definition, dir, recording));
  const labRoot = join(root, labId);
  mkdirSync(labRoot, { recursive: true });
  for (const file of [...recording.manifests, ...recording.later]) {
    mkdirSync(join(labRoot, file.name, '..'), { recursive: true });
    writeFileSync(join(labRoot, file.name), file.text);
  }
  if (recording.commands.length) writeFileSync(join(labRoot, 'commands.sh'), `# ${trial.title}\n${recording.commands.join('\n')}\n`);
}

/** The wrong trials of a lab that a submission can express: those whose failing check is gradable. */
export function gradableWrongTrials(labId: string): WrongTrial[] {
  const lab = findLab(labId).definition;
  return lab.trials.filter((t): t is WrongTrial => {
    if (t.kind !== 'wrong') return false;
    const [stepId, checkId] = t.failingCheck.split('/');
    const step = lab.steps.find((s) => s.id === stepId);
    const check = step?.checks.find((c) => c.id === checkId);
    return !step?.notGradableFromFiles && !check?.notGradableFromFiles;
  });
}
