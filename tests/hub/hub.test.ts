/**
 * The hub end to end on real parts it owns: PostgreSQL, the Kubernetes API (pods simulated by
 * kwok), its HTTP server, proxy and culler. Pods under kwok do not run, so each pod's workspace
 * server is a recording stand-in (fake-workspace.ts); attacks are sent as raw bytes.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { Hub, SESSION_COOKIE } from '../../hub/server.ts';
import { HubStore } from '../../hub/store.ts';
import { podToken } from '../../hub/pods.ts';
import type { Spawner } from '../../hub/spawner.ts';
import { connectTestCluster } from '../support/test-cluster.ts';
import { report, startFakeWorkspace, LAB_PAGE, LAB_SCRIPT } from './fake-workspace.ts';
import { addLearnerNodes, classroom, podSettings, restrictedNamespace, startSpawner } from './support.ts';
import { freePort } from '../support/free-port.ts';

const info = inject('testCluster');
const { clients } = connectTestCluster(info);
const namespace = 'hub-http';
const TOKEN_KEY = 'test-token-key-0123456789';
const room = classroom({ id: 'hub-http', warmPool: 2, capacity: 20, instructorCode: 'INSTRUCTOR-CODE-0123456789' });

let store: HubStore;
let spawner: Spawner;
let hub: Hub;
let origin: string;
let clock = Date.now();
let workspace: Awaited<ReturnType<typeof startFakeWorkspace>>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control of the headers (Origin included). */
function send(path: string, options: { method?: string; cookie?: string; origin?: string; body?: string; type?: string; accept?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.cookie) headers.cookie = `${SESSION_COOKIE}=${options.cookie}`;
    if (options.origin) headers.origin = options.origin;
    if (options.type) headers['content-type'] = options.type;
    if (options.accept) headers.accept = options.accept;
    const req = httpRequest(`${origin}${path}`, { method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Signs in with the join code; returns the session cookie's value and the learner id. */
async function join(name: string): Promise<{ cookie: string; learnerId: string }> {
  const answer = await send('/hub/api/join', { method: 'POST', origin, type: 'application/x-www-form-urlencoded', body: new URLSearchParams({ classroom: room.id, code: room.joinCode!, name }).toString() });
  expect(answer.status).toBe(303);
  const cookie = /dslab_hub=([^;]+)/.exec(String(answer.headers['set-cookie']))![1]!;
  const me = JSON.parse((await send('/hub/api/me', { method: 'POST', origin, cookie, body: '{}' })).body) as { learnerId: string };
  return { cookie, learnerId: me.learnerId };
}

async function readyLab(cookie: string, learnerId: string) {
  await send('/hub/api/me', { method: 'POST', origin, cookie, body: '{}' });
  expect(await hub.labSettled(learnerId)).toMatchObject({ state: 'ready' });
}

/** A raw WebSocket handshake; returns the status line the hub answers. */
function rawUpgrade(path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(origin);
    const socket = connect(Number(url.port), url.hostname, () => {
      const lines = [`GET ${path} HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) {
        resolve(data.split('\r\n')[0]!);
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}

function openSocket(path: string, cookie: string): Promise<WebSocket> {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}${path}`, { headers: { origin, cookie: `${SESSION_COOKIE}=${cookie}` } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}


beforeAll(async () => {
  await restrictedNamespace(clients, namespace);
  await addLearnerNodes(clients, 4);
  store = new HubStore(inject('hubDatabaseUrl'));
  await store.migrate();
  await store.putClassroom(room);
  workspace = await startFakeWorkspace();
  spawner = await startSpawner(info, podSettings(namespace), 5);
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  hub = new Hub({ store, spawner, publicUrl: origin, tokenKey: TOKEN_KEY, port, podOrigin: () => workspace.origin, now: () => clock, cullIntervalMs: 3_600_000, refillIntervalMs: 3_600_000 });
  await hub.listen();
  await hub.refill(room);
});

afterAll(async () => {
  await hub?.close();
  await spawner?.stop();
  await workspace?.close();
  await store?.close();
  await clients.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('sign-in with a join code', () => {
  it('a wrong code is refused on the join page', async () => {
    const answer = await send('/hub/api/join', { method: 'POST', origin, type: 'application/x-www-form-urlencoded', body: `classroom=${room.id}&code=WRONG-CODE-1&name=Eve` });
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('That join code is not this class&#39;s code');
  });

  it('a right code gives an HttpOnly session cookie and a warm pod that has set up the lab, and goes straight to the lab page', async () => {
    const warm = spawner.pods(room.id);
    expect(warm.map((p) => p.metadata!.annotations?.['daemonset-lab.dev/prepared-lab'])).toEqual(['first-daemonset', 'first-daemonset']);
    // Each warm pod's lab was started with its own token before anyone signed in.
    for (const pod of warm) {
      expect(workspace.seen.some((r) => r.method === 'POST' && r.path === '/api/labs/first-daemonset/start' && r.headers.authorization === `Bearer ${podToken(TOKEN_KEY, pod.metadata!.name!)}`)).toBe(true);
    }
    const answer = await send('/hub/api/join', { method: 'POST', origin, type: 'application/x-www-form-urlencoded', body: `classroom=${room.id}&code=${room.joinCode}&name=Ada` });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toMatch(/^\/s\/[a-z2-7]{16}\/labs\/first-daemonset\/$/);
    expect(String(answer.headers['set-cookie'])).toMatch(/^dslab_hub=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=28800$/);
    const cookie = /dslab_hub=([^;]+)/.exec(String(answer.headers['set-cookie']))![1]!;
    const me = JSON.parse((await send('/hub/api/me', { method: 'POST', origin, cookie, body: '{}' })).body) as { learnerId: string; lab: { state: string; pod: string; url: string } };
    expect(me.lab).toMatchObject({ state: 'ready', url: answer.headers.location });
    expect(warm.map((p) => p.metadata!.name)).toContain(me.lab.pod);
  });

  it('the wait page\'s long poll answers when the status changes, holds while it does not, and refuses a wait it does not allow', async () => {
    const learner = await store.newLearner(room.id, 'join:grace', 'Grace');
    await store.saveFile(learner.id, { labId: 'first-daemonset', path: 'held.yaml', content: 'kind: DaemonSet\n' });
    const session = await store.createSession({ classroomId: room.id, role: 'learner', learnerId: learner.id, email: null }, 60_000);
    const me = async (body: object) => JSON.parse((await send('/hub/api/me', { method: 'POST', origin, cookie: session.token, body: JSON.stringify(body) })).body) as { lab: { state: string; message: string } };
    const release = workspace.hold('PUT', '/api/labs/first-daemonset/files/held.yaml');
    try {
      expect((await me({})).lab).toMatchObject({ state: 'starting', message: 'Starting your lab…' });
      // The page shows "Starting…": the answer comes as soon as the hub moves on to the restore.
      expect((await me({ waitMs: 20_000, seen: 'Starting your lab…' })).lab).toMatchObject({ state: 'starting', message: 'Putting your files and progress back…' });
      // Nothing changes while the pod holds the file: a short wait ends as it began.
      expect((await me({ waitMs: 300, seen: 'Putting your files and progress back…' })).lab).toMatchObject({ state: 'starting', message: 'Putting your files and progress back…' });
      const held = me({ waitMs: 20_000, seen: 'Putting your files and progress back…' });
      release();
      expect((await held).lab).toMatchObject({ state: 'ready', message: 'Your lab is ready.' });
    } finally {
      release();
    }
    const refused = await send('/hub/api/me', { method: 'POST', origin, cookie: session.token, body: JSON.stringify({ waitMs: 3_600_000 }) });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ error: expect.stringContaining('waitMs'), fix: expect.stringContaining('"waitMs": 0–20000') });
  });

  it('the same name twice is refused (one browser per name)', async () => {
    const answer = await send('/hub/api/join', { method: 'POST', origin, type: 'application/x-www-form-urlencoded', body: `classroom=${room.id}&code=${room.joinCode}&name=ada` });
    expect(answer.status).toBe(409);
    expect(answer.body).toContain('Someone already joined as &#34;ada&#34;');
  });

  it('a join posted from another site is refused', async () => {
    const answer = await send('/hub/api/join', { method: 'POST', origin: 'https://evil.example', type: 'application/x-www-form-urlencoded', body: `classroom=${room.id}&code=${room.joinCode}&name=Mallory` });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).error).toBe('Requests from https://evil.example are not accepted');
  });
});

describe('the proxy at /s/<learner>/', () => {
  let ada: { cookie: string; learnerId: string };
  let bob: { cookie: string; learnerId: string };

  beforeAll(async () => {
    ada = await join('Ada Lovelace');
    bob = await join('Bob');
    await Promise.all([readyLab(ada.cookie, ada.learnerId), readyLab(bob.cookie, bob.learnerId)]);
  });

  it('serves the learner\'s lab page under their prefix, with the pod\'s token and without the hub cookie', async () => {
    const answer = await send(`/s/${ada.learnerId}/labs/first-daemonset/`, { cookie: ada.cookie });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain(`<a href="/s/${ada.learnerId}/labs/tolerations/">`);
    expect(answer.body).toContain(`<script src="/hub/static/lab-bridge.js" data-prefix="/s/${ada.learnerId}"></script>`);
    expect(answer.body).toContain(`src="/s/${ada.learnerId}/_astro/lab.js"`);
    expect(answer.headers['set-cookie']).toBeUndefined();
    const seen = workspace.seen.findLast((r) => r.path === '/labs/first-daemonset/')!;
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers.authorization).toBe(`Bearer ${podToken(TOKEN_KEY, spawner.podOf(ada.learnerId)!.metadata!.name!)}`);
    expect(LAB_PAGE).toContain('href="/labs/tolerations/"');
  });

  it('passes the pod\'s gzip through for scripts, and unzips a page to rewrite it', async () => {
    const get = (path: string) => new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = httpRequest(`${origin}${path}`, { headers: { cookie: `${SESSION_COOKIE}=${ada.cookie}`, 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject).end();
    });
    const script = await get(`/s/${ada.learnerId}/_astro/lab.js`);
    expect(script.status).toBe(200);
    expect(script.headers['content-encoding']).toBe('gzip');
    expect(script.body.length).toBeLessThan(LAB_SCRIPT.length / 10);
    expect(gunzipSync(script.body).toString()).toBe(LAB_SCRIPT);
    const page = await get(`/s/${ada.learnerId}/labs/first-daemonset/`);
    expect(page.headers['content-encoding']).toBeUndefined();
    expect(page.body.toString()).toContain(`<script src="/hub/static/lab-bridge.js" data-prefix="/s/${ada.learnerId}"></script>`);
    expect(Number(page.headers['content-length'])).toBe(page.body.length);
    // A page that inflates past the rewrite limit is refused, and the hub goes on serving.
    const bomb = await get(`/s/${ada.learnerId}/labs/bomb/`);
    expect(bomb.status).toBe(502);
    expect(JSON.parse(bomb.body.toString())).toMatchObject({ error: 'The lab pod sent a page that is not valid gzip or is larger than 4194304 bytes' });
    expect((await get(`/s/${ada.learnerId}/labs/first-daemonset/`)).status).toBe(200);
  });

  it('refuses another learner, a visitor without a session, and a write from another site', async () => {
    expect((await send(`/s/${ada.learnerId}/labs/first-daemonset/`, { cookie: bob.cookie })).status).toBe(403);
    expect((await send(`/s/${ada.learnerId}/labs/first-daemonset/`)).status).toBe(401);
    expect((await send(`/s/${ada.learnerId}/labs/first-daemonset/`, { cookie: 'forged-cookie-value' })).status).toBe(401);
    const cross = await send(`/s/${ada.learnerId}/api/labs/first-daemonset/files/ds.yaml`, { method: 'PUT', cookie: ada.cookie, origin: 'https://evil.example', body: 'x' });
    expect(cross.status).toBe(403);
  });

  it('refuses WebSockets from another site or another learner (raw handshakes)', async () => {
    const path = `/s/${ada.learnerId}/api/labs/first-daemonset/terminal`;
    expect(await rawUpgrade(path, { Origin: 'https://evil.example', Cookie: `${SESSION_COOKIE}=${ada.cookie}` })).toBe('HTTP/1.1 403 Forbidden origin');
    expect(await rawUpgrade(path, { Origin: origin, Cookie: `${SESSION_COOKIE}=${bob.cookie}` })).toMatch(/^HTTP\/1\.1 403/);
    expect(await rawUpgrade(path, { Origin: origin })).toMatch(/^HTTP\/1\.1 401/);
  });

  it('carries the terminal WebSocket both ways', async () => {
    const ws = await openSocket(`/s/${ada.learnerId}/api/labs/first-daemonset/terminal`, ada.cookie);
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('kubectl get nodes');
    expect(await reply).toBe('echo:kubectl get nodes');
    ws.close();
  });

  it('keeps saved files, the lab opened and the files applied in PostgreSQL', async () => {
    const put = await send(`/s/${ada.learnerId}/api/labs/first-daemonset/files/ds.yaml`, { method: 'PUT', cookie: ada.cookie, origin, type: 'text/plain', body: 'kind: DaemonSet\n' });
    expect(put.status).toBe(200);
    await send(`/s/${ada.learnerId}/api/labs/first-daemonset/start`, { method: 'POST', cookie: ada.cookie, origin });
    await send(`/s/${ada.learnerId}/api/labs/first-daemonset/apply`, { method: 'POST', cookie: ada.cookie, origin, type: 'application/json', body: '{"path":"ds.yaml"}' });
    await expect.poll(() => store.snapshot(ada.learnerId)).toEqual({
      activeLab: 'first-daemonset',
      applied: [{ labId: 'first-daemonset', path: 'ds.yaml' }],
      files: [{ labId: 'first-daemonset', path: 'ds.yaml', content: 'kind: DaemonSet\n' }],
    });
  });
});

describe('the instructor', () => {
  let instructor: string;
  let ada: { cookie: string; learnerId: string };

  beforeAll(async () => {
    const answer = await send('/hub/api/instructor', { method: 'POST', origin, type: 'application/x-www-form-urlencoded', body: `classroom=${room.id}&code=${room.instructorCode}` });
    expect(answer.status).toBe(303);
    instructor = /dslab_hub=([^;]+)/.exec(String(answer.headers['set-cookie']))![1]!;
    ada = { learnerId: (await store.learners(room.id)).find((l) => l.displayName === 'Ada Lovelace')!.id, cookie: '' };
  });

  it('a learner cannot see the grid', async () => {
    const learner = await join('Carol');
    expect((await send(`/hub/api/classrooms/${room.id}/grid`, { cookie: learner.cookie })).status).toBe(403);
  });

  it('sees a check turn green as soon as the learner\'s pod pushes it (server-sent events)', async () => {
    const events = await new Promise<import('node:http').IncomingMessage>((resolve) =>
      httpRequest(`${origin}/hub/api/classrooms/${room.id}/live`, { headers: { cookie: `${SESSION_COOKIE}=${instructor}` } }, resolve).end(),
    );
    let stream = '';
    events.on('data', (c: Buffer) => (stream += c.toString()));
    await expect.poll(() => workspace.eventSocketCount()).toBeGreaterThan(0);
    expect(workspace.push(report('first-daemonset', true))).toBeGreaterThan(0);
    await expect.poll(() => stream).toContain('"status":"pass","observed":"3 of 3 workers run a Ready pod"');
    events.destroy();
    const grid = JSON.parse((await send(`/hub/api/classrooms/${room.id}/grid`, { cookie: instructor })).body);
    const row = grid.rows.find((r: { learnerId: string }) => r.learnerId === ada.learnerId);
    expect(row.cells['first-daemonset/create/one-pod-per-worker'].status).toBe('pass');
  });

  it('exports CSV, with a formula-like name neutralised', async () => {
    const eve = await join('=HYPERLINK("http://evil.example")');
    await store.saveReport(eve.learnerId, report('first-daemonset', false));
    const csv = await send(`/hub/api/classrooms/${room.id}/progress.csv`, { cookie: instructor });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = csv.body.split('\r\n');
    expect(lines[0]).toBe('learner,lab,step,check,status,observed,checked_at');
    expect(lines.find((l) => l.startsWith('Ada Lovelace,'))).toMatch(/^Ada Lovelace,first-daemonset,create,one-pod-per-worker,pass,3 of 3 workers run a Ready pod,/);
    expect(lines.find((l) => l.includes('HYPERLINK'))).toMatch(/^"'=HYPERLINK\(""http:\/\/evil\.example""\)",first-daemonset,create,one-pod-per-worker,fail,/);
  });

  it('opens a learner\'s lab read-only: pages and live checks yes, writes and the terminal no', async () => {
    expect((await send(`/s/${ada.learnerId}/labs/first-daemonset/`, { cookie: instructor })).status).toBe(200);
    const write = await send(`/s/${ada.learnerId}/api/labs/first-daemonset/files/ds.yaml`, { method: 'PUT', cookie: instructor, origin, body: 'hijack' });
    expect(write.status).toBe(403);
    expect(JSON.parse(write.body).error).toBe('This is a read-only view of a learner\'s lab');
    await expect(openSocket(`/s/${ada.learnerId}/api/labs/first-daemonset/terminal`, instructor)).rejects.toThrow('HTTP 403');
    (await openSocket(`/s/${ada.learnerId}/api/labs/first-daemonset/events`, instructor)).close();
  });
});

describe('idle culling and re-creation', () => {
  it('culls a pod whose pages stopped beating, and re-creates it with the learner\'s files, lab and applies', async () => {
    const ada = (await store.learners(room.id)).find((l) => l.displayName === 'Ada Lovelace')!;
    const before = spawner.podOf(ada.id)!.metadata!.name!;
    const others = (await store.learners(room.id)).filter((l) => l.id !== ada.id);
    for (const other of others) hub.heartbeats.beat(other.id, 'tab', 'visible', clock + 31 * 60_000);
    hub.heartbeats.beat(ada.id, 'tab', 'visible', clock);
    clock += 31 * 60_000;
    const culled = await hub.cullOnce();
    expect(culled).toEqual([{ learnerId: ada.id, pod: before, reason: 'idle', message: 'no lab page sent a heartbeat for 31 min (idle timeout 30 min)' }]);
    await expect.poll(() => spawner.podOf(ada.id)).toBeUndefined();

    const restoredFrom = workspace.seen.length;
    const session = await store.createSession({ classroomId: room.id, role: 'learner', learnerId: ada.id, email: null }, 60_000);
    expect((await send(`/s/${ada.id}/labs/first-daemonset/`, { cookie: session.token })).status).toBe(503);
    await readyLab(session.token, ada.id);
    const after = spawner.podOf(ada.id)!.metadata!.name!;
    expect(after).not.toBe(before);
    // Every pod answers at the stand-in's address: the pod's token tells Ada's calls from those that prepare new warm pods.
    const replay = workspace.seen
      .slice(restoredFrom)
      .filter((r) => r.method !== 'GET' && r.method !== 'UPGRADE' && r.headers.authorization === `Bearer ${podToken(TOKEN_KEY, after)}`)
      .map((r) => `${r.method} ${r.path} ${r.body}`);
    expect(replay).toEqual(['PUT /api/labs/first-daemonset/files/ds.yaml kind: DaemonSet\n', 'POST /api/labs/first-daemonset/start ', 'POST /api/labs/first-daemonset/apply {"path":"ds.yaml"}']);
  });

  it('culls a pod whose pages were all hidden too long, but not one with a visible page', async () => {
    const [first, second] = (await store.learners(room.id)).filter((l) => spawner.podOf(l.id));
    hub.heartbeats.beat(first!.id, 'tab', 'hidden', clock);
    hub.heartbeats.beat(second!.id, 'tab', 'visible', clock);
    for (let minute = 1; minute <= 61; minute += 1) {
      hub.heartbeats.beat(first!.id, 'tab', 'hidden', clock + minute * 60_000);
      hub.heartbeats.beat(second!.id, 'tab', 'visible', clock + minute * 60_000);
    }
    const others = (await store.learners(room.id)).filter((l) => l.id !== first!.id && l.id !== second!.id);
    for (const other of others) hub.heartbeats.beat(other.id, 'tab', 'visible', clock + 61 * 60_000);
    clock += 61 * 60_000;
    const culled = await hub.cullOnce();
    expect(culled.map((c) => [c.learnerId, c.reason])).toEqual([[first!.id, 'hidden']]);
    expect(culled[0]!.message).toBe('every lab page was hidden for 61 min (hidden timeout 60 min)');
  });
});
