/**
 * Every sample output a lesson shows (a ```text block) comes from a command a learner can run on
 * our 4-node cluster. For each one this test brings a real embedded cluster into the state the
 * lesson describes, runs the command with the project's kubectl, and compares the shape of what
 * it prints with the sample: each line of the sample (ages, random pod suffixes, hashes, IPs and
 * timestamps masked; "..." skips lines) must appear in order in the real output, and a table
 * sample must have as many rows as the real table. Samples that no command here can produce are
 * listed, with the reason, in NOT_FROM_A_COMMAND; a sample in neither list fails the test.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../../src/server/cluster/kube.ts';
import { createLabEngine } from '../../src/server/labs/engine.ts';
import type { LabActions } from '../../src/server/labs/define.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { connectTestCluster } from '../support/test-cluster.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const cluster = connectTestCluster(inject('testCluster'));
const engine = createLabEngine({ provider: cluster.provider, stateDir: mkdtempSync(join(tmpdir(), 'lesson-outputs-')) });
afterAll(() => engine.close());

/** One ```text block of a lesson. */
interface Sample {
  readonly lesson: string;
  readonly line: number;
  readonly text: string;
}

function lessonSamples(): Sample[] {
  const dir = join(REPO_ROOT, 'content');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.mdx'))
    .flatMap((file) => {
      const source = readFileSync(join(dir, file), 'utf8');
      return [...source.matchAll(/```text[^\n]*\n([\s\S]*?)```/g)].map((m) => ({
        lesson: file.replace(/\.mdx$/, ''),
        line: source.slice(0, m.index).split('\n').length,
        text: m[1]!,
      }));
    });
}

/** Volatile parts of kubectl output, masked on both sides before comparing. */
const MASKS: ReadonlyArray<[RegExp, string]> = [
  [/\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\b/g, '<time>'],
  [/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\b/g, '<time>'],
  [/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g, '<ip>'],
  // Pod names (5 characters) and ControllerRevision hashes (up to 10) use this alphabet.
  [/-[bcdfghjklmnpqrstvwxz2456789]{5,10}(?![a-z0-9])/g, '-<id>'],
  [/\(x\d+ over [\dsmhd]+\)/g, '(xN over <age>)'],
  [/\b\d+(?:\.\d+)?(?:s|m|h|d)(?:\d+(?:s|m|h))?(?: ago)?\b/g, '<age>'],
  [/<age> ago/g, '<age>'],
  [/_default\([^)]*\)/g, '_default(<uid>)'],
  // Restart counts and rollout progress depend on when kubectl looks.
  [/Restart Count: +\d+/g, 'Restart Count: N'],
  [/\b\d+ (out of|of) \d+ /g, 'N $1 N '],
];

const normalize = (line: string) => MASKS.reduce((text, [pattern, mask]) => text.replace(pattern, mask), line).replace(/\s+/g, ' ').trim();

/** Whether a sample looks like a kubectl table: a first line of upper-case column names. */
const isTable = (lines: readonly string[]) => /^[A-Z][A-Z-]+(?: {2,}[A-Z][A-Z -]*)+$/.test(lines[0] ?? '');

/** A table's rows as cells (kubectl pads columns with at least two spaces), `volatile` columns blanked. */
function tableRows(block: readonly string[], volatile: readonly string[]): string[] {
  const header = block[0]!.trim().split(/ {2,}/);
  return block
    .slice(1)
    .map((row) => row.trim().split(/ {2,}/).map((cell, index) => (volatile.includes(header[index] ?? '') ? '*' : normalize(cell))).join(' | '))
    .sort();
}

/**
 * Where the sample does not have the shape of the real output, or undefined when they agree.
 * Tables: the same header, and the same rows (masked; `volatile` columns ignored). Other text:
 * each sample line (masked; "..." skips) appears in order in the real output.
 */
function shapeDifference(sample: string, actual: string, volatile: readonly string[] = []): string | undefined {
  const blocks = (text: string) => text.split(/\n\s*\n/).map((b) => b.split('\n').filter((l) => l.trim())).filter((b) => b.length);
  const real = blocks(actual);
  const seen = actual.split('\n').filter((l) => l.trim()).map(normalize);
  for (const block of blocks(sample)) {
    if (isTable(block)) {
      const match = real.find((b) => normalize(b[0]!) === normalize(block[0]!));
      if (!match) return `no table with the header ${JSON.stringify(block[0])} in the real output:\n${actual}`;
      const [want, got] = [tableRows(block, volatile), tableRows(match, volatile)];
      if (JSON.stringify(want) !== JSON.stringify(got)) return `table rows differ:\nlesson: ${JSON.stringify(want, null, 1)}\nreal:   ${JSON.stringify(got, null, 1)}`;
      continue;
    }
    let at = 0;
    for (const line of block.filter((l) => l.trim() !== '...')) {
      // "..." inside a line stands for text the lesson leaves out.
      const pattern = new RegExp(`^${normalize(line).split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      const found = seen.findIndex((candidate, index) => index >= at && pattern.test(candidate));
      if (found === -1) return `sample line not in the real output: ${JSON.stringify(normalize(line))}\nreal output (masked):\n${seen.join('\n')}`;
      at = found + 1;
    }
  }
  return undefined;
}

/** kubectl, failing the test on a non-zero exit unless `allowFailure`. */
async function kubectl(args: string[], stdin?: string, allowFailure = false): Promise<string> {
  const result = await cluster.kubectl(args, stdin);
  if (!allowFailure) expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return `${result.stdout}${result.stderr}`;
}

/** How one sample is produced on a real cluster. */
interface Scenario {
  /** The lesson and the first line of its sample. */
  readonly lesson: string;
  readonly startsWith: string;
  /** The lab whose start state the lesson describes, then what else the lesson did. */
  readonly lab: string;
  readonly prepare?: (lab: LabActions) => Promise<void>;
  /** The command(s) the lesson shows, with placeholders filled in; outputs joined by a blank line. */
  readonly run: () => Promise<string>;
  /** Table columns whose values depend on timing (restarts, a status between two crashes). */
  readonly volatile?: readonly string[];
}

/** The first-daemonset lab's solution: the chapter's nginx DaemonSet. */
const NGINX_SOLUTION = readFileSync(join(REPO_ROOT, 'labs/first-daemonset/solution/nginx-daemonset.yaml'), 'utf8');

const CRASHING_NGINX = NGINX_SOLUTION.replace(
  '        image: nginx:1.19\n',
  '        image: nginx:1.19\n        command: ["sh", "-c", "echo loading configuration; exit 1"]\n',
);

/** Waits until every pod with these labels has crashed at least once. */
async function waitForRestarts(selector: string): Promise<void> {
  await waitFor(`pods ${selector} to crash-loop`, async () => {
    const out = await kubectl(['get', 'pods', '-l', selector, '-o', 'jsonpath={.items[*].status.containerStatuses[0].restartCount}']);
    const counts = out.trim().split(/\s+/).map(Number);
    return counts.length === 3 && counts.every((c) => c >= 2) ? true : undefined;
  }, 60_000);
}

/** A pod with these labels that is waiting in CrashLoopBackOff right now. */
async function podInBackOff(selector: string): Promise<string> {
  return waitFor(`a pod ${selector} in CrashLoopBackOff`, async () => {
    const out = await kubectl(['get', 'pods', '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[0].state.waiting.reason}{"\\n"}{end}']);
    return out.split('\n').find((line) => line.endsWith(' CrashLoopBackOff'))?.split(' ')[0];
  }, 30_000, 100);
}

/** The chapter's nginx DaemonSet, rolled out. */
async function nginxRolledOut(lab: LabActions): Promise<void> {
  await lab.applyFile('solution/nginx-daemonset.yaml');
  await lab.waitForRollout('nginx-daemonset');
}

/** The chapter's nginx DaemonSet, rolled out, then its image changed to 1.20.0 (a second revision). */
async function nginxImageChanged(lab: LabActions): Promise<void> {
  await nginxRolledOut(lab);
  await lab.setImage('nginx-daemonset', 'nginx', 'nginx:1.20.0');
}

const SCENARIOS: readonly Scenario[] = [
  {
    lesson: 'creating-a-daemonset',
    startsWith: 'NAME              DESIRED',
    lab: 'first-daemonset',
    prepare: nginxRolledOut,
    run: async () => `${await kubectl(['get', 'daemonsets'])}\n${await kubectl(['get', 'pods', '-o', 'wide'])}`,
  },
  {
    lesson: 'managing-daemonsets',
    startsWith: 'Name:           nginx-daemonset',
    lab: 'first-daemonset',
    prepare: async (lab) => {
      await nginxImageChanged(lab);
      await lab.waitForRollout('nginx-daemonset');
    },
    run: () => kubectl(['describe', 'daemonset', 'nginx-daemonset']),
  },
  {
    lesson: 'updates-and-rollbacks',
    startsWith: 'NAME                         CONTROLLER',
    lab: 'first-daemonset',
    prepare: async (lab) => {
      await nginxImageChanged(lab);
      await lab.waitForRollout('nginx-daemonset');
    },
    run: () => kubectl(['get', 'controllerrevisions', '-l', 'name=nginx-daemonset']),
  },
  {
    lesson: 'updates-and-rollbacks',
    startsWith: 'Waiting for daemon set',
    lab: 'first-daemonset',
    prepare: nginxImageChanged,
    run: () => kubectl(['rollout', 'status', 'daemonset/nginx-daemonset', '--timeout=60s']),
  },
  {
    lesson: 'troubleshooting-crashloop',
    startsWith: 'NAME                    READY   STATUS             RESTARTS',
    lab: 'first-daemonset',
    prepare: async (lab) => {
      await lab.applyYaml(CRASHING_NGINX);
      await waitForRestarts('name=nginx-daemonset');
    },
    run: () => kubectl(['get', 'pods', '-l', 'name=nginx-daemonset', '-o', 'wide']),
    volatile: ['STATUS', 'RESTARTS'],
  },
  {
    lesson: 'troubleshooting-crashloop',
    startsWith: '    State:          Waiting',
    lab: 'first-daemonset',
    prepare: async (lab) => {
      await lab.applyYaml(CRASHING_NGINX);
      await waitForRestarts('name=nginx-daemonset');
    },
    run: async () => kubectl(['describe', 'pod', await podInBackOff('name=nginx-daemonset')]),
  },
  {
    lesson: 'troubleshooting-crashloop',
    startsWith: '  Warning  Failed     10s   kubelet  spec.containers{nginx}: Failed to pull image',
    lab: 'first-daemonset',
    prepare: async (lab) => {
      await lab.applyYaml(NGINX_SOLUTION.replace('nginx:1.19', 'nginx:1.20.O'));
      await waitFor('a pod in ImagePullBackOff', async () => ((await kubectl(['get', 'pods', '-l', 'name=nginx-daemonset'])).includes('ImagePullBackOff') ? true : undefined), 60_000);
    },
    run: async () => {
      const pods = await kubectl(['get', 'pods', '-l', 'name=nginx-daemonset', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[0].state.waiting.reason}{"\\n"}{end}']);
      const pod = pods.split('\n').find((line) => line.endsWith(' ImagePullBackOff'))!.split(' ')[0]!;
      return kubectl(['describe', 'pod', pod]);
    },
  },
  {
    lesson: 'troubleshooting-scheduling',
    startsWith: 'Name:           nginx-daemonset',
    lab: 'troubleshoot-not-scheduling',
    run: () => kubectl(['describe', 'daemonset', 'nginx-daemonset']),
  },
  {
    lesson: 'troubleshooting-scheduling',
    startsWith: 'Name:               daemonset-lab-worker3',
    lab: 'troubleshoot-not-scheduling',
    run: () => kubectl(['describe', 'node', 'daemonset-lab-worker3']),
  },
  {
    lesson: 'troubleshooting-scheduling',
    startsWith: 'LAST SEEN   TYPE      REASON             OBJECT',
    lab: 'troubleshoot-not-scheduling',
    run: async () => {
      const pod = (await kubectl(['get', 'pods', '-l', 'name=node-exporter', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
      return kubectl(['get', 'events', '--field-selector', `involvedObject.name=${pod},reason=FailedScheduling`]);
    },
  },
  {
    lesson: 'troubleshooting-scheduling',
    startsWith: '3s          Warning   FailedCreate',
    lab: 'troubleshoot-not-scheduling',
    prepare: async (lab) => {
      await lab.deleteDaemonSet('log-collector');
      await kubectl(['label', 'namespace', 'default', 'pod-security.kubernetes.io/enforce=baseline', '--overwrite']);
      try {
        await lab.applyFile('solution/log-collector-daemonset.yaml');
        await waitFor('a FailedCreate event', async () => ((await kubectl(['get', 'events', '--field-selector', 'reason=FailedCreate'])).includes('log-collector') ? true : undefined), 30_000);
      } finally {
        await kubectl(['label', 'namespace', 'default', 'pod-security.kubernetes.io/enforce-']);
      }
    },
    run: () => kubectl(['get', 'events', '--field-selector', 'reason=FailedCreate', '--no-headers']),
  },
];

/** Samples no command on our cluster produces, and why. */
const NOT_FROM_A_COMMAND: ReadonlyArray<{ lesson: string; startsWith: string; why: string }> = [];

const samples = lessonSamples();

describe('lesson sample outputs', () => {
  it('are each produced by a scenario here or listed with the reason they are not', () => {
    const known = [...SCENARIOS, ...NOT_FROM_A_COMMAND];
    const orphans = samples.filter((s) => !known.some((k) => k.lesson === s.lesson && s.text.startsWith(k.startsWith)));
    expect(orphans.map((s) => `${s.lesson}.mdx:${s.line}: ${s.text.split('\n')[0]}`)).toEqual([]);
    const unused = known.filter((k) => !samples.some((s) => k.lesson === s.lesson && s.text.startsWith(k.startsWith)));
    expect(unused.map((k) => `${k.lesson}: ${k.startsWith}`)).toEqual([]);
  });

  for (const scenario of SCENARIOS) {
    it(`${scenario.lesson}: "${scenario.startsWith.trim().slice(0, 40)}" has the shape of the real output`, async () => {
      const sample = samples.find((s) => s.lesson === scenario.lesson && s.text.startsWith(scenario.startsWith));
      expect(sample, 'the sample is in the lesson').toBeDefined();
      await engine.start(scenario.lab);
      await scenario.prepare?.(await engine.actions(scenario.lab));
      const actual = await scenario.run();
      expect(shapeDifference(sample!.text, actual, scenario.volatile), `${scenario.lesson}.mdx:${sample!.line}`).toBeUndefined();
    });
  }
});
