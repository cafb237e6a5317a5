/**
 * The simulated kubelet's helper writes an event again when the API server refused it: a refused
 * POST (429, as a busy kube-apiserver answers) must not count as written, or the event is lost.
 * The API server is a fixture answering the helper's requests; the helper is the real program.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareAgent } from '../../src/server/cluster/embedded/simulation/simulation.ts';
import { PLAN_ANNOTATION } from '../../src/server/cluster/embedded/simulation/plan-annotation.ts';

const dir = mkdtempSync(join(tmpdir(), 'agent-events-'));
let agent: ChildProcess | undefined;
let api: Server | undefined;

afterAll(() => {
  agent?.kill('SIGKILL');
  api?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A self-signed certificate for 127.0.0.1, used as CA, server and client certificate alike. */
function certificate(): { cert: string; key: string } {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/**
 * A running pod whose readiness probe fails (its plan says so): the helper owes one Unhealthy event,
 * whose count stays 1 (one probe period is longer than the test), so only a retry sends it again.
 */
const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-abcde',
    namespace: 'default',
    uid: 'u-1',
    resourceVersion: '7',
    annotations: { [PLAN_ANNOTATION]: JSON.stringify({ containers: { web: { readinessFailure: 'Readiness probe failed: HTTP probe failed with statuscode: 404' } } }) },
  },
  spec: { nodeName: 'daemonset-lab-worker', containers: [{ name: 'web', image: 'nginx:1.27', readinessProbe: { httpGet: { path: '/missing', port: 80 }, periodSeconds: 100_000_000 } }] },
  status: { phase: 'Running', podIP: '10.244.1.7', containerStatuses: [{ name: 'web', ready: false, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }] },
};

describe('the simulated kubelet helper', () => {
  it('sends an event again after the API server refused it', async () => {
    const { cert, key } = certificate();
    const posts: number[] = [];
    let accepted: () => void = () => {};
    const acceptedPost = new Promise<void>((resolve) => (accepted = resolve));
    api = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (request, response) => {
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      if (request.method === 'GET' && url.searchParams.get('watch') === '1') {
        response.writeHead(200, { 'Content-Type': 'application/json' }); // An open watch with no events.
        return;
      }
      if (request.method === 'GET') {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '7' }, items: [POD] }));
        return;
      }
      request.resume();
      request.on('end', () => {
        if (request.method === 'POST' && url.pathname.endsWith('/events')) {
          const status = posts.length === 0 ? 429 : 201;
          posts.push(status);
          response.writeHead(status, { 'Content-Type': 'application/json' });
          response.end(status === 429 ? '{"kind":"Status","reason":"TooManyRequests","code":429}' : '{}');
          if (status === 201) accepted();
          return;
        }
        response.writeHead(200, { 'Content-Type': 'application/json' }); // The plan patch.
        response.end(JSON.stringify(POD));
      });
    });
    await new Promise<void>((resolve) => api!.listen(0, '127.0.0.1', resolve));
    const port = (api.address() as AddressInfo).port;

    await prepareAgent(dir);
    agent = spawn(process.execPath, [join(dir, 'agent.js'), '--server', `https://127.0.0.1:${port}`, '--ca', cert, '--cert', cert, '--key', key, '--port', '0', '--registry', join(dir, 'registry.json')], {
      stdio: 'ignore',
    });

    await acceptedPost;
    expect(posts.slice(0, 2)).toEqual([429, 201]);
  }, 60_000);
});
