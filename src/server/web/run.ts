/**
 * What `npm start` and `npm run serve` share: command-line flags, the lab engine for the saved
 * (or chosen) cluster engine, the server, and the start URL with its token.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';
import { REPO_ROOT } from '../paths.ts';
import { defaultProviderContext, type ProviderContext } from '../cluster/providers/context.ts';
import type { ClusterProvider, ProviderChoice } from '../cluster/providers/provider.ts';
import { parseProviderChoice } from '../cluster/providers/registry.ts';
import { createLabEngine } from '../labs/engine.ts';
import { startWorkspaceServer, type WorkspaceServer } from './server.ts';

/** The flags of `npm start` and `npm run serve`. */
export interface ServeFlags {
  readonly host: string;
  readonly port: number;
  readonly provider: ProviderChoice | undefined;
  readonly allowNonLabCluster: boolean;
  /** Listen on a non-loopback address although the server (and its shell) speaks plain HTTP. */
  readonly insecureLan: boolean;
}

export const SERVE_USAGE = `Options:
  --host HOST        address to listen on (default 127.0.0.1; another address needs --insecure-lan)
  --insecure-lan     allow a --host other machines can reach: the token and the shell travel unencrypted
  --port PORT        port to listen on (default 4321)
  --provider NAME    cluster engine: auto|embedded|kind|existing (default: the one \`cluster up\` started)
  --allow-non-lab-cluster   let lab actions change a cluster without the lab marker (existing engine)
`;

/** Parses the flags; a bad one is a UsageError with the options. */
export function parseServeFlags(args: readonly string[]): ServeFlags {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        provider: { type: 'string' },
        'allow-non-lab-cluster': { type: 'boolean' },
        'insecure-lan': { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${SERVE_USAGE}`);
  }
  const port = Number(values.port ?? 4321);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${values.port} is not a port number.`);
  const host = values.host ?? '127.0.0.1';
  const insecureLan = values['insecure-lan'] ?? false;
  if (!isLoopback(host) && !insecureLan) {
    throw new UsageError(
      `Refusing to listen on ${host}: other machines could reach this server, which runs a shell, over plain HTTP (no TLS), so the token would cross the network readable.\n` +
        'Keep the default (127.0.0.1) and use an SSH tunnel (ssh -L 4321:127.0.0.1:4321 HOST), or, on a network you trust, add --insecure-lan.',
    );
  }
  return {
    host,
    insecureLan,
    port,
    provider: values.provider === undefined ? undefined : parseProviderChoice(values.provider),
    allowNonLabCluster: values['allow-non-lab-cluster'] ?? false,
  };
}

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The provider context for the flags (the existing engine may get permission to change a cluster). */
export function serveContext(flags: ServeFlags): ProviderContext {
  const context = defaultProviderContext();
  return flags.allowNonLabCluster ? { ...context, existing: { ...context.existing, allowNonLabCluster: true } } : context;
}

/**
 * The access token set by whoever started this server, from DAEMONSET_LAB_TOKEN: the classroom
 * hub gives each learner pod its own (and is then the only one that holds it). Unset: a new
 * random token per start, as on a learner's own machine.
 */
export function tokenFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env.DAEMONSET_LAB_TOKEN;
  if (token === undefined || token === '') return undefined;
  if (!/^[A-Za-z0-9_-]{32,}$/.test(token)) {
    throw new UsageError('DAEMONSET_LAB_TOKEN must be at least 32 URL-safe characters (letters, digits, - and _).');
  }
  return token;
}

/**
 * What the server prints once it listens. Its own random token is in the URL, for the learner who
 * started it. A token given in DAEMONSET_LAB_TOKEN is never printed: whoever set it holds it
 * (the classroom hub), and a learner pod's log is readable by anyone who may read the hub
 * namespace's pod logs.
 */
export function startMessage(server: Pick<WorkspaceServer, 'url' | 'origin'>, tokenGiven: boolean): string {
  const where = tokenGiven
    ? `DaemonSet Lab is running on ${server.origin}/. Its access token is the one given in DAEMONSET_LAB_TOKEN, not printed here.`
    : `DaemonSet Lab is running. Open this URL (it carries the access token):\n\n    ${server.url}`;
  return `\n  ${where}\n\n  Press Ctrl-C to stop.\n`;
}

/**
 * Starts the lab engine and the server; prints the URL once the cluster is up; stops on SIGINT/SIGTERM.
 * With `clusterReady`, the server listens while the cluster is still starting (see
 * WorkspaceServerOptions.clusterReady); without it, the cluster is already running.
 */
export async function serve(
  provider: ClusterProvider,
  flags: ServeFlags,
  context: ProviderContext,
  clusterReady?: Promise<void>,
  log = (line: string) => process.stderr.write(`${line}\n`),
): Promise<WorkspaceServer> {
  if (!isLoopback(flags.host)) {
    log(`⚠ Listening on ${flags.host}: other machines can reach this server, which runs a shell. Anyone with the token can use it.`);
  }
  const token = tokenFromEnvironment();
  const engine = createLabEngine({ provider, stateDir: context.stateDir, allowNonLabCluster: flags.allowNonLabCluster });
  const server = await startWorkspaceServer({
    ...(token ? { token } : {}),
    engine,
    provider,
    distDir: join(REPO_ROOT, 'dist'),
    stateDir: context.stateDir,
    host: flags.host,
    port: flags.port,
    allowNonLabCluster: flags.allowNonLabCluster,
    ...(clusterReady ? { clusterReady } : {}),
  });
  void (clusterReady ?? Promise.resolve()).then(() => log(startMessage(server, token !== undefined)), () => undefined);
  const stop = () => {
    void server.close().finally(() => {
      engine.close();
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}
