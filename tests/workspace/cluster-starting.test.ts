/**
 * A server that listens while its cluster is still starting (`npm start`, the learner image):
 * pages are served at once, API requests and the lab shell wait for the cluster and then work,
 * and a cluster that fails to start is named in a 503. The cluster's start is a promise the test
 * settles; the cluster itself is the workspace project's real one.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startWorkspaceServer, type WorkspaceServer } from '../../src/server/web/server.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { EnvironmentError } from '../../src/server/errors.ts';
import { startTestWorkspace, TerminalClient, terminalUrl, type TestWorkspace } from './support.ts';

const LAB = 'first-daemonset';
let ws: TestWorkspace;
beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
});
afterAll(() => ws?.close());

/** A server on the real cluster whose start is the promise this returns the settlers of. */
async function serverWhileStarting(): Promise<{ server: WorkspaceServer; up: () => void; failed: (error: Error) => void }> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const server = await startWorkspaceServer({
    engine: ws.engine,
    provider: ws.provider,
    distDir: join(REPO_ROOT, 'dist'),
    stateDir: await mkdtemp(join(tmpdir(), 'daemonset-lab-starting-')),
    port: 0,
    clusterReady: promise,
  });
  return { server, up: () => resolve(), failed: reject };
}

describe('a server whose cluster is still starting', () => {
  it('serves the lab page at once, and answers the API and opens the shell once the cluster is up', async () => {
    const { server, up } = await serverWhileStarting();
    try {
      const page = await fetch(`${server.origin}/labs/${LAB}/`);
      expect(page.status).toBe(200);
      const order: string[] = [];
      const summary = fetch(`${server.origin}/api/labs/${LAB}`, { headers: { authorization: `Bearer ${server.token}` } }).then((r) => {
        order.push('answered');
        return r;
      });
      const shell = new TerminalClient(terminalUrl(server, LAB), { token: server.token, origin: server.origin });
      const opened = new Promise<void>((resolve) => shell.socket.once('open', () => {
        order.push('shell open');
        resolve();
      }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      order.push('cluster up');
      up();
      expect((await summary).status).toBe(200);
      await opened;
      // Nothing answered before the cluster was up, however slow the machine.
      expect(order[0]).toBe('cluster up');
      shell.socket.close();
    } finally {
      await server.close();
    }
  });

  it('answers 503 naming why when the cluster did not start, and keeps serving pages', async () => {
    const { server, failed } = await serverWhileStarting();
    try {
      failed(new EnvironmentError('kube-apiserver exited: port 16443 is in use', 'npm run cluster -- down'));
      const answer = await fetch(`${server.origin}/api/labs/${LAB}/check`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, origin: server.origin } });
      expect(answer.status).toBe(503);
      expect(JSON.stringify(await answer.json())).toContain('The lab cluster did not start: kube-apiserver exited: port 16443 is in use');
      expect((await fetch(`${server.origin}/labs/${LAB}/`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('still asks for the token before it waits: a request without one is refused at once', async () => {
    const { server } = await serverWhileStarting();
    try {
      expect((await fetch(`${server.origin}/api/labs/${LAB}`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
