/**
 * npm start -- [--host H] [--port P] [--provider NAME]
 * Everything a fresh checkout needs, with progress for the long steps: the Kubernetes binaries,
 * the built site, then the cluster and, listening meanwhile, the lab server; its URL (with the
 * access token) once the cluster is up.
 */
import { spawn } from 'node:child_process';
import { flushCompileCache } from 'node:module';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../src/server/cli.ts';
import { EnvironmentError } from '../src/server/errors.ts';
import { REPO_ROOT } from '../src/server/paths.ts';
import { withProgress } from '../src/server/progress.ts';
import { ensureBinaries } from '../src/server/cluster/binaries.ts';
import { resolveProvider, startCluster } from '../src/server/cluster/providers/registry.ts';
import { parseServeFlags, serve, serveContext } from '../src/server/web/run.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Newest modification time below `path` (a file or folder), 0 when missing. */
function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), info.mtimeMs);
}

/** Whether dist/ is missing or older than anything the site is built from. */
function siteIsStale(): boolean {
  const built = join(REPO_ROOT, 'dist', 'index.html');
  if (!existsSync(built)) return true;
  const inputs = ['content', 'src', 'public', 'labs', 'astro.config.mjs', 'package-lock.json'].map((p) => newest(join(REPO_ROOT, p)));
  return Math.max(...inputs) > statSync(built).mtimeMs;
}

/** Runs `astro build` for production, keeping its log to quote when it fails. */
function buildSite(setDetail: (detail: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules', 'astro', 'bin', 'astro.mjs'), 'build'], {
      cwd: REPO_ROOT,
      // NODE_ENV=production: a development-mode build would leave out search.
      env: { ...process.env, NODE_ENV: 'production', ASTRO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const last = output.trimEnd().split('\n').at(-1) ?? '';
      setDetail(last.replace(/\x1b\[[0-9;]*m/g, '').replace(/^\d\d:\d\d:\d\d /, ''));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new EnvironmentError(`Building the site failed (exit ${code}):\n${output.trim().split('\n').slice(-15).join('\n')}`, 'Fix the error above, then run npm start again.'));
    });
  });
}

/**
 * What Ctrl-C leaves running. Ctrl-C stops the site only: the cluster keeps running so that the
 * next `npm start` takes seconds, and stopping a kind cluster would delete it. Say so, and how to
 * stop it, instead of leaving a few hundred MB of cluster running unannounced.
 */
function afterStopMessage(providerName: string, summary: string): string {
  if (providerName === 'existing') return `The site has stopped. Your cluster is left as it was (${summary}).`;
  const how =
    providerName === 'kind'
      ? 'Delete it with:  npm run cluster -- down   (the next npm start creates it again)'
      : 'Stop it with:    npm run cluster -- down   (your work is kept; the next npm start resumes it)';
  return `The site has stopped. The ${providerName} cluster is still running in the background, so the next npm start takes seconds.\n  ${how}`;
}

await runCli(async () => {
  // The learner image's build runs its bundle of this script so (image/warm-compile-cache.ts):
  // every module is loaded and compiled by now, into Node's compile cache; nothing else runs.
  if (process.env.DAEMONSET_LAB_IMPORT_ONLY === '1') return flushCompileCache();
  const flags = parseServeFlags(process.argv.slice(2));
  const context = serveContext(flags);
  const { provider, explanation } = await resolveProvider(flags.provider, context);
  log(`Cluster engine: ${explanation}`);
  if (provider.name === 'embedded') await ensureBinaries();
  if (siteIsStale()) await withProgress('Building the lessons site', buildSite);
  // The server listens while the cluster starts: a page opened now loads meanwhile, and its API
  // requests wait for the cluster (a learner pod is Ready, and its page loading, seconds sooner).
  const starting = startCluster(provider, context);
  starting.then((status) => {
    log(`  ${status.summary}`);
    // First in line, before serve()'s own handler closes the server and exits.
    process.prependOnceListener('SIGINT', () => log(`\n${afterStopMessage(provider.name, status.summary)}`));
  }, () => undefined);
  // Either failing (a busy port, a cluster that cannot start) ends `npm start` with its message.
  await Promise.all([starting, serve(provider, flags, context, starting.then(() => undefined))]);
  await new Promise(() => undefined);
});
