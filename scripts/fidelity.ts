/**
 * npm run fidelity: the differential fidelity suite (tests/fidelity). Starts a fresh embedded
 * cluster and the kind cluster (`up`, building what is missing), runs every case on both, prints
 * a table with a line per divergence, and writes it to docs/fidelity.md (committed: the README's
 * "How the simulated node differs" points to it).
 *
 *   npm run fidelity [-- --batch 8] [-- --only <case id substring>[,<substring>…]]
 * Exit code 0 when the suite ran (divergences are findings, not failures), 2 when a cluster cannot start.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '../src/server/cli.ts';
import { REPO_ROOT } from '../src/server/paths.ts';
import { binaryDir, ensureBinaries } from '../src/server/cluster/binaries.ts';
import { kindProvider } from '../src/server/cluster/providers/kind.ts';
import { processRunner } from '../src/server/cluster/providers/runner.ts';
import { startTestCluster } from '../tests/support/test-cluster.ts';
import { divergences, loadCorpus, runCorpus, type Divergence, type FidelityCase } from '../tests/fidelity/fidelity.ts';

function table(rows: readonly Divergence[]): string {
  const header = '| case | observed | embedded (simulated kubelets) | kind (real kubelets) |\n| --- | --- | --- | --- |\n';
  const cell = (text: string) => text.replaceAll('|', '\\|');
  return header + rows.map((r) => `| ${cell(r.caseId)} | ${cell(r.field)} | ${cell(r.embedded)} | ${cell(r.kind)} |`).join('\n') + '\n';
}

/** What was run, and what the suite cannot compare here. */
function heading(cases: readonly FidelityCase[], same: number, divergent: number): string {
  const sequences = cases.filter((c) => c.sequence).length;
  return [
    '# Fidelity: embedded vs kind',
    '',
    `Written by \`npm run fidelity\` on ${new Date().toISOString().slice(0, 10)}: ${cases.length} cases (${cases.length - sequences} manifests from tests/fidelity/cases and every lab's setup, solution and trials; ${sequences} kubectl sequences: cordon/drain, grace periods, rollout undo, node labels and taints, logs --previous), each applied on both engines in a namespace of its own and looked at after 20 s and 45 s.`,
    `${same} cases were observed identically; ${divergent} divergences below. Values are normalized (IPs, times, ages, pod name suffixes); restart counts are 0, 1 or ≥2.`,
    'Not compared: adding and removing nodes (kind cannot change nodes of a running cluster; node-lifecycle reports those steps as not applicable there); the node of a pod that nothing placed (no DaemonSet, node selector or affinity), which the same real kube-scheduler picks at random among equal nodes on both engines.',
    "Where kind is not the truth: with no registry here, kind's node image has every image built in, so its kubelets never show `Pulling` (a fresh real node pulls each image once, as the embedded engine shows), and an image it lacks, or one with `imagePullPolicy: Always`, can never be pulled (a real node online pulls it, as the embedded engine shows); its images are stand-ins built from Debian packages (nginx is Debian's 1.22, which logs no start-up lines, no `\"-\"` forwarded-for field and no error line for a missing file, and whose welcome page is 615 bytes where nginx 1.19's is 612; node-exporter and fluentd are Debian's versions, with their own log formats), so the embedded engine's logs follow the official images of the tags asked for instead; and its containerd (Debian's 1.6.20) cannot always return `kubectl logs --previous`.",
    '',
  ].join('\n');
}

await runCli(async () => {
  const { values } = parseArgs({ options: { batch: { type: 'string', default: '8' }, only: { type: 'string' } } });
  await ensureBinaries();
  const only = values.only?.split(',').filter(Boolean);
  const cases = (await loadCorpus()).filter((c) => !only || only.some((part) => c.id.includes(part)));
  process.stderr.write(`Fidelity corpus: ${cases.length} cases\n`);
  const kindState = await mkdtemp(join(tmpdir(), 'daemonset-lab-fidelity-kind-'));
  const kind = kindProvider({ stateDir: kindState, portBase: 0, runner: processRunner });
  const embedded = await startTestCluster('fidelity', 32400);
  try {
    await kind.up();
    const kindConnection = await kind.connection();
    const kubectl = join(binaryDir(), 'kubectl');
    let done = 0;
    const results = await runCorpus(
      cases,
      { name: 'embedded', kubectl, kubeconfig: embedded.info.connection.kubeconfig, context: embedded.info.connection.context },
      { name: 'kind', kubectl, kubeconfig: kindConnection.kubeconfig, context: kindConnection.context },
      Math.max(1, Number(values.batch)),
      (id) => process.stderr.write(`  [${++done}/${cases.length}] ${id}\n`),
    );
    const rows = cases.flatMap((c) => divergences(c.id, results.get(c.id)!.embedded, results.get(c.id)!.kind));
    const same = cases.filter((c) => !rows.some((r) => r.caseId === c.id)).length;
    const report = `${heading(cases, same, rows.length)}\n${table(rows)}`;
    await mkdir(join(REPO_ROOT, 'docs'), { recursive: true });
    await writeFile(join(REPO_ROOT, 'docs', 'fidelity.md'), report);
    process.stdout.write(`${report}\n(also in docs/fidelity.md)\n`);
    return 0;
  } finally {
    await embedded.stop();
    await kind.down();
    await rm(kindState, { recursive: true, force: true });
  }
});
