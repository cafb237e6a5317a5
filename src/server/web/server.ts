/**
 * The lab workspace server: one Node process serving the built site, the lab API (routes.ts), the
 * live events WebSocket and the lab shells (node-pty). See src/shared/workspace-protocol.ts for the
 * API and the WebSocket protocol, and auth.ts for who may use it.
 *
 * No request may take it down: every handler's errors become an answer, and every socket (HTTP,
 * upgrade, WebSocket) has an error listener, because an unhandled 'error' event ends the process
 * and with it every learner's shell.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { removeStaleTemporaries, writeFileAtomic } from '../atomic-file.ts';
import { EnvironmentError } from '../errors.ts';
import { WS_PROTOCOL } from '../../shared/workspace-protocol.ts';
import type { ClusterConnection, ClusterProvider } from '../cluster/providers/provider.ts';
import { newToken, originAllowed, ownHosts, ownOrigins, requestToken, startPage, tokenMatches } from './auth.ts';
import { ClusterMapWatcher } from './cluster-map.ts';
import { HttpError } from './http-error.ts';
import { SECURITY_HEADERS, requestUrl, sendError } from './http.ts';
import { loadManifestSchema } from './kube-schema.ts';
import type { WorkspaceLabEngine } from './lab-engine.ts';
import { LiveHub } from './live.ts';
import { route, type RouteContext } from './routes.ts';
import { precompressAssets, serveStatic } from './static-files.ts';
import { TerminalSessions } from './terminal.ts';

/** How long after the cluster is up the site's assets are compressed ahead of use. */
const PRECOMPRESS_AFTER_MS = 10_000;

export { MAX_BODY_BYTES } from './http.ts';

/**
 * Largest WebSocket message accepted. The page sends terminal input in chunks well below it
 * (see TERMINAL_INPUT_CHUNK); a bigger frame closes that socket (1009), nothing else.
 */
export const MAX_WS_PAYLOAD = 128 * 1024;

/** Most event sockets open at once (every open lab tab holds one): the rest get 503. */
export const MAX_EVENT_SOCKETS = 64;

/** How the server is started. */
export interface WorkspaceServerOptions {
  readonly engine: WorkspaceLabEngine;
  readonly provider: ClusterProvider;
  /** The built site (dist/). */
  readonly distDir: string;
  /** Where the schema cache lives. */
  readonly stateDir: string;
  /** Default 127.0.0.1; anything else is the caller's choice (run.ts refuses it without --insecure-lan). */
  readonly host?: string;
  /** Default 4321; 0 picks a free port. */
  readonly port?: number;
  /** Default: a new random token. */
  readonly token?: string;
  /** Lets Apply change a cluster without the lab marker (the existing engine's explicit flag). */
  readonly allowNonLabCluster?: boolean;
  /**
   * Settles once the cluster is up, when the server starts listening before that (the learner
   * image): pages are served at once, and every API request and WebSocket waits for it, so a page
   * loads while the cluster starts. Rejected, they are answered 503 with its reason.
   */
  readonly clusterReady?: Promise<void>;
}

/** A running workspace server. */
export interface WorkspaceServer {
  readonly port: number;
  readonly token: string;
  /** The start URL, with the token: http://127.0.0.1:4321/?token=… */
  readonly url: string;
  /** Base URL without the token. */
  readonly origin: string;
  /** Lab shells, for tests and benchmarks. */
  readonly terminals: TerminalSessions;
  close(): Promise<void>;
}

const LAB_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A FIFO lock: one cluster-changing action at a time, in the order they came. */
function serialized(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>) => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Accepts a WebSocket upgrade with an error listener on the socket, so a bad frame closes only it. */
function accept(wss: WebSocketServer, request: IncomingMessage, socket: Duplex, head: Buffer, onOpen: (ws: WebSocket) => void): void {
  wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
    // Too big (1009) or invalid UTF-8 (1007): ws closes the socket itself; without a listener the
    // 'error' event would end the process.
    ws.on('error', () => ws.terminate());
    try {
      onOpen(ws);
    } catch (error) {
      // e.g. the shell cannot be spawned: this socket closes with the reason, the server goes on.
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      ws.close(1011, 'The lab server could not open this; see its log');
    }
  });
}

/** Writes a refusal on an upgrade socket (which is not an HTTP response object). */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const headers = Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\n${headers}\r\n${message}\n`);
}

/** Starts the server and resolves once it listens. */
export async function startWorkspaceServer(options: WorkspaceServerOptions): Promise<WorkspaceServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? newToken();
  const { engine, provider } = options;
  // A server killed mid-save left its temporary files; none of this process's writes is in flight yet.
  for (const lab of engine.list()) await removeStaleTemporaries(engine.workspaceDir(lab.id));
  await removeStaleTemporaries(join(options.stateDir, 'web'));
  let connectionCache: ClusterConnection | undefined;
  const connection = async () => (connectionCache ??= await provider.connection());
  const conn = await connection();
  const mapWatcher = new ClusterMapWatcher(conn.kubeconfig, conn.context);
  const hub = new LiveHub(engine, provider, mapWatcher);
  const terminals = new TerminalSessions();
  const activeLab = new ActiveLab(join(options.stateDir, 'web', 'active-lab.json'));
  let schema: Promise<Record<string, unknown> | undefined> | undefined;
  const loadSchema = () => {
    schema ??= loadManifestSchema(conn, options.stateDir).then((result) => {
      // Not cached in memory when missing: a later request may find the cluster up.
      if (!result) schema = undefined;
      return result;
    });
    return schema;
  };
  void loadSchema();

  let port = options.port ?? 4321;
  let origins = new Set<string>();
  let hosts = new Set<string>();

  const checkLab = (id: string) => {
    if (!LAB_ID.test(id)) throw new HttpError(400, `"${id.slice(0, 80)}" is not a lab id`, 'Lab ids are lowercase words joined by dashes, e.g. first-daemonset.');
    try {
      engine.summary(id);
    } catch {
      throw new HttpError(404, `There is no lab "${id}"`, `Open one of: ${engine.list().map((l) => l.id).join(', ')}.`);
    }
  };

  const workspace = async (id: string) => {
    const dir = engine.workspaceDir(id);
    await mkdir(dir, { recursive: true });
    return dir;
  };

  const ctx: RouteContext = {
    engine,
    hub,
    terminals,
    allowNonLabCluster: options.allowNonLabCluster ?? false,
    connection,
    loadSchema,
    workspace,
    checkLab,
    isActiveLab: (id) => activeLab.is(id),
    setActiveLab: (id) => activeLab.set(id),
    exclusive: serialized(),
  };

  /**
   * Who is asking: the Host must name this server (DNS rebinding), the token must match, and a
   * request that changes something (or opens a WebSocket) must come from our own Origin.
   */
  const authorize = (request: IncomingMessage, url: URL, opts: { allowQueryToken: boolean; needsOrigin: boolean }): void => {
    const hostHeader = (request.headers.host ?? '').toLowerCase();
    if (!hosts.has(hostHeader)) {
      throw new HttpError(421, `This server does not answer to the host "${hostHeader.slice(0, 80)}"`, `Open it as http://127.0.0.1:${port}/.`);
    }
    const given = requestToken(request, url, opts.allowQueryToken);
    if (!given || !tokenMatches(token, given.token)) {
      const fix = url.searchParams.has('token') && !opts.allowQueryToken
        ? 'Send the token in the Authorization header (Bearer …); ?token= is accepted only on the start URL and WebSockets.'
        : 'Open the URL printed by `npm start` (it ends in ?token=…).';
      throw new HttpError(401, 'This request lacks the lab server token', fix);
    }
    const origin = request.headers.origin;
    if (opts.needsOrigin && !originAllowed(origin, origins, given.source)) {
      throw new HttpError(403, origin === undefined ? 'A browser request without an Origin header may not change anything' : `Requests from ${origin.slice(0, 80)} are not allowed`, 'Use the lab pages of this server.');
    }
  };

  const handlePage = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const given = url.searchParams.get('token');
    if (given !== null) {
      // The start URL: the page keeps the token in this origin's storage and drops it from the address bar.
      if (!tokenMatches(token, given)) throw new HttpError(401, 'The token in this link is not the one this server printed', 'Open the URL `npm start` printed most recently.');
      url.searchParams.delete('token');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(startPage(token, url.pathname + url.search));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'Only GET serves pages');
    await serveStatic(options.distDir, url.pathname, request, response);
  };

  const clusterReady = options.clusterReady ?? Promise.resolve();
  clusterReady.catch(() => undefined); // Answered per request below.
  // A while after the cluster is up, the lab page's scripts are compressed ahead of the first page
  // load: not sooner, since a cold start and the learner's first lab start need the CPU (a page
  // that is already loading gets its script compressed on demand anyway).
  void clusterReady
    .then(() => new Promise((resolve) => setTimeout(resolve, PRECOMPRESS_AFTER_MS).unref()))
    .then(() => precompressAssets(options.distDir))
    .catch(() => undefined);
  /** Waits for the cluster's start; its failure as the answer a request gets. */
  const clusterUp = () =>
    clusterReady.catch((error: unknown) => {
      throw new HttpError(503, `The lab cluster did not start: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`, 'See the server\'s output; it stops and is started again.');
    });

  const handleRequest = async (request: IncomingMessage, response: ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    const url = requestUrl(request);
    if (!url.pathname.startsWith('/api/')) return handlePage(request, response, url);
    authorize(request, url, { allowQueryToken: false, needsOrigin: request.method !== 'GET' && request.method !== 'HEAD' });
    await clusterUp();
    await route(ctx, request, response, url);
  };

  const server = createServer((request, response) => {
    request.on('error', () => response.destroy());
    response.on('error', () => response.destroy());
    handleRequest(request, response).catch((error: unknown) => sendError(response, error));
  });
  // Malformed HTTP: answer 400 and close, as Node does by default, without ever throwing.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_PAYLOAD,
    // The page offers [WS_PROTOCOL, token.<token>]; the answer names only the first, never the token.
    handleProtocols: (offered: Set<string>) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  let eventSockets = 0;

  const openShell = async (id: string, request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Everything asynchronous happens before the upgrade: once the socket is open, the page may
    // type at once, and a message that arrives before the shell is attached would be lost.
    let spec;
    try {
      await clusterUp();
      const cwd = await workspace(id);
      const { kubeconfig, kubectlDir } = await connection();
      spec = { label: id, cwd, kubeconfig, kubectlDir };
    } catch (error) {
      return refuseUpgrade(socket, 503, `The lab shell cannot start: ${(error as Error).message.split('\n')[0]}`);
    }
    if (socket.destroyed) return;
    accept(wss, request, socket, head, (ws) => {
      const { session, fresh } = terminals.get(id, () => spec);
      session.attach(ws, fresh);
    });
  };

  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = requestUrl(request);
    authorize(request, url, { allowQueryToken: true, needsOrigin: true });
    const match = /^\/api\/labs\/([a-z0-9-]+)\/(terminal|events)$/.exec(url.pathname);
    if (!match) throw new HttpError(404, 'Not Found');
    const [, id = '', kind] = match;
    checkLab(id);
    if (kind === 'terminal') {
      openShell(id, request, socket, head).catch((error: unknown) => {
        process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
        refuseUpgrade(socket, 500, 'Internal error');
      });
      return;
    }
    if (eventSockets >= MAX_EVENT_SOCKETS) throw new HttpError(503, `Too many open lab pages (${MAX_EVENT_SOCKETS})`);
    clusterUp().then(
      () => {
        if (socket.destroyed) return;
        accept(wss, request, socket, head, (ws) => {
          eventSockets += 1;
          ws.once('close', () => (eventSockets -= 1));
          hub.join(id, ws);
        });
      },
      (error: HttpError) => refuseUpgrade(socket, error.status, error.message),
    );
  };

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets the connection before the answer makes the socket emit 'error'.
    socket.on('error', () => socket.destroy());
    try {
      handleUpgrade(request, socket, head);
    } catch (error) {
      if (error instanceof HttpError) refuseUpgrade(socket, error.status, error.message);
      else {
        process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
        refuseUpgrade(socket, 500, 'Internal error');
      }
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new EnvironmentError(`Port ${port} on ${host} is in use by another program`, `Stop it, or pick another port: npm start -- --port ${port + 1}`)
          : error,
      );
    });
    server.listen(port, host, resolve);
  });
  port = (server.address() as AddressInfo).port;
  origins = ownOrigins(host, port);
  hosts = ownHosts(host, port);
  const displayHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const origin = `http://${displayHost}:${port}`;
  return {
    port,
    token,
    origin,
    url: `${origin}/?token=${token}`,
    terminals,
    async close() {
      hub.close();
      terminals.endAll();
      for (const client of wss.clients) client.terminate();
      await mapWatcher.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * Which lab the cluster is set up for, kept on disk so a server restart remembers it. The cluster
 * holds one lab at a time: opening another lab starts it (and resets the cluster).
 */
class ActiveLab {
  readonly #file: string;
  #id: string | undefined;

  constructor(file: string) {
    this.#file = file;
    try {
      this.#id = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { labId?: string }).labId : undefined;
    } catch {
      this.#id = undefined;
    }
  }

  is(id: string): boolean {
    return this.#id === id;
  }

  async set(id: string): Promise<void> {
    this.#id = id;
    await mkdir(dirname(this.#file), { recursive: true, mode: 0o700 });
    // Written whole under a temporary name, then renamed: a crash never leaves half a file.
    await writeFileAtomic(this.#file, `${JSON.stringify({ labId: id })}\n`);
  }
}
