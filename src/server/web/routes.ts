/**
 * The workspace API as a table: method, path pattern, handler. See src/shared/workspace-protocol.ts
 * for what each answers. Handlers get the path's captures; the server has checked the token,
 * Host and Origin before any of them runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApplyRequestSchema } from '../../shared/workspace-protocol.ts';
import { EnvironmentError, SolveStalledError, UsageError } from '../errors.ts';
import { kubeClients } from '../cluster/kube.ts';
import type { ClusterConnection } from '../cluster/providers/provider.ts';
import { applyManifest } from './apply.ts';
import { MAX_FILE_BYTES, listFiles, readWorkspaceFile, writeWorkspaceFile } from './files.ts';
import { decodePathSegment, json, parseJson, readBody } from './http.ts';
import { HttpError } from './http-error.ts';
import type { WorkspaceLabEngine } from './lab-engine.ts';
import type { LiveHub } from './live.ts';
import type { TerminalSessions } from './terminal.ts';

/** What the handlers use. */
export interface RouteContext {
  readonly engine: WorkspaceLabEngine;
  readonly hub: LiveHub;
  readonly terminals: TerminalSessions;
  readonly allowNonLabCluster: boolean;
  connection(): Promise<ClusterConnection>;
  loadSchema(): Promise<Record<string, unknown> | undefined>;
  /** The lab's workspace folder, created when missing. */
  workspace(id: string): Promise<string>;
  /** Throws 400/404 unless `id` names a lab. */
  checkLab(id: string): void;
  /** Whether the cluster is set up for this lab (reopening its page must not reset it). */
  isActiveLab(id: string): boolean;
  setActiveLab(id: string): Promise<void>;
  /** Runs one cluster-changing action at a time (start, solve, reset share one cluster). */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

interface Call {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  /** The path's captures: [lab id, file path]. */
  readonly params: readonly string[];
}

interface Route {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly pattern: RegExp;
  /** Whether the handler needs a lab id as its first capture. */
  readonly lab: boolean;
  readonly handle: (ctx: RouteContext, call: Call) => Promise<void>;
}

/** Runs an engine action, turning its usage/environment errors into HTTP answers. */
export async function engineCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // Solve's objects were changed under it: the request conflicts with what else happened.
    if (error instanceof SolveStalledError) throw new HttpError(409, error.message, error.fix);
    if (error instanceof EnvironmentError) throw new HttpError(503, error.message, error.fix);
    if (error instanceof UsageError) throw new HttpError(400, error.message);
    throw error;
  }
}

const LAB = '([^/]+)';

/** A lab action that changes the cluster, run alone, its report pushed to the lab's pages. */
function clusterAction(action: 'solve' | 'reset') {
  return async (ctx: RouteContext, { response, params: [id = ''] }: Call) => {
    const report = await ctx.exclusive(async () => {
      if (action === 'reset') ctx.terminals.end(id);
      const result = await engineCall(() => ctx.engine[action](id));
      await ctx.setActiveLab(id);
      return result;
    });
    ctx.hub.publishReport(id, report);
    json(response, 200, report);
  };
}

const ROUTES: readonly Route[] = [
  { method: 'GET', pattern: /^\/api\/cluster$/, lab: false, handle: async (ctx, { response }) => json(response, 200, await ctx.hub.cluster()) },
  {
    method: 'POST',
    pattern: /^\/api\/cluster\/up$/,
    lab: false,
    handle: async (ctx, { response }) => json(response, 200, await engineCall(() => ctx.hub.clusterUp())),
  },
  {
    method: 'GET',
    pattern: /^\/api\/schema$/,
    lab: false,
    handle: async (ctx, { response }) => {
      const result = await ctx.loadSchema();
      if (!result) throw new HttpError(503, 'The Kubernetes schema is not cached yet and the cluster does not answer', 'Start the cluster once: npm run cluster -- up');
      json(response, 200, result, { 'cache-control': 'private, max-age=300' });
    },
  },
  { method: 'GET', pattern: /^\/api\/labs$/, lab: false, handle: async (ctx, { response }) => json(response, 200, ctx.engine.list()) },
  { method: 'GET', pattern: new RegExp(`^/api/labs/${LAB}$`), lab: true, handle: async (ctx, { response, params: [id = ''] }) => json(response, 200, ctx.engine.summary(id)) },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/labs/${LAB}/start$`),
    lab: true,
    handle: async (ctx, { response, params: [id = ''] }) => {
      await ctx.workspace(id);
      // Starting a lab resets the cluster to the lab's start. Reopening the page of the lab the
      // cluster is set up for (after a reload or a server restart) must not undo the learner's
      // work, so that only checks.
      const report = await ctx.exclusive(async () => {
        if (ctx.isActiveLab(id)) return undefined;
        const started = await engineCall(() => ctx.engine.start(id));
        await ctx.setActiveLab(id);
        return started;
      });
      if (!report) return json(response, 200, await engineCall(() => ctx.hub.checkNow(id)));
      ctx.hub.publishReport(id, report);
      json(response, 200, report);
    },
  },
  { method: 'POST', pattern: new RegExp(`^/api/labs/${LAB}/check$`), lab: true, handle: async (ctx, { response, params: [id = ''] }) => json(response, 200, await engineCall(() => ctx.hub.checkNow(id))) },
  { method: 'POST', pattern: new RegExp(`^/api/labs/${LAB}/solve$`), lab: true, handle: clusterAction('solve') },
  { method: 'POST', pattern: new RegExp(`^/api/labs/${LAB}/reset$`), lab: true, handle: clusterAction('reset') },
  { method: 'GET', pattern: new RegExp(`^/api/labs/${LAB}/solution$`), lab: true, handle: async (ctx, { response, params: [id = ''] }) => json(response, 200, ctx.engine.solutionFiles(id)) },
  { method: 'GET', pattern: new RegExp(`^/api/labs/${LAB}/files$`), lab: true, handle: async (ctx, { response, params: [id = ''] }) => json(response, 200, await listFiles(await ctx.workspace(id))) },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/labs/${LAB}/files/(.+)$`),
    lab: true,
    handle: async (ctx, { response, params: [id = '', path = ''] }) => {
      const text = await readWorkspaceFile(await ctx.workspace(id), decodePathSegment(path));
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(text);
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/api/labs/${LAB}/files/(.+)$`),
    lab: true,
    handle: async (ctx, { request, response, params: [id = '', path = ''] }) => {
      const filePath = decodePathSegment(path);
      const body = await readBody(request);
      json(response, 200, await writeWorkspaceFile(await ctx.workspace(id), filePath, body));
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/labs/${LAB}/apply$`),
    lab: true,
    handle: async (ctx, { request, response, params: [id = ''] }) => {
      const parsed = ApplyRequestSchema.safeParse(parseJson(await readBody(request)));
      if (!parsed.success) throw new HttpError(400, `Bad apply request: ${parsed.error.issues[0]?.message}`, 'Send {"path": "file.yaml"}.');
      const { path, content } = parsed.data;
      // The editor's text obeys the same cap as a saved file.
      if (content !== undefined && Buffer.byteLength(content) > MAX_FILE_BYTES) {
        throw new HttpError(413, `The manifest "${path}" is ${Buffer.byteLength(content)} bytes; files are limited to ${MAX_FILE_BYTES} bytes`, 'Split the manifest into smaller files.');
      }
      const text = content ?? (await readWorkspaceFile(await ctx.workspace(id), path));
      const { kubeconfig, context } = await ctx.connection();
      // After any start, solve or reset under way: a start's reset would delete what this creates,
      // and a solve would be undone by it.
      const result = await ctx.exclusive(() => applyManifest(kubeClients(kubeconfig, context), text, ctx.allowNonLabCluster));
      void ctx.hub.checkNow(id).catch(() => undefined);
      json(response, 200, result);
    },
  },
];

/** Finds the route for a request and runs it; 404 for an unknown path, 405 for a known path with another method. */
export async function route(ctx: RouteContext, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  const method = request.method ?? 'GET';
  const path = url.pathname;
  let pathMatched = false;
  for (const candidate of ROUTES) {
    const match = candidate.pattern.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (candidate.method !== method) continue;
    const params = match.slice(1);
    if (candidate.lab) ctx.checkLab(params[0] ?? '');
    return candidate.handle(ctx, { request, response, params });
  }
  if (pathMatched) throw new HttpError(405, `${method} is not supported on ${path}`, 'See src/shared/workspace-protocol.ts for the API.');
  throw new HttpError(404, `No API at ${method} ${path}`, 'See src/shared/workspace-protocol.ts for the API.');
}
