/**
 * Who may use the workspace server: whoever holds the random token printed in the start URL.
 * The server runs a shell, so every API call and WebSocket needs it; requests from a browser must
 * also come from a page of this server (its Origin), and name this server in their Host header
 * (a DNS-rebinding page names its own host).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { networkInterfaces, hostname } from 'node:os';
import { tokenCookieName } from '../../shared/workspace-protocol.ts';

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

/**
 * Parses a Cookie header into name → value. Any page on any port of this host can set cookies we
 * receive, so a value that is not valid percent-encoding is kept as sent, never an exception.
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index <= 0) continue;
    const raw = part.slice(index + 1).trim();
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // Not percent-encoding (a bare %): the raw text, which matches no token.
    }
    cookies.set(part.slice(0, index).trim(), value);
  }
  return cookies;
}

/** How a request proved it holds the token, which decides whether it must also carry an Origin. */
export type TokenSource = 'header' | 'cookie' | 'query';

/**
 * The token a request carries and where it came from: the Authorization header (scripts), the
 * cookie (pages), or `?token=` — the last only where `allowQuery` (WebSockets opened by scripts),
 * never on API calls, where it would end up in logs and history.
 */
export function requestToken(request: IncomingMessage, url: URL, port: number, allowQuery: boolean): { token: string; source: TokenSource } | undefined {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return { token: auth.slice('Bearer '.length).trim(), source: 'header' };
  const cookie = parseCookies(request.headers.cookie).get(tokenCookieName(port));
  if (cookie) return { token: cookie, source: 'cookie' };
  const query = url.searchParams.get('token');
  return allowQuery && query ? { token: query, source: 'query' } : undefined;
}

/** The Set-Cookie value that keeps the token for later requests and links. */
export function tokenCookie(token: string, port: number): string {
  // HttpOnly: page scripts never need to read it. SameSite=Strict: other sites cannot make the
  // browser send it with their requests.
  return `${tokenCookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}

/**
 * Whether a request's Origin is one of this server's own origins. A browser sends Origin with
 * every WebSocket and every POST/PUT, so a request that lacks one is a script's: allowed only
 * when it also proved the token with a header (a script), not a cookie the browser attached.
 * `Origin: null` (sandboxed frames, file: pages, some redirects) is never ours.
 */
export function originAllowed(origin: string | undefined, allowed: ReadonlySet<string>, source: TokenSource): boolean {
  if (origin === undefined) return source !== 'cookie';
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
