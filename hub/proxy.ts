/**
 * One proxy for a learner's lab, HTTP and WebSocket, at /s/<learner>/…: the browser holds only the
 * hub's cookie; the proxy drops it and gives the pod its own workspace token, so a learner pod
 * trusts nothing but the hub. Instructors may open a learner's lab read-only: GET only, and the
 * live-checks socket but never the terminal.
 *
 * What passes through is also what the hub keeps: saved files, the lab opened, the files applied
 * (see {@link LabExchange}), so a re-created pod gets them back.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { Duplex } from 'node:stream';

/** Where and how to reach one learner's workspace server. */
export interface Upstream {
  readonly learnerId: string;
  /** http://<pod IP>:4321 */
  readonly origin: string;
  readonly token: string;
  readonly readOnly: boolean;
}

/** A successful request the hub may want to remember (only for the learner's own, writable view). */
export interface LabExchange {
  readonly learnerId: string;
  readonly method: string;
  readonly path: string;
  readonly requestBody: Buffer;
  readonly status: number;
}

/** Largest request body the proxy keeps a copy of (the workspace server's own limit). */
const MAX_OBSERVED_BODY = 1024 * 1024;
/** Largest HTML page rewritten; anything bigger passes unchanged. */
const MAX_REWRITTEN_HTML = 4 * 1024 * 1024;

/**
 * How a page the pod compressed is read back before it is rewritten, never to more than
 * MAX_REWRITTEN_HTML: a learner has a shell in their pod and could put a server of their own on
 * its port, so a small body that inflates to gigabytes must not take the hub's memory.
 */
const DECODERS = new Map<string, (body: Buffer) => Buffer>([
  ['identity', (body) => body],
  ['gzip', (body) => gunzipSync(body, { maxOutputLength: MAX_REWRITTEN_HTML })],
  ['deflate', (body) => inflateSync(body, { maxOutputLength: MAX_REWRITTEN_HTML })],
  ['br', (body) => brotliDecompressSync(body, { maxOutputLength: MAX_REWRITTEN_HTML })],
]);

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Paths an instructor's read-only view may open as a WebSocket: live checks, never a shell. */
const READ_ONLY_SOCKET = /^\/api\/labs\/[a-z0-9-]+\/events$/;

/** The headers sent to the pod: no hub cookie, the pod's token, and the pod's own origin. */
export function upstreamHeaders(headers: IncomingHttpHeaders, upstream: Upstream, keepUpgrade: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'cookie' || name === 'authorization' || name === 'host' || name === 'origin') continue;
    if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === 'upgrade' || name === 'connection'))) continue;
    out[name] = value;
  }
  const url = new URL(upstream.origin);
  out.host = url.host;
  out.authorization = `Bearer ${upstream.token}`;
  // The hub checked the browser's Origin; the pod sees its own, which it allows.
  if (headers.origin !== undefined) out.origin = upstream.origin;
  // The browser's Accept-Encoding goes through: the lab page's scripts (4.4 MB) come gzipped from
  // the pod (a quarter of the bytes). An HTML page is decompressed here to be rewritten.
  return out;
}

/**
 * Points a lab page's absolute links at the learner's prefix and loads the bridge (which does the
 * same for the page's fetch and WebSocket calls, and sends the heartbeats).
 */
export function rewriteHtml(html: string, prefix: string, bridgeSrc: string): string {
  const rewritten = html.replace(/(\s(?:href|src|action|content)=["'])\/(?![/])/g, `$1${prefix}/`);
  const bridge = `<script src="${bridgeSrc}" data-prefix="${prefix}"></script>`;
  return /<head[^>]*>/i.test(rewritten) ? rewritten.replace(/<head[^>]*>/i, (tag) => `${tag}${bridge}`) : bridge + rewritten;
}

/** Proxies one HTTP request to the pod. */
export function proxyHttp(
  request: IncomingMessage,
  response: ServerResponse,
  upstream: Upstream,
  path: string,
  options: { prefix: string; bridgeSrc: string; observe: (exchange: LabExchange) => void },
): void {
  const method = request.method ?? 'GET';
  if (upstream.readOnly && method !== 'GET' && method !== 'HEAD') {
    response.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'This is a read-only view of a learner\'s lab', fix: 'Only the learner can change their lab.' }));
    request.resume();
    return;
  }
  const body: Buffer[] = [];
  let bodySize = 0;
  const outgoing = httpRequest(`${upstream.origin}${path}`, { method, headers: upstreamHeaders(request.headers, upstream, false) }, (answer) => {
    const status = answer.statusCode ?? 502;
    const headers = { ...answer.headers };
    delete headers['set-cookie'];
    for (const name of HOP_BY_HOP) delete headers[name];
    const encoding = String(headers['content-encoding'] ?? 'identity');
    const html = method === 'GET' && (headers['content-type'] ?? '').startsWith('text/html') && Number(headers['content-length'] ?? 0) <= MAX_REWRITTEN_HTML && DECODERS.has(encoding);
    if (!html) {
      response.writeHead(status, headers);
      answer.pipe(response);
    } else {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        let page: Buffer;
        try {
          page = Buffer.from(rewriteHtml(DECODERS.get(encoding)!(Buffer.concat(chunks)).toString('utf8'), options.prefix, options.bridgeSrc));
        } catch {
          return void response.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `The lab pod sent a page that is not valid ${encoding} or is larger than ${MAX_REWRITTEN_HTML} bytes`, fix: 'Reload; if it persists, the pod is broken: tell your instructor.' }));
        }
        delete headers['content-encoding'];
        response.writeHead(status, { ...headers, 'content-length': String(page.length) }).end(page);
      });
    }
    answer.on('end', () => {
      if (!upstream.readOnly && status >= 200 && status < 300 && method !== 'GET' && bodySize <= MAX_OBSERVED_BODY) {
        options.observe({ learnerId: upstream.learnerId, method, path, requestBody: Buffer.concat(body), status });
      }
    });
  });
  outgoing.on('error', (error) => {
    if (response.headersSent) return void response.destroy();
    response.writeHead(502, { 'content-type': 'application/json' }).end(
      JSON.stringify({ error: `The lab pod does not answer (${(error as NodeJS.ErrnoException).code ?? error.message})`, fix: 'Reload in a few seconds; the hub re-creates a pod that went away.' }),
    );
  });
  request.on('data', (chunk: Buffer) => {
    bodySize += chunk.length;
    if (bodySize <= MAX_OBSERVED_BODY) body.push(chunk);
  });
  request.pipe(outgoing);
}

/** Answers a WebSocket upgrade with an HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message) + 1}\r\n\r\n${message}\n`);
}

/** Proxies a WebSocket upgrade to the pod, byte for byte once the handshake is sent. */
export function proxyUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream, path: string): void {
  if (upstream.readOnly && !READ_ONLY_SOCKET.test(path.split('?')[0] ?? '')) {
    return refuseUpgrade(socket, 403, 'Forbidden: a read-only view opens no terminal');
  }
  const url = new URL(upstream.origin);
  const pod = connect({ host: url.hostname, port: Number(url.port || 80) });
  const headers = upstreamHeaders(request.headers, upstream, true);
  pod.once('connect', () => {
    const lines = [`GET ${path} HTTP/1.1`];
    for (const [name, value] of Object.entries(headers)) for (const v of [value].flat()) lines.push(`${name}: ${v}`);
    pod.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) pod.write(head);
    pod.pipe(socket);
    socket.pipe(pod);
  });
  pod.once('error', (error: NodeJS.ErrnoException) => {
    if (!socket.destroyed && pod.bytesRead === 0) refuseUpgrade(socket, 502, `Bad Gateway: the lab pod does not answer (${error.code ?? error.message})`);
    else socket.destroy();
  });
  socket.once('error', () => pod.destroy());
  socket.once('close', () => pod.destroy());
  pod.once('close', () => socket.destroy());
}
