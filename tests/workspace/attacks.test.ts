/**
 * Attacks on the workspace server, sent as an attacker sends them: raw bytes over a socket where
 * fetch or a browser would normalize the request (`//`, `%2e%2e`, a bare `%` in a cookie, a reset
 * connection, chunked bodies, oversized or invalid WebSocket frames). After each, the server must
 * still answer and the lab shell must still echo: one request must never end the process.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { MAX_EVENT_SOCKETS, MAX_WS_PAYLOAD, startWorkspaceServer } from '../../src/server/web/server.ts';
import { MAX_FILE_BYTES } from '../../src/server/web/files.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { TERMINAL_INPUT_MAX, WS_PROTOCOL, type ApplyResponse } from '../../src/shared/workspace-protocol.ts';
import type { LabReport } from '../../src/shared/lab-results.ts';
import { rawRequest, recordUncaughtErrors, serverAnswers, shellEchoes, startTestWorkspace, TerminalClient, terminalUrl, type TestWorkspace } from './support.ts';

const LAB = 'first-daemonset';
let ws: TestWorkspace;
let auth: Record<string, string>;
/** The token as an old-style cookie: no credential any more (cookies reach every port of 127.0.0.1). */
let cookie: string;
let host: string;

beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
  auth = { authorization: `Bearer ${ws.server.token}` };
  cookie = `daemonset-lab-token-${ws.server.port}=${ws.server.token}`;
  host = `127.0.0.1:${ws.server.port}`;
  const started = await fetch(`${ws.server.origin}/api/labs/${LAB}/start`, { method: 'POST', headers: auth });
  expect(started.status).toBe(200);
});

afterAll(async () => {
  uncaught.stop();
  await ws?.close();
});

/** An exception no handler caught would have ended the server (and every shell) in production. */
const uncaught = recordUncaughtErrors();
afterEach(() => {
  const seen = uncaught.errors.splice(0).map((e) => (e instanceof Error ? `${e.name}: ${e.message} ${JSON.stringify(e)}` : String(e)));
  expect(seen, 'exceptions nobody caught (each would have ended the server)').toEqual([]);
});

/** A raw HTTP/1.1 request with the given request line and headers. */
function raw(requestLine: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [requestLine, `Host: ${host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body && !Object.keys(headers).some((k) => k.toLowerCase() === 'transfer-encoding')) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

async function expectAlive(): Promise<void> {
  expect(await serverAnswers(ws.server)).toBe(true);
  await shellEchoes(ws.server, LAB);
}

/** Opens a WebSocket with the token and resolves with the close code after `act` ran on it. */
function closeCodeAfter(path: string, act: (socket: WebSocket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${ws.server.origin.replace(/^http/, 'ws')}${path}`, { headers: auth });
    socket.on('error', () => undefined);
    socket.once('open', () => act(socket));
    socket.once('close', (code) => resolve(code));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
  });
}

describe('one request cannot take the server down', () => {
  it('answers the request targets // and //host/path and an absolute URL without crashing', async () => {
    // Old code: new URL('//', base) threw outside any try, ending the process.
    for (const target of ['//', '//evil.example/api/labs', '///api/labs', `http://evil.example/api/labs`, '*']) {
      const answer = await rawRequest(ws.server.port, raw(`GET ${target} HTTP/1.1`));
      expect(answer.status, target).toBeGreaterThanOrEqual(200);
      expect(answer.status, target).toBeLessThan(500);
    }
    await expectAlive();
  });

  it('survives cookies with a bare % (any page on another 127.0.0.1 port can set them)', async () => {
    // decodeURIComponent('%') throws; the old cookie parser ran it on every request.
    const junkOnly = await rawRequest(ws.server.port, raw('GET /api/labs HTTP/1.1', { Cookie: 'x=%' }));
    expect(junkOnly.status).toBe(401);
    const junkAndToken = await rawRequest(ws.server.port, raw('GET /api/labs HTTP/1.1', { Cookie: `x=%; y=%zz; ${cookie}=%`, Authorization: `Bearer ${ws.server.token}` }));
    expect(junkAndToken.status).toBe(200);
    const upgrade = await rawRequest(
      ws.server.port,
      raw(`GET /api/labs/${LAB}/events HTTP/1.1`, { Cookie: 'x=%', Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }),
    );
    expect(upgrade.status).toBe(401);
    await expectAlive();
  });

  it('survives upgrade requests whose connection is reset before the answer', async () => {
    const upgrade = (path: string, extra: Record<string, string>) =>
      `${[`GET ${path} HTTP/1.1`, `Host: ${host}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`)].join('\r\n')}\r\n\r\n`;
    for (let i = 0; i < 30; i++) {
      for (const request of [upgrade(`/api/labs/${LAB}/terminal`, { Authorization: `Bearer ${ws.server.token}` }), upgrade(`/api/labs/${LAB}/events`, {}), upgrade('/api/labs/nope/terminal', {})]) {
        await new Promise<void>((resolve) => {
          const socket = connect(ws.server.port, '127.0.0.1', () => {
            socket.write(request, () => {
              // RST instead of FIN: the server's next write or read on this socket fails with ECONNRESET/EPIPE.
              socket.resetAndDestroy();
              resolve();
            });
          });
          socket.on('error', () => resolve());
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expectAlive();
  });

  it('closes a terminal socket that sends a frame over the limit (1009) and keeps serving', async () => {
    const code = await closeCodeAfter(`/api/labs/${LAB}/terminal`, (socket) => socket.send(JSON.stringify({ type: 'input', data: 'x'.repeat(MAX_WS_PAYLOAD + 1024) })));
    expect(code).toBe(1009);
    const events = await closeCodeAfter(`/api/labs/${LAB}/events`, (socket) => socket.send(Buffer.alloc(MAX_WS_PAYLOAD + 1, 0x61)));
    expect(events).toBe(1009);
    await expectAlive();
  });

  it('closes a socket that sends a text frame of invalid UTF-8 (1007) and keeps serving', async () => {
    const code = await closeCodeAfter(`/api/labs/${LAB}/terminal`, (socket) => socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }));
    expect(code).toBe(1007);
    const events = await closeCodeAfter(`/api/labs/${LAB}/events`, (socket) => socket.send(Buffer.from([0xc3, 0x28]), { binary: false }));
    expect(events).toBe(1007);
    await expectAlive();
  });

  it('drops an input message over the input cap and malformed messages; the shell keeps running', async () => {
    const client = new TerminalClient(terminalUrl(ws.server, LAB), { token: ws.server.token });
    await client.opened();
    const pid = ws.server.terminals.find(LAB)?.pid;
    client.type(`echo ${'z'.repeat(TERMINAL_INPUT_MAX + 1)}`);
    client.socket.send('not json');
    client.send({ type: 'resize', cols: -1, rows: 1e9 });
    client.send({ type: 'ack', bytes: -5 });
    const from = client.output.length;
    client.type('echo "cap:$((6*7))"\r');
    await client.waitFor('cap:42', from);
    expect(client.output.slice(from)).not.toContain('zzzz');
    expect(ws.server.terminals.find(LAB)?.pid).toBe(pid);
    await client.close();
  });
});

describe('files stay in the workspace, whatever bytes the path holds', () => {
  it('refuses traversal sent as raw bytes and never writes the sentinel outside', async () => {
    // A sentinel under a temp folder, not /etc/passwd: if the guard failed, this is what would be written.
    const outside = await mkdtemp(join(tmpdir(), 'daemonset-lab-sentinel-'));
    const sentinel = join(outside, 'sentinel.txt');
    const workspace = ws.engine.workspaceDir(LAB);
    const up = workspace.split('/').filter(Boolean).map(() => '..').join('/');
    const targets = [
      `${up}${outside}/sentinel.txt`,
      `${up.replaceAll('..', '%2e%2e')}${outside}/sentinel.txt`,
      encodeURIComponent(`${up}${outside}/sentinel.txt`),
      encodeURIComponent(sentinel),
      `x%2F..%2F..%2F${encodeURIComponent(`${up}${outside}`)}%2Fsentinel.txt`,
      `..%5C..%5C${encodeURIComponent(`${up}${outside}`)}%5Csentinel.txt`,
      'bad%E0%A4%A',
    ];
    for (const target of targets) {
      const answer = await rawRequest(ws.server.port, raw(`PUT /api/labs/${LAB}/files/${target} HTTP/1.1`, { Authorization: `Bearer ${ws.server.token}` }, 'owned'));
      expect(answer.status, target).toBeGreaterThanOrEqual(400);
      expect(answer.status, target).toBeLessThan(500);
      const read = await rawRequest(ws.server.port, raw(`GET /api/labs/${LAB}/files/${target} HTTP/1.1`, { Authorization: `Bearer ${ws.server.token}` }));
      expect(read.status, target).toBeGreaterThanOrEqual(400);
      expect(read.status, target).toBeLessThan(500);
    }
    expect(existsSync(sentinel)).toBe(false);
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses a path naming the workspace itself and leaves nothing in its parent', async () => {
    const parent = dirname(ws.engine.workspaceDir(LAB));
    const before = await readdir(parent);
    for (const target of ['.%2F', '.', '%2F', '.%2F.%2F']) {
      const answer = await rawRequest(ws.server.port, raw(`PUT /api/labs/${LAB}/files/${target} HTTP/1.1`, { Authorization: `Bearer ${ws.server.token}` }, 'x'));
      expect(answer.status, target).toBeGreaterThanOrEqual(400);
      expect(answer.status, target).toBeLessThan(500);
    }
    expect(await readdir(parent)).toEqual(before);
  });
});

describe('sizes are bounded however the body is sent', () => {
  const file = () => join(ws.engine.workspaceDir(LAB), 'nginx-daemonset.yaml');

  it('refuses a chunked body over the limit (no Content-Length) and changes nothing', async () => {
    const before = await readFile(file(), 'utf8');
    const piece = 'x'.repeat(64 * 1024);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    const head = [`PUT /api/labs/${LAB}/files/nginx-daemonset.yaml HTTP/1.1`, `Host: ${host}`, 'Connection: close', `Authorization: Bearer ${ws.server.token}`, 'Transfer-Encoding: chunked'].join('\r\n');
    // 17 × 64 KiB: just over the 1 MiB limit, so the refusal comes at the end of what was sent.
    const answer = await rawRequest(ws.server.port, `${head}\r\n\r\n${chunk.repeat(17)}0\r\n\r\n`);
    expect(answer.status).toBe(413);
    expect(answer.body).toContain('larger than');
    expect(await readFile(file(), 'utf8')).toBe(before);
  });

  it('refuses a file over 512 KiB (under the body limit) and an Apply of editor text over it', async () => {
    const before = await readFile(file(), 'utf8');
    const big = `# ${'y'.repeat(MAX_FILE_BYTES)}\n`;
    const save = await fetch(`${ws.server.origin}/api/labs/${LAB}/files/nginx-daemonset.yaml`, { method: 'PUT', headers: auth, body: big });
    expect(save.status).toBe(413);
    expect(((await save.json()) as { error: string }).error).toContain(`limited to ${MAX_FILE_BYTES} bytes`);
    expect(await readFile(file(), 'utf8')).toBe(before);
    const apply = await fetch(`${ws.server.origin}/api/labs/${LAB}/apply`, { method: 'POST', headers: auth, body: JSON.stringify({ path: 'big.yaml', content: big }) });
    expect(apply.status).toBe(413);
  });

  it('answers a YAML alias bomb with a YAML error, not a 500', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`), 'kind: ConfigMap'].join('\n');
    const apply = await fetch(`${ws.server.origin}/api/labs/${LAB}/apply`, { method: 'POST', headers: auth, body: JSON.stringify({ path: 'bomb.yaml', content: bomb }) });
    expect(apply.status).toBe(200);
    const result = (await apply.json()) as ApplyResponse;
    expect(result.ok).toBe(false);
    expect(result.results[0]?.message).toMatch(/YAML error/);
    await expectAlive();
  });
});

describe('who may call the API', () => {
  /** Every route that changes something, with a body where it takes one. */
  const stateChanging: Array<{ method: string; path: string; body?: string }> = [
    { method: 'POST', path: '/api/cluster/up' },
    { method: 'POST', path: `/api/labs/${LAB}/start` },
    { method: 'POST', path: `/api/labs/${LAB}/check` },
    { method: 'POST', path: `/api/labs/${LAB}/solve` },
    { method: 'POST', path: `/api/labs/${LAB}/reset` },
    { method: 'PUT', path: `/api/labs/${LAB}/files/origin-attack.yaml`, body: 'owned' },
    { method: 'POST', path: `/api/labs/${LAB}/apply`, body: JSON.stringify({ path: 'x.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: origin-attack\n' }) },
  ];

  it('refuses every state-changing route from a foreign Origin, Origin: null or another port, and a cookie with or without Origin', async () => {
    const progressBefore = JSON.stringify(ws.engine.progress().labs);
    const shellBefore = ws.server.terminals.find(LAB)?.pid;
    for (const route of stateChanging) {
      const name = `${route.method} ${route.path}`;
      for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${ws.server.port + 1}`, `http://localhost:${ws.server.port + 1}`]) {
        const answer = await rawRequest(ws.server.port, raw(`${route.method} ${route.path} HTTP/1.1`, { Authorization: `Bearer ${ws.server.token}`, Origin: origin }, route.body ?? ''));
        expect(answer.status, `${name} with Origin ${origin}`).toBe(403);
      }
      // What a page elsewhere can make a browser send: ambient cookies, never our token header.
      for (const origin of [undefined, ws.server.origin]) {
        const headers: Record<string, string> = { Cookie: cookie, ...(origin ? { Origin: origin } : {}) };
        const answer = await rawRequest(ws.server.port, raw(`${route.method} ${route.path} HTTP/1.1`, headers, route.body ?? ''));
        expect(answer.status, `${name} with the token cookie and Origin ${origin}`).toBe(401);
      }
    }
    expect(existsSync(join(ws.engine.workspaceDir(LAB), 'origin-attack.yaml'))).toBe(false);
    expect(JSON.stringify(ws.engine.progress().labs)).toBe(progressBefore);
    expect(ws.server.terminals.find(LAB)?.pid).toBe(shellBefore);
  });

  it("opens the lab sockets with the page's subprotocol token only from the page's own Origin, never without one", async () => {
    const open = (origin: string | undefined) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(terminalUrl(ws.server, LAB), [WS_PROTOCOL, `token.${ws.server.token}`], origin ? { origin } : {});
        socket.on('error', () => undefined);
        socket.once('open', () => {
          expect(socket.protocol).toBe(WS_PROTOCOL);
          socket.close();
          resolve(101);
        });
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      });
    expect(await open(undefined)).toBe(403);
    expect(await open('null')).toBe(403);
    expect(await open('http://evil.example')).toBe(403);
    expect(await open(ws.server.origin)).toBe(101);
  });

  it("accepts the page's own Origin with the token header, and a script's Bearer header without an Origin", async () => {
    const page = await rawRequest(ws.server.port, raw(`PUT /api/labs/${LAB}/files/origin-ok.yaml HTTP/1.1`, { Authorization: `Bearer ${ws.server.token}`, Origin: ws.server.origin }, 'a: 1\n'));
    expect(page.status).toBe(200);
    const script = await rawRequest(ws.server.port, raw(`POST /api/labs/${LAB}/check HTTP/1.1`, { Authorization: `Bearer ${ws.server.token}` }));
    expect(script.status).toBe(200);
  });

  it('refuses ?token= on API calls (it belongs only on the start URL and scripted WebSockets)', async () => {
    const answer = await rawRequest(ws.server.port, raw(`GET /api/labs?token=${ws.server.token} HTTP/1.1`));
    expect(answer.status).toBe(401);
    expect(answer.body).toContain('Authorization');
    const post = await rawRequest(ws.server.port, raw(`POST /api/labs/${LAB}/check?token=${ws.server.token} HTTP/1.1`));
    expect(post.status).toBe(401);
    // A WebSocket from a script may carry it.
    const client = new TerminalClient(`${terminalUrl(ws.server, LAB)}?token=${ws.server.token}`);
    await client.opened();
    await client.close();
  });

  it('answers only to its own host names (DNS rebinding), for API calls and WebSockets', async () => {
    const answer = await rawRequest(ws.server.port, raw('GET /api/labs HTTP/1.1', { Authorization: `Bearer ${ws.server.token}` }).replace(`Host: ${host}`, `Host: rebind.evil.example:${ws.server.port}`));
    expect(answer.status).toBe(421);
    const rebound = new WebSocket(terminalUrl(ws.server, LAB), { headers: { ...auth, host: `rebind.evil.example:${ws.server.port}` } });
    const status = await new Promise<number>((resolve) => rebound.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)));
    expect(status).toBe(421);
  });

  it('forbids framing on pages and API answers', async () => {
    for (const path of [`/labs/${LAB}/`, '/api/labs']) {
      const response = await fetch(`${ws.server.origin}${path}`, { headers: auth });
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
    }
  });

  it(`holds at most ${MAX_EVENT_SOCKETS} event sockets and refuses more with 503`, async () => {
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < MAX_EVENT_SOCKETS; i++) {
        const socket = new WebSocket(`${ws.server.origin.replace(/^http/, 'ws')}/api/labs/${LAB}/events`, { headers: auth });
        await new Promise((resolve, reject) => {
          socket.once('open', resolve);
          socket.once('unexpected-response', (_r, response) => reject(new Error(`HTTP ${response.statusCode} for socket ${i + 1}`)));
        });
        sockets.push(socket);
      }
      const extra = new WebSocket(`${ws.server.origin.replace(/^http/, 'ws')}/api/labs/${LAB}/events`, { headers: auth });
      const status = await new Promise<number>((resolve) => extra.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)));
      expect(status).toBe(503);
    } finally {
      await Promise.all(sockets.map((s) => new Promise((resolve) => (s.once('close', resolve), s.close()))));
    }
  });
});

describe('cluster-changing actions', () => {
  it('run one at a time, in order, however many arrive at once', async () => {
    const timeline: string[] = [];
    const real = ws.engine;
    const report = await real.check(LAB);
    const recorded = (name: string) => async (id: string): Promise<LabReport> => {
      timeline.push(`${name}:begin`);
      // Long enough that overlapping calls would interleave.
      await new Promise((resolve) => setTimeout(resolve, 150));
      timeline.push(`${name}:end`);
      return { ...report, labId: id };
    };
    const server = await startWorkspaceServer({
      engine: { ...real, start: recorded('start'), solve: recorded('solve'), reset: recorded('reset') },
      provider: ws.provider,
      distDir: join(REPO_ROOT, 'dist'),
      stateDir: await mkdtemp(join(tmpdir(), 'daemonset-lab-serial-')),
      port: 0,
    });
    try {
      const call = (action: string) => fetch(`${server.origin}/api/labs/${LAB}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${server.token}` } }).then((r) => r.status);
      expect(await Promise.all(['reset', 'solve', 'reset', 'solve'].map(call))).toEqual([200, 200, 200, 200]);
      for (let i = 0; i < timeline.length; i += 2) {
        expect(timeline[i]!.endsWith(':begin') && timeline[i + 1] === timeline[i]!.replace(':begin', ':end'), timeline.join(' ')).toBe(true);
      }
      expect(timeline).toHaveLength(8);
    } finally {
      await server.close();
    }
  });
});

describe('checks', () => {
  it('run at most one at a time per lab however many requests ask at once, and every caller gets a report', async () => {
    const real = ws.engine;
    let running = 0;
    let most = 0;
    let calls = 0;
    const server = await startWorkspaceServer({
      engine: {
        ...real,
        check: async (id: string) => {
          calls += 1;
          running += 1;
          most = Math.max(most, running);
          try {
            return await real.check(id);
          } finally {
            running -= 1;
          }
        },
      },
      provider: ws.provider,
      distDir: join(REPO_ROOT, 'dist'),
      stateDir: await mkdtemp(join(tmpdir(), 'daemonset-lab-checks-')),
      port: 0,
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => fetch(`${server.origin}/api/labs/${LAB}/check`, { method: 'POST', headers: { authorization: `Bearer ${server.token}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as LabReport }))),
      );
      expect(answers.every((a) => a.status === 200 && a.body.labId === LAB)).toBe(true);
      expect(most).toBe(1);
      expect(calls).toBeLessThanOrEqual(3);
    } finally {
      await server.close();
    }
  });
});

describe('reset and solve never follow a link out of the workspace', () => {
  it('moves a learner\'s symlink into .backup as a link, never the files it points at, and never writes through one', async () => {
    const workspace = ws.engine.workspaceDir(LAB);
    // What `ln -s ~/.ssh ssh` in the lab shell makes: a link to a folder of precious files.
    const home = await mkdtemp(join(tmpdir(), 'daemonset-lab-fake-home-'));
    await mkdir(join(home, '.ssh'));
    await writeFile(join(home, '.ssh', 'id_ed25519'), 'PRIVATE KEY');
    await writeFile(join(home, 'notes.yaml'), 'mine: true\n');
    await symlink(join(home, '.ssh'), join(workspace, 'ssh'));
    // A start file replaced by a link to a file elsewhere, and solution/ pointing elsewhere.
    await rm(join(workspace, 'nginx-daemonset.yaml'));
    await symlink(join(home, 'notes.yaml'), join(workspace, 'nginx-daemonset.yaml'));
    await rm(join(workspace, 'solution'), { recursive: true, force: true });
    await symlink(home, join(workspace, 'solution'));

    const reset = await fetch(`${ws.server.origin}/api/labs/${LAB}/reset`, { method: 'POST', headers: auth });
    expect(reset.status).toBe(200);
    // Nothing outside moved or changed.
    expect(await readFile(join(home, '.ssh', 'id_ed25519'), 'utf8')).toBe('PRIVATE KEY');
    expect(await readFile(join(home, 'notes.yaml'), 'utf8')).toBe('mine: true\n');
    // The links themselves went to the backup; the start file is a real file again.
    const backups = await readdir(join(workspace, '.backup'));
    const latest = join(workspace, '.backup', backups.sort().at(-1)!);
    expect((await lstat(join(latest, 'ssh'))).isSymbolicLink()).toBe(true);
    expect((await lstat(join(workspace, 'nginx-daemonset.yaml'))).isFile()).toBe(true);
    expect(existsSync(join(workspace, 'ssh'))).toBe(false);

    // solve writes solution/ files: through a link to the fake home, it must refuse, not write there.
    await rm(join(workspace, 'solution'), { recursive: true, force: true });
    await symlink(home, join(workspace, 'solution'));
    const before = (await readdir(home)).sort();
    const solve = await fetch(`${ws.server.origin}/api/labs/${LAB}/solve`, { method: 'POST', headers: auth });
    expect(solve.status).toBe(400);
    expect(((await solve.json()) as { error: string }).error).toContain('solution in the lab workspace');
    expect((await readdir(home)).sort()).toEqual(before);
    await rm(join(workspace, 'solution'));
  });
});
