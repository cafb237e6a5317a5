/**
 * The classroom hub: sign-in (join code or OIDC) with its own session cookie, one lab pod per
 * learner (warm pool, spawn limit, idle culling), one proxy for each learner's lab at
 * /s/<learner>/…, and the instructor's live grid. Routes are a table; each handler is small.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import type { LabReport } from '../src/shared/lab-results.ts';
import type { Classroom } from './classroom.ts';
import { BEAT_INTERVAL_MS, cullDecision, Heartbeats, type CullDecision } from './culler.ts';
import { buildGrid, gridCsv, reportCells } from './grid.ts';
import { prepareLab, recordExchange, restoreWorkspace } from './learner-state.ts';
import { OidcSignIn, OidcSignInError } from './oidc.ts';
import { errorPage, instructorPage, joinPage, labWaitPage } from './pages.ts';
import { LABELS, podToken, WORKSPACE_PORT } from './pods.ts';
import { proxyHttp, proxyUpgrade, refuseUpgrade, type Upstream } from './proxy.ts';
import { ReportCollector } from './reports.ts';
import { ClassroomFullError, type Spawner } from './spawner.ts';
import { NameTakenError, type HubStore, type Session } from './store.ts';

export const SESSION_COOKIE = 'dslab_hub';
const MAX_FORM_BYTES = 16 * 1024;
const ASSETS = new URL('./assets/', import.meta.url);

/** An answer with a status, a message and what to do. */
export class HubHttpError extends Error {
  readonly status: number;
  readonly fix: string;

  constructor(status: number, message: string, fix: string) {
    super(message);
    this.status = status;
    this.fix = fix;
  }
}

/** How a hub runs. */
export interface HubOptions {
  readonly store: HubStore;
  readonly spawner: Spawner;
  /** The URL browsers use, e.g. https://lab.example.org; cookies are Secure when it is https. */
  readonly publicUrl: string;
  /** The key the learner pods' tokens derive from (the chart's Secret). */
  readonly tokenKey: string;
  readonly oidc?: OidcSignIn;
  readonly host?: string;
  readonly port?: number;
  /** Where a pod's workspace server answers; default http://<pod IP>:4321. */
  readonly podOrigin?: (pod: V1Pod) => string | undefined;
  readonly cullIntervalMs?: number;
  readonly refillIntervalMs?: number;
  /** Lets tests and the bench move the culler's clock. */
  readonly now?: () => number;
}

/** Where a learner's lab stands, for the wait page. */
export interface LabStatus {
  state: 'starting' | 'ready' | 'failed' | 'full';
  message: string;
  pod?: string;
}

/** A culled pod, for logs, tests and the bench. */
export interface CullEvent extends CullDecision {
  readonly learnerId: string;
  readonly pod: string;
}

interface Context {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  readonly params: string[];
}

type Handler = (context: Context) => Promise<void>;

const JoinFormSchema = z.object({
  classroom: z.string().min(1).max(40),
  code: z.string().min(1).max(128),
  name: z.string().trim().min(1, 'a name is required').max(60, 'a name has at most 60 characters'),
});
const HeartbeatSchema = z.object({ pageId: z.string().min(1).max(64), state: z.enum(['visible', 'hidden', 'closed']) });
const InstructorFormSchema = z.object({ classroom: z.string().min(1).max(40), code: z.string().min(1).max(128) });
/** Longest a `/hub/api/me` long poll is held open. */
const MAX_ME_WAIT_MS = 20_000;
const MeRequestSchema = z.object({
  waitMs: z.number().int().min(0).max(MAX_ME_WAIT_MS).optional().describe('Hold the answer until the lab is no longer starting or its message differs from `seen`, at most this long'),
  seen: z.string().max(500).optional().describe('The status message the wait page shows now'),
});
/**
 * How long a sign-in waits for the learner's lab before answering: a warm pod is claimed well
 * within it, so the browser goes straight to the lab page instead of through the wait page.
 */
const SIGN_IN_WAIT_MS = 3_000;

export class Hub {
  readonly #options: HubOptions;
  readonly #store: HubStore;
  readonly #spawner: Spawner;
  readonly #heartbeats = new Heartbeats();
  readonly #labs = new Map<string, LabStatus>();
  /** Who waits on a learner's lab status (long polls, sign-ins), woken by #setStatus. */
  readonly #statusWaiters = new Map<string, Set<() => void>>();
  readonly #live = new Map<string, Set<ServerResponse>>();
  readonly #collector: ReportCollector;
  readonly #origin: string;
  readonly #secure: boolean;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #routes: { method: string; path: RegExp; handler: Handler }[];
  #server: Server | undefined;
  /** Every cull, newest last (bounded), for the bench and tests. */
  readonly culled: CullEvent[] = [];

  constructor(options: HubOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#spawner = options.spawner;
    const publicUrl = new URL(options.publicUrl);
    this.#origin = publicUrl.origin;
    this.#secure = publicUrl.protocol === 'https:';
    this.#collector = new ReportCollector((learnerId) => this.upstreamOf(learnerId, false), { report: (learnerId, report) => this.#onReport(learnerId, report) });
    this.#routes = [
      { method: 'GET', path: /^\/healthz$/, handler: async ({ response }) => void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n') },
      { method: 'GET', path: /^\/hub\/join\/([a-z0-9-]{1,40})$/, handler: (c) => this.#joinPage(c) },
      { method: 'POST', path: /^\/hub\/api\/join$/, handler: (c) => this.#join(c) },
      { method: 'POST', path: /^\/hub\/api\/instructor$/, handler: (c) => this.#instructorSignIn(c) },
      { method: 'GET', path: /^\/hub\/oidc\/([a-z0-9-]{1,40})\/login$/, handler: (c) => this.#oidcLogin(c) },
      { method: 'GET', path: /^\/hub\/oidc\/callback$/, handler: (c) => this.#oidcCallback(c) },
      { method: 'GET', path: /^\/hub\/lab$/, handler: async ({ response }) => html(response, 200, labWaitPage()) },
      { method: 'POST', path: /^\/hub\/api\/me$/, handler: (c) => this.#me(c) },
      { method: 'POST', path: /^\/hub\/api\/heartbeat$/, handler: (c) => this.#heartbeat(c) },
      { method: 'POST', path: /^\/hub\/api\/logout$/, handler: (c) => this.#logout(c) },
      { method: 'GET', path: /^\/hub\/classrooms\/([a-z0-9-]{1,40})\/instructor$/, handler: (c) => this.#instructorPage(c) },
      { method: 'GET', path: /^\/hub\/api\/classrooms\/([a-z0-9-]{1,40})\/grid$/, handler: (c) => this.#gridJson(c) },
      { method: 'GET', path: /^\/hub\/api\/classrooms\/([a-z0-9-]{1,40})\/progress\.csv$/, handler: (c) => this.#csv(c) },
      { method: 'GET', path: /^\/hub\/api\/classrooms\/([a-z0-9-]{1,40})\/live$/, handler: (c) => this.#liveStream(c) },
      { method: 'GET', path: /^\/hub\/static\/(lab-bridge|instructor)\.js$/, handler: (c) => this.#asset(c) },
    ];
  }

  /** Starts listening, the culler and the pool refill; resolves with the port. */
  async listen(): Promise<number> {
    const server = createServer((request, response) => void this.#handle(request, response));
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => void this.#upgrade(request, socket, head));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 8080, this.#options.host ?? '127.0.0.1', resolve);
    });
    this.#timers.push(setInterval(() => void this.cullOnce().catch(logError('cull')), this.#options.cullIntervalMs ?? 30_000));
    this.#timers.push(setInterval(() => void this.refillAll().catch(logError('refill')), this.#options.refillIntervalMs ?? 10_000));
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#timers.forEach(clearInterval);
    this.#collector.close();
    for (const clients of this.#live.values()) for (const client of clients) client.end();
    await new Promise<void>((resolve) => {
      if (!this.#server) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.#origin);
    try {
      if (url.pathname.startsWith('/s/')) return await this.#proxy(request, response, url);
      const method = request.method === 'HEAD' ? 'GET' : (request.method ?? 'GET');
      if (method !== 'GET') this.#checkOrigin(request);
      for (const route of this.#routes) {
        const match = route.path.exec(url.pathname);
        if (match && route.method === method) return await route.handler({ request, response, url, params: match.slice(1) });
      }
      throw new HubHttpError(404, `Nothing at ${request.method} ${url.pathname}`, 'Open the join link your instructor gave you.');
    } catch (error) {
      sendError(request, response, error);
    }
  }

  /** A state-changing request must come from a page of this hub (a cookie alone proves nothing). */
  #checkOrigin(request: IncomingMessage): void {
    const origin = request.headers.origin;
    if (origin !== this.#origin) {
      throw new HubHttpError(403, `Requests from ${origin ?? 'a page without an Origin'} are not accepted`, `Use the hub's own pages at ${this.#origin}.`);
    }
  }

  async #session(request: IncomingMessage): Promise<Session | undefined> {
    const token = cookies(request.headers.cookie).get(SESSION_COOKIE);
    return token ? this.#store.session(token) : undefined;
  }

  async #requireSession(request: IncomingMessage): Promise<Session> {
    const session = await this.#session(request);
    if (!session) throw new HubHttpError(401, 'You are not signed in to the lab hub', 'Open the join link your instructor gave you.');
    return session;
  }

  async #classroom(id: string): Promise<Classroom> {
    const classroom = await this.#store.classroom(id);
    if (!classroom) throw new HubHttpError(404, `There is no classroom "${id}"`, 'Check the join link with your instructor.');
    return classroom;
  }

  async #requireInstructor(request: IncomingMessage, classroomId: string): Promise<Session> {
    const session = await this.#requireSession(request);
    if (session.role !== 'instructor' || session.classroomId !== classroomId) {
      throw new HubHttpError(403, `Only an instructor of ${classroomId} sees this`, 'Sign in with the instructor code or an instructor account.');
    }
    return session;
  }

  /** Signs in with a new session and redirects to `location` (awaited alongside the session's write). */
  async #setSession(response: ServerResponse, session: Omit<Session, 'expiresAt'>, classroom: Classroom, location: string | Promise<string>): Promise<void> {
    const [{ token }, where] = await Promise.all([this.#store.createSession(session, classroom.sessionExpiryMinutes * 60_000), location]);
    const cookie = `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${classroom.sessionExpiryMinutes * 60}${this.#secure ? '; Secure' : ''}`;
    response.writeHead(303, { 'set-cookie': cookie, location: where, 'cache-control': 'no-store' }).end();
  }

  async #joinPage({ response, params }: Context): Promise<void> {
    const classroom = await this.#classroom(params[0]!);
    html(response, 200, joinPage(classroom, this.#options.oidc !== undefined));
  }

  async #join({ request, response }: Context): Promise<void> {
    const form = JoinFormSchema.safeParse(Object.fromEntries(new URLSearchParams(await readBody(request, MAX_FORM_BYTES))));
    if (!form.success) throw new HubHttpError(400, `The join form is incomplete: ${form.error.issues[0]?.path.join('.')}: ${form.error.issues[0]?.message}`, 'Fill in your name and the join code.');
    const classroom = await this.#classroom(form.data.classroom);
    if (!classroom.joinCode || !sameSecret(classroom.joinCode, form.data.code)) {
      return html(response, 403, joinPage(classroom, this.#options.oidc !== undefined, 'That join code is not this class\'s code. Check it with your instructor.'));
    }
    let learner;
    try {
      learner = await this.#store.newLearner(classroom.id, `join:${form.data.name.toLowerCase()}`, form.data.name);
    } catch (error) {
      if (!(error instanceof NameTakenError)) throw error;
      return html(response, 409, joinPage(classroom, this.#options.oidc !== undefined, `Someone already joined as "${form.data.name}". Use the browser you joined with, or add your last name.`));
    }
    this.ensureLab(classroom, learner.id);
    this.#broadcast(classroom.id, 'cells', { learnerId: learner.id, displayName: learner.displayName, cells: [] });
    await this.#setSession(response, { classroomId: classroom.id, role: 'learner', learnerId: learner.id, email: null }, classroom, this.#afterSignIn(classroom, learner.id));
  }

  async #instructorSignIn({ request, response }: Context): Promise<void> {
    const form = InstructorFormSchema.safeParse(Object.fromEntries(new URLSearchParams(await readBody(request, MAX_FORM_BYTES))));
    if (!form.success) throw new HubHttpError(400, 'The instructor form needs classroom and code', 'Send classroom=<id>&code=<instructor code>.');
    const classroom = await this.#classroom(form.data.classroom);
    if (!classroom.instructorCode || !sameSecret(classroom.instructorCode, form.data.code)) {
      throw new HubHttpError(403, `That is not the instructor code of ${classroom.id}`, 'Use the instructorCode of the classroom definition.');
    }
    await this.#setSession(response, { classroomId: classroom.id, role: 'instructor', learnerId: null, email: null }, classroom, `/hub/classrooms/${classroom.id}/instructor`);
  }

  async #oidcLogin({ response, params }: Context): Promise<void> {
    if (!this.#options.oidc) throw new HubHttpError(404, 'This hub has no OpenID Connect provider', 'Use the join code, or set the hub\'s oidc settings.');
    const classroom = await this.#classroom(params[0]!);
    response.writeHead(303, { location: (await this.#options.oidc.start(classroom.id)).href, 'cache-control': 'no-store' }).end();
  }

  async #oidcCallback({ response, url }: Context): Promise<void> {
    if (!this.#options.oidc) throw new HubHttpError(404, 'This hub has no OpenID Connect provider', 'Use the join code.');
    let identity;
    try {
      identity = await this.#options.oidc.finish(url);
    } catch (error) {
      if (error instanceof OidcSignInError) throw new HubHttpError(403, error.message, 'Sign in again from the join page.');
      throw error;
    }
    const classroom = await this.#classroom(identity.classroomId);
    if (classroom.instructors.map((e) => e.toLowerCase()).includes(identity.email)) {
      return this.#setSession(response, { classroomId: classroom.id, role: 'instructor', learnerId: null, email: identity.email }, classroom, `/hub/classrooms/${classroom.id}/instructor`);
    }
    if (!(classroom.roster ?? []).map((e) => e.toLowerCase()).includes(identity.email)) {
      throw new HubHttpError(403, `${identity.email} is not on the roster of ${classroom.id}`, 'Ask your instructor to add this address, or sign in with the address they have.');
    }
    const learner = await this.#store.learnerFor(classroom.id, identity.subject, identity.name);
    this.ensureLab(classroom, learner.id);
    await this.#setSession(response, { classroomId: classroom.id, role: 'learner', learnerId: learner.id, email: identity.email }, classroom, this.#afterSignIn(classroom, learner.id));
  }

  /**
   * The learner's lab status; asks for a pod when they have none (after a cull). With `waitMs` it
   * is a long poll: the answer comes when the lab stops starting or its message is no longer
   * `seen`, so the wait page moves on the moment the lab is ready.
   */
  async #me({ request, response }: Context): Promise<void> {
    const session = await this.#requireSession(request);
    const body = await readBody(request, 1024);
    const asked = MeRequestSchema.safeParse(body.trim() ? parseJson(body) : {});
    if (!asked.success) throw new HubHttpError(400, `This request to /hub/api/me is not understood: ${asked.error.issues[0]?.path.join('.') || 'body'}: ${asked.error.issues[0]?.message}`, `Send {} or {"waitMs": 0–${MAX_ME_WAIT_MS}, "seen": "…"}.`);
    if (session.role !== 'learner' || !session.learnerId) return json(response, 200, { role: session.role, classroom: session.classroomId });
    const classroom = await this.#classroom(session.classroomId);
    const learnerId = session.learnerId;
    let status = this.ensureLab(classroom, learnerId);
    const { waitMs = 0, seen } = asked.data;
    if (waitMs > 0) {
      // A browser that navigates away closes the response: stop holding it.
      const closed = new Promise<void>((resolve) => response.once('close', resolve));
      status = await this.#labChange(learnerId, (now) => now.state !== 'starting' || now.message !== (seen ?? now.message), waitMs, closed);
    }
    json(response, 200, { role: 'learner', learnerId, lab: { ...status, url: labUrl(classroom, learnerId) } });
  }

  /** Where a learner goes once signed in: straight to their lab if it is ready within SIGN_IN_WAIT_MS, else the wait page. */
  async #afterSignIn(classroom: Classroom, learnerId: string): Promise<string> {
    const status = await this.#labChange(learnerId, (now) => now.state !== 'starting', SIGN_IN_WAIT_MS);
    return status.state === 'ready' ? labUrl(classroom, learnerId) : '/hub/lab';
  }

  /**
   * The learner's lab status once `done` holds for it, or as it is after `waitMs` (or once `gone`
   * settles). Woken by #setStatus, so a held request costs nothing while nothing changes.
   */
  async #labChange(learnerId: string, done: (status: LabStatus) => boolean, waitMs: number, gone?: Promise<void>): Promise<LabStatus> {
    const current = () => this.#labs.get(learnerId) ?? { state: 'starting' as const, message: 'Starting your lab…' };
    if (done(current())) return { ...current() };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, waitMs);
      const changed = () => done(current()) && finish();
      function finish() {
        clearTimeout(timer);
        waiters.delete(changed);
        resolve();
      }
      const waiters = this.#statusWaiters.get(learnerId) ?? new Set<() => void>();
      this.#statusWaiters.set(learnerId, waiters.add(changed));
      void gone?.then(finish);
    }).finally(() => {
      if (this.#statusWaiters.get(learnerId)?.size === 0) this.#statusWaiters.delete(learnerId);
    });
    return { ...current() };
  }

  /** Changes a learner's lab status and wakes whoever waits on it. */
  #setStatus(learnerId: string, status: LabStatus, changes: Partial<LabStatus>): void {
    Object.assign(status, changes);
    for (const waiter of [...(this.#statusWaiters.get(learnerId) ?? [])]) waiter();
  }

  async #heartbeat({ request, response }: Context): Promise<void> {
    const session = await this.#requireSession(request);
    const beat = HeartbeatSchema.safeParse(parseJson(await readBody(request, 1024)));
    if (!beat.success) throw new HubHttpError(400, 'A heartbeat is {"pageId": "…", "state": "visible" | "hidden" | "closed"}', 'Send that.');
    if (session.learnerId && session.role === 'learner') this.#heartbeats.beat(session.learnerId, beat.data.pageId, beat.data.state, this.#now());
    json(response, 200, { nextBeatMs: BEAT_INTERVAL_MS });
  }

  async #logout({ request, response }: Context): Promise<void> {
    const token = cookies(request.headers.cookie).get(SESSION_COOKIE);
    if (token) await this.#store.endSession(token);
    response.writeHead(303, { 'set-cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0`, location: '/' }).end();
  }

  async #instructorPage({ request, response, params }: Context): Promise<void> {
    const classroom = await this.#classroom(params[0]!);
    await this.#requireInstructor(request, classroom.id);
    html(response, 200, instructorPage(classroom));
  }

  async #grid(classroomId: string) {
    const classroom = await this.#classroom(classroomId);
    const [learners, progress] = await Promise.all([this.#store.learners(classroomId), this.#store.progress(classroomId)]);
    return buildGrid(classroom.labs, learners, progress);
  }

  async #gridJson({ request, response, params }: Context): Promise<void> {
    await this.#requireInstructor(request, params[0]!);
    json(response, 200, await this.#grid(params[0]!));
  }

  async #csv({ request, response, params }: Context): Promise<void> {
    await this.#requireInstructor(request, params[0]!);
    const csv = gridCsv(await this.#grid(params[0]!));
    response
      .writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${params[0]}-progress.csv"`, 'cache-control': 'no-store' })
      .end(csv);
  }

  /** Server-sent events: the grid once, then each learner's new cells as their pod pushes a report. */
  async #liveStream({ request, response, params }: Context): Promise<void> {
    const classroomId = params[0]!;
    await this.#requireInstructor(request, classroomId);
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write(`event: grid\ndata: ${JSON.stringify(await this.#grid(classroomId))}\n\n`);
    const clients = this.#live.get(classroomId) ?? new Set();
    this.#live.set(classroomId, clients);
    clients.add(response);
    request.on('close', () => clients.delete(response));
  }

  #broadcast(classroomId: string, event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.#live.get(classroomId) ?? []) client.write(frame);
  }

  async #onReport(learnerId: string, report: LabReport): Promise<void> {
    await this.#store.saveReport(learnerId, report);
    const learner = await this.#store.learner(learnerId);
    if (learner) this.#broadcast(learner.classroomId, 'cells', { learnerId, displayName: learner.displayName, cells: reportCells(report) });
  }

  async #asset({ response, params }: Context): Promise<void> {
    const body = readFileSync(new URL(`${params[0]}.js`, ASSETS));
    response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }).end(body);
  }

  /** Who may open /s/<learner>/: the learner (read-write) or an instructor of their class (read-only). */
  async #upstreamFor(request: IncomingMessage, learnerId: string): Promise<Upstream> {
    const session = await this.#requireSession(request);
    if (session.role === 'learner' && session.learnerId === learnerId) {
      const upstream = this.upstreamOf(learnerId, false);
      if (!upstream) throw new HubHttpError(503, 'Your lab is not running (it was stopped while idle)', 'Open /hub/lab to start it again; your files and progress are kept.');
      return upstream;
    }
    const learner = session.role === 'instructor' ? await this.#store.learner(learnerId) : undefined;
    if (!learner || learner.classroomId !== session.classroomId) {
      throw new HubHttpError(403, 'This lab belongs to another learner', 'Open your own lab from /hub/lab.');
    }
    const upstream = this.upstreamOf(learnerId, true);
    if (!upstream) throw new HubHttpError(503, `${learner.displayName}'s lab is not running now`, 'Their progress is in the grid; the lab opens when they sign in again.');
    return upstream;
  }

  /** The learner's Ready pod as a proxy target, or undefined. */
  upstreamOf(learnerId: string, readOnly: boolean): Upstream | undefined {
    const pod = this.#spawner.podOf(learnerId);
    if (!pod || this.#labs.get(learnerId)?.state !== 'ready') return undefined;
    const origin = this.#podOrigin(pod);
    return origin ? { learnerId, origin, token: podToken(this.#options.tokenKey, pod.metadata!.name!), readOnly } : undefined;
  }

  /** Where a pod's workspace server answers (none before the pod has an address). */
  #podOrigin(pod: V1Pod): string | undefined {
    return this.#options.podOrigin?.(pod) ?? (pod.status?.podIP ? `http://${pod.status.podIP}:${WORKSPACE_PORT}` : undefined);
  }

  async #proxy(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const match = /^\/s\/([a-z2-7]{16})(\/.*)?$/.exec(url.pathname);
    if (!match) throw new HubHttpError(404, `No lab at ${url.pathname}`, 'Lab addresses look like /s/<learner>/labs/<lab>/.');
    if (request.method !== 'GET' && request.method !== 'HEAD') this.#checkOrigin(request);
    const upstream = await this.#upstreamFor(request, match[1]!);
    const prefix = `/s/${match[1]}`;
    proxyHttp(request, response, upstream, `${match[2] ?? '/'}${url.search}`, {
      prefix,
      bridgeSrc: '/hub/static/lab-bridge.js',
      observe: (exchange) => void this.#observe(exchange).catch(logError('record')),
    });
  }

  async #observe(exchange: Parameters<typeof recordExchange>[1]): Promise<void> {
    const what = await recordExchange(this.#store, exchange);
    if (what === 'lab') {
      const labId = /^\/api\/labs\/([a-z0-9-]+)\//.exec(exchange.path)?.[1];
      if (labId) this.#collector.follow(exchange.learnerId, labId);
    }
  }

  async #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', this.#origin);
    const match = /^\/s\/([a-z2-7]{16})(\/.*)$/.exec(url.pathname);
    if (!match) return refuseUpgrade(socket, 404, 'Not Found');
    if (request.headers.origin !== this.#origin) return refuseUpgrade(socket, 403, 'Forbidden origin');
    try {
      const upstream = await this.#upstreamFor(request, match[1]!);
      proxyUpgrade(request, socket, head, upstream, `${match[2]}${url.search}`);
    } catch (error) {
      const status = error instanceof HubHttpError ? error.status : 500;
      refuseUpgrade(socket, status, error instanceof HubHttpError ? error.message : 'Internal error');
    }
  }

  /**
   * The learner's lab status, starting their pod if they have none: claimed from the warm pool,
   * or spawned; then their saved files, lab and applies are put back.
   */
  ensureLab(classroom: Classroom, learnerId: string): LabStatus {
    const known = this.#labs.get(learnerId);
    if (known && (known.state === 'starting' || (known.state === 'ready' && this.#spawner.podOf(learnerId)))) return known;
    const status: LabStatus = { state: 'starting', message: 'Starting your lab…' };
    this.#labs.set(learnerId, status);
    this.#setStatus(learnerId, status, {});
    void this.#startLab(classroom, learnerId, status);
    return status;
  }

  /** Resolves when the learner's lab is ready or failed (for tests and the bench). */
  async labSettled(learnerId: string, timeoutMs = 120_000): Promise<LabStatus> {
    const status = await this.#labChange(learnerId, (now) => now.state !== 'starting', timeoutMs);
    if (status.state === 'starting') throw new Error(`The lab of ${learnerId} was still starting after ${timeoutMs} ms`);
    return status;
  }

  async #startLab(classroom: Classroom, learnerId: string, status: LabStatus): Promise<void> {
    // Read while the pod is claimed or made: the sign-in waits for both, not one after the other.
    const saved = this.#store.snapshot(learnerId);
    // Awaited below; marked handled so that a failed read is not reported as unhandled when the
    // pod fails first and the catch below answers for both.
    saved.catch(() => undefined);
    try {
      const pod = await this.#spawner.ready(classroom, learnerId);
      this.#setStatus(learnerId, status, { pod: pod.metadata!.name! });
      this.#heartbeats.activity(learnerId, this.#now()).lastSeen = this.#now();
      // The pool refills from the classroom as it is now (an instructor may have changed it).
      void this.#store.classroom(classroom.id).then((now) => now && this.refill(now)).catch(logError('refill'));
      const snapshot = await saved;
      if (snapshot.files.length > 0 || snapshot.activeLab) {
        this.#setStatus(learnerId, status, { message: 'Putting your files and progress back…' });
        const origin = this.#podOrigin(pod);
        if (!origin) throw new Error(`pod ${status.pod} has no address yet`);
        await restoreWorkspace({ learnerId, origin, token: podToken(this.#options.tokenKey, status.pod!), readOnly: false }, snapshot);
      }
      this.#setStatus(learnerId, status, { state: 'ready', message: 'Your lab is ready.' });
      if (snapshot.activeLab) this.#collector.follow(learnerId, snapshot.activeLab);
    } catch (error) {
      if (error instanceof ClassroomFullError) this.#setStatus(learnerId, status, { state: 'full', message: `${error.message}. Ask your instructor, or try again when someone leaves.` });
      else this.#setStatus(learnerId, status, { state: 'failed', message: `Your lab could not start: ${(error as Error).message}` });
    }
  }

  /** Tops up one classroom's warm pool; each new pod starts the classroom's first lab before it is offered. */
  refill(classroom: Classroom) {
    return this.#spawner.refill(classroom, async (pod, lab) => {
      const origin = this.#podOrigin(pod);
      if (!origin) throw new Error(`pod ${pod.metadata!.name} has no address yet`);
      await prepareLab({ origin, token: podToken(this.#options.tokenKey, pod.metadata!.name!) }, lab);
    });
  }

  async refillAll(): Promise<void> {
    await Promise.all((await this.#store.classrooms()).map((c) => this.refill(c)));
  }

  /** One pass of the culler over every claimed pod; returns what it culled. */
  async cullOnce(): Promise<CullEvent[]> {
    const now = this.#now();
    const events: CullEvent[] = [];
    for (const classroom of await this.#store.classrooms()) {
      for (const pod of this.#spawner.pods(classroom.id)) {
        const learnerId = pod.metadata?.labels?.[LABELS.learner];
        if (!learnerId) continue;
        const started = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : now;
        const decision = cullDecision(classroom, started, this.#heartbeats.activity(learnerId, now), now);
        if (!decision) continue;
        events.push({ ...decision, learnerId, pod: pod.metadata!.name! });
      }
    }
    await Promise.all(
      events.map(async (event) => {
        this.#collector.unfollow(event.learnerId);
        this.#heartbeats.forget(event.learnerId);
        this.#labs.delete(event.learnerId);
        await this.#spawner.delete(event.pod);
      }),
    );
    this.culled.push(...events);
    this.culled.splice(0, Math.max(0, this.culled.length - 1000));
    return events;
  }

  /** For tests: the heartbeats the culler reads. */
  get heartbeats(): Heartbeats {
    return this.#heartbeats;
  }
}

/** A learner's lab page behind the proxy: the classroom's first lab. */
function labUrl(classroom: Classroom, learnerId: string): string {
  return `/s/${learnerId}/labs/${classroom.labs[0]}/`;
}

function logError(what: string) {
  return (error: unknown) => process.stderr.write(`hub: ${what} failed: ${(error as Error).message ?? String(error)}\n`);
}

/** Constant-time comparison of a code the user typed with the stored one. */
function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookies(header: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) map.set(part.slice(0, index).trim(), part.slice(index + 1).trim());
  }
  return map;
}

function html(response: ServerResponse, status: number, body: string): void {
  response
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'" })
    .end(body);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function sendError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
  if (response.headersSent) return void response.destroy();
  const known = error instanceof HubHttpError;
  if (!known) process.stderr.write(`hub: ${request.method} ${request.url}: ${(error as Error).stack ?? String(error)}\n`);
  const status = known ? error.status : 500;
  const message = known ? error.message : 'Internal error in the lab hub';
  const fix = known ? error.fix : 'Try again; if it persists, tell your instructor.';
  if ((request.headers.accept ?? '').includes('text/html')) return html(response, status, errorPage(message, fix));
  json(response, status, { error: message, fix });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HubHttpError(400, 'The request body is not JSON', 'Send a JSON object.');
  }
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HubHttpError(413, `The request body is larger than ${limit} bytes`, 'Send less.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
