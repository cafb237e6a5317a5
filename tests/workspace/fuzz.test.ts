/**
 * A bounded fuzz pass against a running workspace server on 127.0.0.1: random request lines,
 * paths, headers, cookies and bodies over raw sockets, then random WebSocket frames on the
 * terminal and events sockets. Seeded, so a failure can be replayed (the seed is in the test name).
 * Afterwards the server must still answer and the lab shell must still echo.
 *
 * The fuzzer never sends this server's own Origin, so with a Bearer token it cannot
 * start, reset or solve anything: it probes the parsing and the guards, not the cluster.
 */
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, expect, inject, it } from 'vitest';
import { rawRequest, recordUncaughtErrors, serverAnswers, shellEchoes, startTestWorkspace, type TestWorkspace } from './support.ts';

const LAB = 'first-daemonset';
const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const HTTP_REQUESTS = 400;
const SOCKET_SESSIONS = 40;
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
  const started = await fetch(`${ws.server.origin}/api/labs/${LAB}/start`, { method: 'POST', headers: { authorization: `Bearer ${ws.server.token}` } });
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

/** mulberry32: a small seeded generator, so every run sends the same requests. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => int(256)));
  return { next, int, pick, bytes };
}

const random = generator(SEED);

const SEGMENTS = ['api', 'labs', LAB, 'tolerations', 'nope', 'files', 'start', 'check', 'solution', 'terminal', 'events', 'schema', 'cluster', '..', '.', '%2e%2e', '%2f', '%5c', '%00', '%', '%zz', '%E0%A4%A', '~', '*', '', 'a'.repeat(300), '_astro', 'index.html', '%C0%AE%C0%AE'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'BREW', 'get', ''];
const ORIGINS = ['null', 'http://evil.example', 'http://127.0.0.1:1', 'file://', '', '%', 'http://localhost', 'javascript:alert(1)'];

function randomPath(): string {
  const count = random.int(7);
  const path = `/${Array.from({ length: count }, () => random.pick(SEGMENTS)).join('/')}`;
  const query = random.next() < 0.3 ? `?${random.pick(['token=', 'token=x', `token=${ws.server.token}`, 'a=%', '%%%', 'x'.repeat(100)])}` : '';
  return random.pick([path + query, `/${random.bytes(random.int(20)).toString('latin1')}`, '//', `//${random.pick(SEGMENTS)}`, '*', 'http://evil.example/']);
}

function randomHeaders(): string[] {
  const headers: string[] = [];
  const credential = random.int(4);
  if (credential === 1) headers.push(`Cookie: ${random.pick(['x=%', '=', ';;;', 'a=%E0%A4%A'])}; daemonset-lab-token-${ws.server.port}=${ws.server.token}`);
  if (credential === 2) headers.push(`Authorization: Bearer ${ws.server.token}`);
  if (credential === 3) headers.push(`Authorization: ${random.pick(['Bearer', 'Bearer ', 'Basic Og==', `Bearer ${ws.server.token}x`, 'x'.repeat(2000)])}`);
  // Never our own Origin, and never none alongside the Bearer token: nothing may change state.
  if (credential === 2 || random.next() < 0.7) headers.push(`Origin: ${random.pick(ORIGINS)}`);
  if (random.next() < 0.3) headers.push(`Cookie: ${random.pick(['%', 'a=%', 'a=' + '%'.repeat(100), `daemonset-lab-token-${ws.server.port}=%`])}`);
  if (random.next() < 0.2) headers.push(`Host: ${random.pick(['evil.example', '', '127.0.0.1:1', '[::1]', '%'])}`);
  if (random.next() < 0.2) headers.push(`Content-Length: ${random.pick(['-1', '99999999999', 'abc', '0', '5'])}`);
  if (random.next() < 0.2) headers.push(`Transfer-Encoding: ${random.pick(['chunked', 'gzip', 'chunked, chunked', 'x'])}`);
  if (random.next() < 0.2) headers.push(`Upgrade: websocket`, 'Connection: Upgrade', `Sec-WebSocket-Version: ${random.pick(['13', '8', 'x'])}`, `Sec-WebSocket-Key: ${random.pick(['dGhlIHNhbXBsZSBub25jZQ==', '', '%'])}`);
  if (random.next() < 0.1) headers.push(`X-Big: ${'b'.repeat(random.int(20_000))}`);
  if (random.next() < 0.1) headers.push(random.bytes(random.int(40)).toString('latin1'));
  return headers;
}

function randomRequest(): Buffer {
  const line = `${random.pick(METHODS)} ${randomPath()} ${random.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/x'])}`;
  const headers = [line, `Host: 127.0.0.1:${ws.server.port}`, 'Connection: close', ...randomHeaders()];
  const body = random.next() < 0.4 ? random.bytes(random.int(4096)) : Buffer.alloc(0);
  return Buffer.concat([Buffer.from(`${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** Any answer or a closed connection is fine; what is not fine is the server going away. */
async function send(request: Buffer): Promise<void> {
  try {
    await rawRequest(ws.server.port, request, 5_000);
  } catch {
    // A malformed request may be dropped without an answer.
  }
}

function randomFrame(): { data: string | Buffer; binary: boolean } {
  switch (random.int(6)) {
    case 0:
      // Input of letters only: the fuzzer must not run commands on this machine.
      return { data: JSON.stringify({ type: 'input', data: Array.from({ length: random.int(200) }, () => random.pick([...'abcdefgh '])).join('') }), binary: false };
    case 1:
      return { data: JSON.stringify({ type: 'resize', cols: random.pick([0, 2, 1000, -1, 1e9, 1.5, 'x']), rows: random.pick([0, 2, 500, -1, null]) }), binary: false };
    case 2:
      return { data: JSON.stringify({ type: 'ack', bytes: random.pick([0, -1, 1e308, Number.MAX_SAFE_INTEGER, 'x', 16_384]) }), binary: false };
    case 3:
      return { data: random.bytes(random.int(2000)), binary: true };
    case 4:
      return { data: random.bytes(random.int(64)), binary: false };
    default:
      return { data: random.pick(['{', 'null', '[]', '{"type":"input"}', '{"type":"input","data":1}', '"x"', '{"__proto__":{"type":"input"}}']), binary: false };
  }
}

async function fuzzSocket(): Promise<void> {
  const path = `/api/labs/${random.pick([LAB, 'tolerations'])}/${random.pick(['terminal', 'events'])}`;
  const socket = new WebSocket(`${ws.server.origin.replace(/^http/, 'ws')}${path}`, { headers: { authorization: `Bearer ${ws.server.token}` } });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    socket.once('open', () => {
      const frames = 1 + random.int(20);
      for (let i = 0; i < frames; i++) {
        const frame = randomFrame();
        socket.send(frame.data, { binary: frame.binary });
      }
      // Clear whatever letters reached the shell's line.
      socket.send(JSON.stringify({ type: 'input', data: '\x15' }));
      setTimeout(() => socket.close(), 50);
    });
    socket.once('close', () => resolve());
    socket.once('unexpected-response', () => resolve());
  });
}

it(`survives ${HTTP_REQUESTS} random requests and ${SOCKET_SESSIONS} sockets of random frames (seed ${SEED}); then still answers and the shell still echoes`, async () => {
  for (let i = 0; i < HTTP_REQUESTS; i++) await send(randomRequest());
  expect(await serverAnswers(ws.server)).toBe(true);
  for (let i = 0; i < SOCKET_SESSIONS; i++) await fuzzSocket();
  expect(await serverAnswers(ws.server)).toBe(true);
  await shellEchoes(ws.server, LAB);
  await shellEchoes(ws.server, 'tolerations');
}, 300_000);
