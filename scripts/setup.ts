/**
 * npm run setup: obtains the Kubernetes binaries (built from Go modules here; cached outside the
 * repository, so a second run builds nothing) and prints where they are and their versions.
 */
import { execFileSync } from 'node:child_process';
import { runCli } from '../src/server/cli.ts';
import { binaryDir, ensureBinaries, missingBinaries } from '../src/server/cluster/binaries.ts';

await runCli(async () => {
  const missingBefore = await missingBinaries();
  const binaries = await ensureBinaries();
  const kubectlVersion = execFileSync(binaries.kubectl, ['version', '--client=true']).toString().split('\n')[0];
  const etcdVersion = execFileSync(binaries.etcd, ['--version']).toString().split('\n')[0];
  const kwokVersion = execFileSync(binaries.kwokctl, ['--version']).toString().trim();
  process.stderr.write(
    `${missingBefore.length === 0 ? '✓ Binaries already cached' : '✓ Binaries ready'} in ${binaryDir()}\n` +
      `  ${kubectlVersion}; ${etcdVersion}; ${kwokVersion}\n`,
  );
});
