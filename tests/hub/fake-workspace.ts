/**
 * A stand-in for the learner pod's workspace server in the hub tests (pods under kwok do not run):
 * it records what reaches it and answers like the real one for the calls the hub makes or proxies
 * (pages, files, start/apply, the live-events and terminal WebSockets). The real server behind the
 * hub is the kind end-to-end test's job.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LabReport } from '../../src/shared/lab-results.ts';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export const LAB_PAGE = '<!doctype html><html><head><link rel="stylesheet" href="/_astro/page.css"></head><body data-lab-id="first-daemonset"><a href="/labs/tolerations/">next</a><script type="module" src="/_astro/lab.js"></script></body></html>';

/** The lab page's script, as large as a real one's start, for the compression test. */
export const LAB_SCRIPT = `console.log(${JSON.stringify('x'.repeat(64))});\n`.repeat(4096);

/** A report as the workspace server pushes it. */
export function report(labId: string, passed: boolean): LabReport {
  return {
    labId,
    checkedAt: new Date().toISOString(),
    durationMs: 12,
    passed,
    steps: [
      {
        id: 'create',
        title: 'Create the DaemonSet',
        passed,
        checks: [{ id: 'one-pod-per-worker', title: 'One Ready pod on every worker', status: passed ? 'pass' : 'fail', observed: passed ? '3 of 3 workers run a Ready pod' : 'no DaemonSet named node-agent yet' }],
      },
    ],
  };
}

export async function startFakeWorkspace() {
  const seen: SeenRequest[] = [];
  const eventSockets = new Set<WebSocket>();
  /** Requests held unanswered until released: `${method} ${path}` → release. */
  const holds = new Map<string, { released: Promise<void>; release: () => void }>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', async () => {
      const path = request.url ?? '/';
      seen.push({ method: request.method ?? 'GET', path, headers: request.headers, body: Buffer.concat(chunks).toString() });
      await holds.get(`${request.method} ${path}`)?.released;
      // Like the workspace server: text goes gzipped to a client that accepts it.
      const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
      const send = (type: string, body: string | Buffer, extra: Record<string, string> = {}) =>
        gzip
          ? void response.writeHead(200, { 'content-type': type, 'content-encoding': 'gzip', vary: 'Accept-Encoding', ...extra }).end(gzipSync(body))
          : void response.writeHead(200, { 'content-type': type, ...extra }).end(body);
      // A page a learner's own server could send: 8 KB that inflates to 64 MB.
      if (path === '/labs/bomb/') return void response.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(64 * 1024 * 1024)));
      if (path.startsWith('/labs/')) return send('text/html; charset=utf-8', LAB_PAGE, { 'set-cookie': 'pod=1' });
      if (path === '/_astro/lab.js') return send('text/javascript', LAB_SCRIPT);
      if (path.endsWith('/start')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report('first-daemonset', false)));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    seen.push({ method: 'UPGRADE', path: request.url ?? '', headers: request.headers, body: '' });
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (request.url?.endsWith('/events')) {
        eventSockets.add(ws);
        ws.on('close', () => eventSockets.delete(ws));
      } else ws.on('message', (data) => ws.send(`echo:${data.toString()}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    /** Pushes a report to every live-events socket, as the workspace server does after a check. */
    push(labReport: LabReport): number {
      for (const ws of eventSockets) ws.send(JSON.stringify({ type: 'report', report: labReport }));
      return eventSockets.size;
    },
    eventSocketCount: () => eventSockets.size,
    /** Holds every `method path` request unanswered until the returned function is called. */
    hold(method: string, path: string): () => void {
      let release = () => undefined as void;
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.set(`${method} ${path}`, { released, release });
      return () => {
        holds.delete(`${method} ${path}`);
        release();
      };
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
