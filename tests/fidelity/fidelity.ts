/**
 * The differential fidelity suite: the same manifests on the embedded engine (simulated kubelets)
 * and on kind (real kubelets), compared on what a learner observes: placement, pod phase,
 * container state and reason, readiness, restart counts at two moments, event reasons, `kubectl
 * logs` and `--previous`, and rollout status. Each case runs in a namespace of its own on both
 * clusters at once. The table of divergences is what the simulated node is improved against.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../src/server/paths.ts';

/** One case: manifests applied together in a fresh namespace, then observed. */
export interface FidelityCase {
  readonly id: string;
  /** Where the manifests come from (a corpus file, or a lab's setup, solution or trial). */
  readonly source: string;
  readonly manifests: string;
  /** A kubectl sequence run 20 s after the apply (the chapter's commands, cordon/drain, deletes). */
  readonly sequence?: KubectlSequence;
}

/**
 * tests/fidelity/cases/<id>.kubectl: one kubectl command a line (arguments split on spaces, `-n
 * <case namespace>` added). Lines under `finally:` run after the last look, to undo node changes.
 * A sequence may change nodes, which every case sees: sequence cases run one at a time, after the rest.
 */
export interface KubectlSequence {
  readonly steps: ReadonlyArray<readonly string[]>;
  readonly cleanup: ReadonlyArray<readonly string[]>;
}

/** Parses a .kubectl file (comments start with #). */
export function parseSequence(text: string): KubectlSequence {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const split = lines.indexOf('finally:');
  const commands = (part: string[]) => part.map((l) => l.split(/\s+/));
  return split < 0 ? { steps: commands(lines), cleanup: [] } : { steps: commands(lines.slice(0, split)), cleanup: commands(lines.slice(split + 1)) };
}

/** A cluster to run cases on, through real kubectl. */
export interface FidelityCluster {
  readonly name: string;
  readonly kubectl: string;
  readonly kubeconfig: string;
  readonly context: string;
}

/** What a learner would see, field by field (strings, so that comparing is exact and printable). */
export type Observation = Record<string, string>;

/** The corpus: tests/fidelity/cases/*.yaml, then every lab's setup, solution and trial manifests. */
export async function loadCorpus(): Promise<FidelityCase[]> {
  const cases: FidelityCase[] = [];
  const own = join(REPO_ROOT, 'tests/fidelity/cases');
  for (const file of (await readdir(own)).filter((f) => f.endsWith('.yaml')).sort()) {
    const id = basename(file, '.yaml');
    const sequence = await readFile(join(own, `${id}.kubectl`), 'utf8').then(parseSequence, () => undefined);
    cases.push({ id, source: `tests/fidelity/cases/${file}`, manifests: await readFile(join(own, file), 'utf8'), ...(sequence ? { sequence } : {}) });
  }
  const labsDir = join(REPO_ROOT, 'labs');
  for (const lab of (await readdir(labsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    for (const part of ['setup', 'solution', 'trials']) {
      const files = await readdir(join(labsDir, lab, part)).catch(() => [] as string[]);
      for (const file of files.filter((f) => f.endsWith('.yaml')).sort()) {
        cases.push({ id: `${lab}/${part}/${basename(file, '.yaml')}`, source: `labs/${lab}/${part}/${file}`, manifests: await readFile(join(labsDir, lab, part, file), 'utf8') });
      }
    }
  }
  return cases;
}

const run = promisify(execFile);

async function kubectl(cluster: FidelityCluster, args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(cluster.kubectl, ['--kubeconfig', cluster.kubeconfig, '--context', cluster.context, ...args], { maxBuffer: 8 * 1024 * 1024 });
  if (input !== undefined) child.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The namespace of a case: stable, short, a valid DNS label. */
export function caseNamespace(id: string): string {
  return `fid-${id.replace(/[^a-z0-9]+/g, '-')}`.slice(0, 60).replace(/-+$/, '');
}

/** Masks what differs by nature between any two runs (IPs, pod name suffixes, times, counts). */
export function normalize(text: string): string {
  return text
    .replace(/\b\d{1,3}(\.\d{1,3}){3}\b/g, '<ip>')
    .replace(/\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?\S*/g, '<time>')
    .replace(/\[\d\d\/\w{3}\/\d{4}:[^\]]+\]/g, '[<time>]')
    .replace(/-[a-z0-9]{5}\b/g, '-<id>')
    .replace(/-[a-f0-9]{8,10}-(?=<id>)/g, '-<hash>-')
    .replace(/\b\d+m\d+s\b|\b\d+[smh]\b/g, '<age>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 90);
}

interface ContainerStatus {
  ready: boolean;
  restartCount: number;
  state?: { waiting?: { reason?: string }; running?: object; terminated?: { reason?: string; exitCode?: number } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}
interface Pod {
  metadata: { name: string; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string }> };
  spec: { nodeName?: string; nodeSelector?: Record<string, string>; affinity?: unknown };
  status: { phase: string; reason?: string; initContainerStatuses?: ContainerStatus[]; containerStatuses?: ContainerStatus[] };
}

function containerState(status: ContainerStatus | undefined): string {
  if (!status?.state) return 'none';
  if (status.state.waiting) return `waiting:${status.state.waiting.reason ?? '?'}`;
  if (status.state.terminated) return `terminated:${status.state.terminated.reason ?? '?'}:${status.state.terminated.exitCode ?? '?'}`;
  return 'running';
}

/**
 * Where a pod went: its node when something chose that node (a DaemonSet, a node selector,
 * affinity), else only that it was scheduled. Among equal nodes kube-scheduler picks at random
 * (the same real scheduler on both engines), so a lone pod's node is not a finding.
 */
function placement(p: Pod): string {
  if (!p.spec.nodeName) return 'unscheduled';
  const nodeChosen = p.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet') || p.spec.nodeSelector !== undefined || p.spec.affinity !== undefined;
  return nodeChosen ? p.spec.nodeName : 'scheduled';
}

const restarts = (n: number) => (n === 0 ? '0' : n === 1 ? '1' : '≥2');

/** One look at the pods of a case's namespace. */
async function observePods(cluster: FidelityCluster, ns: string, label: string): Promise<Observation> {
  const pods = (JSON.parse((await kubectl(cluster, ['get', 'pods', '-n', ns, '-o', 'json'])).stdout || '{"items":[]}') as { items: Pod[] }).items
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort((a, b) => `${a.spec.nodeName}`.localeCompare(`${b.spec.nodeName}`) || a.metadata.name.localeCompare(b.metadata.name));
  const each = (f: (p: Pod) => string) => pods.map(f).join(' ') || '—';
  return {
    [`pods on (${label})`]: each(placement),
    [`phase (${label})`]: each((p) => p.status.phase),
    [`init container (${label})`]: each((p) => containerState(p.status.initContainerStatuses?.[0])),
    [`container state (${label})`]: each((p) => containerState(p.status.containerStatuses?.[0])),
    [`ready (${label})`]: each((p) => String(p.status.containerStatuses?.[0]?.ready ?? false)),
    [`restarts (${label})`]: each((p) => restarts(p.status.containerStatuses?.[0]?.restartCount ?? 0)),
    [`last termination (${label})`]: each((p) => {
      const last = p.status.containerStatuses?.[0]?.lastState?.terminated;
      return last ? `${last.reason}:${last.exitCode}` : '—';
    }),
  };
}

/** Logs, previous logs, events and rollout status: the text a learner reads. */
async function observeText(cluster: FidelityCluster, ns: string, manifests: string): Promise<Observation> {
  const pods = (await kubectl(cluster, ['get', 'pods', '-n', ns, '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ').filter(Boolean).sort();
  const first = pods[0];
  const logs = first ? await kubectl(cluster, ['logs', '-n', ns, first, '--tail=2']) : undefined;
  const previous = first ? await kubectl(cluster, ['logs', '-n', ns, first, '--previous', '--tail=1']) : undefined;
  const events = (await kubectl(cluster, ['get', 'events', '-n', ns, '-o', 'jsonpath={.items[*].reason}'])).stdout.split(' ').filter(Boolean);
  const observation: Observation = {
    'kubectl logs': logs ? (logs.code === 0 ? normalize(logs.stdout) || '(empty)' : `error: ${normalize(logs.stderr.replace(/^error: /, ''))}`) : '—',
    'kubectl logs --previous': previous ? (previous.code === 0 ? normalize(previous.stdout) || '(empty)' : `error: ${normalize(previous.stderr.replace(/^error: /, ''))}`) : '—',
    'event reasons': [...new Set(events)].sort().join(' ') || '—',
  };
  const daemonSet = parseAllDocuments(manifests).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } }).find((d) => d?.kind === 'DaemonSet');
  if (daemonSet?.metadata?.name) {
    const rollout = await kubectl(cluster, ['rollout', 'status', '-n', ns, `daemonset/${daemonSet.metadata.name}`, '--timeout=1s']);
    observation['rollout status'] = normalize(rollout.stdout.trim().split('\n').at(-1) ?? '') || normalize(rollout.stderr);
  }
  return observation;
}

/** Runs a sequence's commands in order: each one's exit code and last output line, then the pods' STATUS column at once. */
async function runSequence(cluster: FidelityCluster, ns: string, steps: ReadonlyArray<readonly string[]>): Promise<Observation> {
  const observation: Observation = {};
  for (const [index, args] of steps.entries()) {
    const result = await kubectl(cluster, [...args, '-n', ns]);
    const lines = `${result.stdout}\n${result.stderr}`.trim().split('\n');
    observation[`$ kubectl ${args.join(' ')} (#${index + 1})`] = `exit ${result.code}: ${normalize(lines.at(-1) ?? '')}`;
  }
  const statuses = await kubectl(cluster, ['get', 'pods', '-n', ns, '--no-headers', '-o', 'custom-columns=NODE:.spec.nodeName,STATUS:.status.phase,DELETING:.metadata.deletionTimestamp']);
  observation['pods right after the commands'] = normalize(statuses.stdout.split('\n').filter(Boolean).sort().join(' · ')) || '—';
  return observation;
}

/** Applies a case in its namespace, looks at 20 s (after its kubectl sequence, if any) and 45 s, then deletes the namespace. */
export async function runCase(cluster: FidelityCluster, fidelityCase: FidelityCase): Promise<Observation> {
  const ns = caseNamespace(fidelityCase.id);
  await kubectl(cluster, ['create', 'namespace', ns]);
  const applied = await kubectl(cluster, ['apply', '-n', ns, '-f', '-'], fidelityCase.manifests);
  if (applied.code !== 0) return { apply: `error: ${normalize(applied.stderr)}` };
  await new Promise((r) => setTimeout(r, 20_000));
  const early = await observePods(cluster, ns, '20 s');
  const sequence = fidelityCase.sequence ? await runSequence(cluster, ns, fidelityCase.sequence.steps) : {};
  await new Promise((r) => setTimeout(r, 25_000));
  const late = await observePods(cluster, ns, '45 s');
  const text = await observeText(cluster, ns, fidelityCase.manifests);
  for (const args of fidelityCase.sequence?.cleanup ?? []) await kubectl(cluster, [...args, '-n', ns]);
  await kubectl(cluster, ['delete', 'namespace', ns, '--wait=false']);
  return { apply: 'ok', ...early, ...sequence, ...late, ...text };
}

/** One row of the divergence table. */
export interface Divergence {
  readonly caseId: string;
  readonly field: string;
  readonly embedded: string;
  readonly kind: string;
}

/** Every field where the two engines' observations differ. */
export function divergences(caseId: string, embedded: Observation, kind: Observation): Divergence[] {
  const fields = [...new Set([...Object.keys(embedded), ...Object.keys(kind)])];
  return fields
    .filter((field) => (embedded[field] ?? '—') !== (kind[field] ?? '—'))
    .map((field) => ({ caseId, field, embedded: embedded[field] ?? '—', kind: kind[field] ?? '—' }));
}

/** Runs cases in batches on both clusters at once; returns observations by case id. */
export async function runCorpus(
  cases: readonly FidelityCase[],
  embedded: FidelityCluster,
  kind: FidelityCluster,
  batchSize: number,
  onCase: (id: string) => void,
): Promise<Map<string, { embedded: Observation; kind: Observation }>> {
  const results = new Map<string, { embedded: Observation; kind: Observation }>();
  // Sequences may cordon, drain, label or taint nodes, which every case would see: one at a time, last.
  const batches: FidelityCase[][] = [];
  const plain = cases.filter((c) => !c.sequence);
  for (let start = 0; start < plain.length; start += batchSize) batches.push(plain.slice(start, start + batchSize));
  for (const sequenceCase of cases.filter((c) => c.sequence)) batches.push([sequenceCase]);
  for (const batch of batches) {
    await Promise.all(
      batch.map(async (c) => {
        const [e, k] = await Promise.all([runCase(embedded, c), runCase(kind, c)]);
        results.set(c.id, { embedded: e, kind: k });
        onCase(c.id);
      }),
    );
  }
  return results;
}
