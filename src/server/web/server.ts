/**
 * The lab workspace server: one Node process serving the built site, the lab API, the live
 * events WebSocket and the lab shells (node-pty). See src/shared/workspace-protocol.ts for the
 * API and the WebSocket protocol, and auth.ts for who may use it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { EnvironmentError, UsageError } from '../errors.ts';
import { kubeClients } from '../cluster/kube.ts';
import type { ClusterConnection, ClusterProvider } from '../cluster/providers/provider.ts';
import { ApplyRequestSchema, type ApiError } from '../../shared/workspace-protocol.ts';
import { applyManifest } from './apply.ts';
import { newToken, originAllowed, ownOrigins, requestToken, tokenCookie, tokenMatches } from './auth.ts';
import { ClusterMapWatcher } from './cluster-map.ts';
import { listFiles, readWorkspaceFile, writeWorkspaceFile } from './files.ts';
import { HttpError } from './http-error.ts';
import { loadManifestSchema } from './kube-schema.ts';
import type { WorkspaceLabEngine } from './lab-engine.ts';
import { LiveHub } from './live.ts';
import { serveStatic } from './static-files.ts';
import { TerminalSessions } from './terminal.ts';

/** Largest request body accepted (file saves, apply). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** How the server is started. */
export interface WorkspaceServerOptions {
  readonly engine: WorkspaceLabEngine;
  readonly provider: ClusterProvider;
  /** The built site (dist/). */
  readonly distDir: string;
  /** Where the schema cache lives. */
  readonly stateDir: string;
  /** Default 127.0.0.1; anything else is the caller's choice to warn about. */
  readonly host?: string;
  /** Default 4321; 0 picks a free port. */
  readonly port?: number;
  /** Default: a new random token. */
  readonly token?: string;
  /** Lets Apply change a cluster without the lab marker (the existing engine's explicit flag). */
  readonly allowNonLabCluster?: boolean;
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

/** Starts the server and resolves once it listens. */
export async function startWorkspaceServer(options: WorkspaceServerOptions): Promise<WorkspaceServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? newToken();
  const { engine, provider } = options;
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
  /**
   * This server's origins, plus the one the browser used to reach it (a --host address or a
   * machine name). A page of another site sends its own Origin, which never equals our Host; a
   * DNS-rebinding page does match, but never has the token cookie, which is per host.
   */
  const originsFor = (request: IncomingMessage) => {
    const host = request.headers.host;
    return host ? new Set([...origins, `http://${host}`]) : origins;
  };

  const labSummary = (id: string) => {
    if (!LAB_ID.test(id)) throw new HttpError(400, `"${id}" is not a lab id`, 'Lab ids are lowercase words joined by dashes, e.g. first-daemonset.');
    try {
      return engine.summary(id);
    } catch {
      throw new HttpError(404, `There is no lab "${id}"`, `Open one of: ${engine.list().map((l) => l.id).join(', ')}.`);
    }
  };

  const workspace = async (id: string) => {
    const dir = engine.workspaceDir(id);
    await mkdir(dir, { recursive: true });
    return dir;
  };

  const route = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    const method = request.method ?? 'GET';
    const path = url.pathname;
    if (path === '/api/cluster' && method === 'GET') return json(response, 200, await hub.cluster());
    if (path === '/api/cluster/up' && method === 'POST') {
      try {
        return json(response, 200, await hub.clusterUp());
      } catch (error) {
        throw error instanceof EnvironmentError ? new HttpError(503, error.message, error.fix) : error;
      }
    }
    if (path === '/api/schema' && method === 'GET') {
      const result = await loadSchema();
      if (!result) throw new HttpError(503, 'The Kubernetes schema is not cached yet and the cluster does not answer', 'Start the cluster once: npm run cluster -- up');
      return json(response, 200, result, { 'cache-control': 'private, max-age=300' });
    }
    if (path === '/api/labs' && method === 'GET') return json(response, 200, engine.list());
    const match = /^\/api\/labs\/([^/]+)(?:\/([a-z]+)(?:\/(.*))?)?$/.exec(path);
    if (!match) throw new HttpError(404, `No API at ${method} ${path}`, 'See src/shared/workspace-protocol.ts for the API.');
    const [, id = '', action, rest] = match;
    const summary = labSummary(id);
    if (!action && method === 'GET') return json(response, 200, summary);
    if (action === 'start' && method === 'POST') {
      // Starting a lab resets the cluster to the lab's start. Reopening the page of the lab the
      // cluster is set up for (after a reload or a server restart) must not undo the learner's
      // work, so that only checks.
      await workspace(id);
      if (activeLab.is(id)) return json(response, 200, await engineCall(() => hub.checkNow(id)));
      const report = await engineCall(() => engine.start(id));
      await activeLab.set(id);
      hub.publishReport(id, report);
      return json(response, 200, report);
    }
    if (action === 'check' && method === 'POST') return json(response, 200, await engineCall(() => hub.checkNow(id)));
    if (action === 'solve' && method === 'POST') {
      const report = await engineCall(() => engine.solve(id));
      await activeLab.set(id);
      hub.publishReport(id, report);
      return json(response, 200, report);
    }
    if (action === 'reset' && method === 'POST') {
      terminals.end(id);
      const report = await engineCall(() => engine.reset(id));
      await activeLab.set(id);
      hub.publishReport(id, report);
      return json(response, 200, report);
    }
    if (action === 'solution' && method === 'GET') return json(response, 200, engine.solutionFiles(id));
    if (action === 'files') {
      const dir = await workspace(id);
      if (!rest && method === 'GET') return json(response, 200, await listFiles(dir));
      const filePath = decodeURIComponent(rest ?? '');
      if (method === 'GET') {
        const text = await readWorkspaceFile(dir, filePath);
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(text);
        return;
      }
      if (method === 'PUT') return json(response, 200, await writeWorkspaceFile(dir, filePath, await readBody(request)));
    }
    if (action === 'apply' && method === 'POST') {
      const parsed = ApplyRequestSchema.safeParse(parseJson(await readBody(request)));
      if (!parsed.success) throw new HttpError(400, `Bad apply request: ${parsed.error.issues[0]?.message}`, 'Send {"path": "file.yaml"}.');
      const dir = await workspace(id);
      const text = parsed.data.content ?? (await readWorkspaceFile(dir, parsed.data.path));
      const { kubeconfig, context } = await connection();
      const result = await applyManifest(kubeClients(kubeconfig, context), text, options.allowNonLabCluster);
      void hub.checkNow(id).catch(() => undefined);
      return json(response, 200, result);
    }
    void summary;
    throw new HttpError(405, `${method} is not supported on ${path}`, 'See src/shared/workspace-protocol.ts for the API.');
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    void (async () => {
      try {
        if (!url.pathname.startsWith('/api/')) {
          const given = url.searchParams.get('token');
          if (given !== null) {
            // The start URL: keep the token in a cookie and drop it from the address bar.
            if (!tokenMatches(token, given)) throw new HttpError(401, 'The token in this link is not the one this server printed', 'Open the URL `npm start` printed most recently.');
            url.searchParams.delete('token');
            response.writeHead(303, { 'set-cookie': tokenCookie(token, port), location: url.pathname + url.search }).end();
            return;
          }
          if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'Only GET serves pages');
          return await serveStatic(options.distDir, url.pathname, request, response);
        }
        if (!tokenMatches(token, requestToken(request, url, port))) {
          throw new HttpError(401, 'This request lacks the lab server token', 'Open the URL printed by `npm start` (it ends in ?token=…).');
        }
        const origin = request.headers.origin;
        if (request.method !== 'GET' && !originAllowed(origin, originsFor(request))) {
          throw new HttpError(403, `Requests from ${origin} are not allowed`, 'Use the lab pages of this server.');
        }
        await route(request, response, url);
      } catch (error) {
        sendError(response, error);
      }
    })();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 128 * 1024 });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const refuse = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${message}\n`);
    };
    if (!tokenMatches(token, requestToken(request, url, port))) return refuse(401, 'Unauthorized');
    if (!originAllowed(request.headers.origin, originsFor(request))) return refuse(403, 'Forbidden origin');
    const match = /^\/api\/labs\/([a-z0-9-]+)\/(terminal|events)$/.exec(url.pathname);
    if (!match) return refuse(404, 'Not Found');
    const [, id = '', kind] = match;
    try {
      labSummary(id);
    } catch {
      return refuse(404, 'Not Found');
    }
    if (kind === 'events') {
      wss.handleUpgrade(request, socket, head, (ws: WebSocket) => hub.join(id, ws));
      return;
    }
    void (async () => {
      // Everything asynchronous happens before the upgrade: once the socket is open, the page may
      // type at once, and a message that arrives before the shell is attached would be lost.
      let spec;
      try {
        const cwd = await workspace(id);
        const { kubeconfig, kubectlDir } = await connection();
        spec = { label: id, cwd, kubeconfig, kubectlDir };
      } catch (error) {
        return refuse(503, `The lab shell cannot start: ${(error as Error).message.split('\n')[0]}`);
      }
      wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
        const { session, fresh } = terminals.get(id, () => spec);
        session.attach(ws, fresh);
      });
    })();
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

/** Runs an engine action, turning its usage/environment errors into HTTP answers. */
async function engineCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EnvironmentError) throw new HttpError(503, error.message, error.fix);
    if (error instanceof UsageError) throw new HttpError(400, error.message);
    throw error;
  }
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const status = error instanceof HttpError ? error.status : 500;
  const body: ApiError =
    error instanceof HttpError
      ? { error: error.message, ...(error.fix ? { fix: error.fix } : {}) }
      : { error: `Internal error: ${(error as Error).message ?? String(error)}`, fix: 'See the server log.' };
  if (status === 500) process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  json(response, status, body, status === 413 ? { connection: 'close' } : {});
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'The request body is not JSON', 'Send a JSON object.');
  }
}

/** Reads a request body up to {@link MAX_BODY_BYTES}; a bigger one is refused with 413 before it is read. */
async function readBody(request: IncomingMessage): Promise<string> {
  const tooBig = () =>
    new HttpError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes`, 'Send a smaller file; split big manifests.');
  if (Number(request.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
    request.resume();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      request.resume();
      throw tooBig();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
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
    await mkdir(dirname(this.#file), { recursive: true });
    await writeFile(this.#file, `${JSON.stringify({ labId: id })}\n`);
  }
}
