/**
 * The simulated kubelet's helper under a busy API server: a plan patch that is refused (429, as
 * kube-apiserver answers when its in-flight limit is reached) is sent again, so the pod does not
 * stay Pending for ever. The API server here is a fixture (an HTTPS server answering the helper's
 * three requests); the helper is the real program the embedded engine runs.
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

const dir = mkdtempSync(join(tmpdir(), 'agent-retry-'));
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

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'nginx-daemonset-abcde', namespace: 'default', resourceVersion: '7' },
  spec: { nodeName: 'daemonset-lab-worker', containers: [{ name: 'nginx', image: 'nginx:1.14.2' }] },
  status: { phase: 'Pending' },
};

describe('the simulated kubelet helper', () => {
  it('plans a pod again when the API server refused its first plan patch', async () => {
    const { cert, key } = certificate();
    const patches: { status: number; body: string }[] = [];
    let planned: (body: string) => void = () => {};
    const plannedBody = new Promise<string>((resolve) => (planned = resolve));
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
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const status = patches.length === 0 ? 429 : 200;
        patches.push({ status, body });
        response.writeHead(status, { 'Content-Type': 'application/json' });
        response.end(status === 429 ? '{"kind":"Status","reason":"TooManyRequests","code":429}' : JSON.stringify(POD));
        if (status === 200) planned(body);
      });
    });
    await new Promise<void>((resolve) => api!.listen(0, '127.0.0.1', resolve));
    const port = (api.address() as AddressInfo).port;

    await prepareAgent(dir);
    agent = spawn(process.execPath, [join(dir, 'agent.js'), '--server', `https://127.0.0.1:${port}`, '--ca', cert, '--cert', cert, '--key', key, '--port', '0', '--registry', join(dir, 'registry.json')], {
      stdio: 'ignore',
    });

    const body = JSON.parse(await plannedBody) as { metadata: { annotations: Record<string, string> } };
    expect(patches.map((patch) => patch.status)).toEqual([429, 200]);
    expect(JSON.parse(body.metadata.annotations[PLAN_ANNOTATION]!)).toHaveProperty('spec');
  }, 60_000);
});
