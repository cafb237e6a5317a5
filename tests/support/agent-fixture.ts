/**
 * The real simulated-kubelet helper against a fixture API server: an HTTPS server that lists one
 * pod, holds every watch open with no events, and hands each write to the test, which answers it.
 * For tests of how the helper behaves when the API server refuses a request.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareAgent } from '../../src/server/cluster/embedded/simulation/simulation.ts';

/** A write the helper sent: its method, path and body. */
export interface AgentWrite {
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

/** How the fixture answers a write. */
export interface FixtureAnswer {
  readonly status: number;
  readonly body: string;
}

/** A running helper and its fixture API server; `close` stops both and removes their folder. */
export interface AgentFixture {
  close(): void;
}

/** What a busy kube-apiserver answers when its in-flight limit is reached. */
export const TOO_MANY_REQUESTS: FixtureAnswer = { status: 429, body: '{"kind":"Status","reason":"TooManyRequests","code":429}' };

/** A self-signed certificate for 127.0.0.1, used as CA, server and client certificate alike. */
function certificate(dir: string): { cert: string; key: string } {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** Starts the helper against a fixture API server that lists `pod` and answers writes with `answer`. */
export async function startAgentAgainstFixture(pod: object, answer: (write: AgentWrite) => FixtureAnswer): Promise<AgentFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-fixture-'));
  const { cert, key } = certificate(dir);
  const api: Server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    if (request.method === 'GET' && url.searchParams.get('watch') === '1') {
      response.writeHead(200, { 'Content-Type': 'application/json' }); // An open watch with no events.
      return;
    }
    if (request.method === 'GET') {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '7' }, items: [pod] }));
      return;
    }
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { status, body: answerBody } = answer({ method: request.method ?? '', path: url.pathname, body });
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(answerBody);
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const port = (api.address() as AddressInfo).port;
  await prepareAgent(dir);
  const agent: ChildProcess = spawn(
    process.execPath,
    [join(dir, 'agent.js'), '--server', `https://127.0.0.1:${port}`, '--ca', cert, '--cert', cert, '--key', key, '--port', '0', '--registry', join(dir, 'registry.json')],
    { stdio: 'ignore' },
  );
  return {
    close() {
      agent.kill('SIGKILL');
      api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
