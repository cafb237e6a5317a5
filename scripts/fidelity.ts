/**
 * npm run fidelity: the differential fidelity suite (tests/fidelity). Starts a fresh embedded
 * cluster and the kind cluster (`up`, building what is missing), runs every case on both, prints
 * a table with a line per divergence, and writes it to test-results/fidelity.md.
 *
 *   npm run fidelity [-- --batch 8] [-- --only <case id substring>]
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
import { divergences, loadCorpus, runCorpus, type Divergence } from '../tests/fidelity/fidelity.ts';

function table(rows: readonly Divergence[]): string {
  const header = '| case | observed | embedded (simulated kubelets) | kind (real kubelets) |\n| --- | --- | --- | --- |\n';
  const cell = (text: string) => text.replaceAll('|', '\\|');
  return header + rows.map((r) => `| ${cell(r.caseId)} | ${cell(r.field)} | ${cell(r.embedded)} | ${cell(r.kind)} |`).join('\n') + '\n';
}

await runCli(async () => {
  const { values } = parseArgs({ options: { batch: { type: 'string', default: '8' }, only: { type: 'string' } } });
  await ensureBinaries();
  const cases = (await loadCorpus()).filter((c) => !values.only || c.id.includes(values.only));
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
    const report = `# Fidelity: embedded vs kind\n\n${cases.length} cases, ${same} observed identically, ${rows.length} divergences.\n\n${table(rows)}`;
    await mkdir(join(REPO_ROOT, 'test-results'), { recursive: true });
    await writeFile(join(REPO_ROOT, 'test-results', 'fidelity.md'), report);
    process.stdout.write(`${report}\n(also in test-results/fidelity.md)\n`);
    return 0;
  } finally {
    await embedded.stop();
    await kind.down();
    await rm(kindState, { recursive: true, force: true });
  }
});
