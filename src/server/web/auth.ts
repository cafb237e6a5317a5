/**
 * Who may use the workspace server: whoever holds the random token printed in the start URL.
 * The server runs a shell, so every API call and WebSocket needs it; requests from a browser must
 * also come from a page of this server (its Origin), and name this server in their Host header
 * (a DNS-rebinding page names its own host).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { networkInterfaces, hostname } from 'node:os';
import { TOKEN_STORAGE_KEY, WS_TOKEN_PROTOCOL_PREFIX } from '../../shared/workspace-protocol.ts';

/** A new random start token (URL-safe, 192 bits). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time comparison, so response timing does not leak how much of a guess was right. */
export function tokenMatches(expected: string, given: string | undefined | null): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** How a request proved it holds the token, which decides whether it must also carry an Origin. */
export type TokenSource = 'header' | 'protocol' | 'query';

/**
 * The token a request carries and where it came from: the Authorization header (the page's API
 * calls, scripts), the WebSocket subprotocol `token.<token>` (the page's sockets: browsers cannot
 * set headers on them), or `?token=` — the last only where `allowQuery` (WebSockets opened by
 * scripts), never on API calls, where it would end up in logs and history. Cookies are not read:
 * a cookie of 127.0.0.1 goes to every port, so any local server the learner visits would get it.
 */
export function requestToken(request: IncomingMessage, url: URL, allowQuery: boolean): { token: string; source: TokenSource } | undefined {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return { token: auth.slice('Bearer '.length).trim(), source: 'header' };
  const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const fromProtocol = offered.find((p) => p.startsWith(WS_TOKEN_PROTOCOL_PREFIX));
  if (fromProtocol) return { token: fromProtocol.slice(WS_TOKEN_PROTOCOL_PREFIX.length), source: 'protocol' };
  const query = url.searchParams.get('token');
  return allowQuery && query ? { token: query, source: 'query' } : undefined;
}

/**
 * The page the start URL answers with: it keeps the token in this origin's localStorage and goes
 * on to `next` (the same address without the token), so the token leaves the address bar and
 * reaches no other port.
 */
export function startPage(token: string, next: string): string {
  // JSON inside <script>: escape "<" so no value can close the element.
  const js = (value: string) => JSON.stringify(value).replaceAll('<', '\\u003c');
  return `<!doctype html><meta charset="utf-8"><title>DaemonSet Lab</title><p>Opening DaemonSet Lab…</p><script>localStorage.setItem(${js(TOKEN_STORAGE_KEY)}, ${js(token)}); location.replace(${js(next)});</script>\n`;
}

/**
 * Whether a request's Origin is one of this server's own origins. A browser sends Origin with
 * every WebSocket and every POST/PUT, so a request that lacks one is a script's: allowed only
 * when the token came the way scripts send it (header, `?token=` on a socket), not as the
 * subprotocol only the lab page uses.
 * `Origin: null` (sandboxed frames, file: pages, some redirects) is never ours.
 */
export function originAllowed(origin: string | undefined, allowed: ReadonlySet<string>, source: TokenSource): boolean {
  if (origin === undefined) return source !== 'protocol';
  return allowed.has(origin);
}

/** The origins a page of this server has when served on host:port. */
export function ownOrigins(host: string, port: number): Set<string> {
  return new Set([...hostNames(host)].map((name) => `http://${name}:${port}`));
}

/**
 * The Host header values this server answers to (DNS rebinding: a page of evil.example whose name
 * now points at 127.0.0.1 sends `Host: evil.example:4321`). Loopback names always; when bound to
 * every address (--insecure-lan), this machine's addresses and name too.
 */
export function ownHosts(host: string, port: number): Set<string> {
  return new Set([...hostNames(host)].map((name) => `${name}:${port}`));
}

function hostNames(host: string): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  const bracket = (name: string) => (name.includes(':') && !name.startsWith('[') ? `[${name}]` : name);
  if (host === '0.0.0.0' || host === '::') {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) for (const address of addresses ?? []) names.add(bracket(address.address));
  } else {
    names.add(bracket(host.toLowerCase()));
  }
  return names;
}
