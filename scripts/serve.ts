/**
 * npm run serve -- [--host H] [--port P] [--provider NAME]
 * Starts only the lab workspace server; the cluster is assumed up (`npm run cluster -- up`) and
 * the site built (`npm run build`). `npm start` does all of it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../src/server/cli.ts';
import { EnvironmentError } from '../src/server/errors.ts';
import { REPO_ROOT } from '../src/server/paths.ts';
import { resolveProvider } from '../src/server/cluster/providers/registry.ts';
import { parseServeFlags, serve, serveContext } from '../src/server/web/run.ts';

await runCli(async () => {
  const flags = parseServeFlags(process.argv.slice(2));
  if (!existsSync(join(REPO_ROOT, 'dist', 'index.html'))) {
    throw new EnvironmentError('The site is not built (dist/ is missing).', 'npm run build, or npm start (which builds it)');
  }
  const context = serveContext(flags);
  const { provider } = await resolveProvider(flags.provider, context);
  await serve(provider, flags, context);
  // Keep running until a signal stops the server.
  await new Promise(() => undefined);
});
