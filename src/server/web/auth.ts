/**
 * Who may use the workspace server: whoever holds the random token printed in the start URL.
 * The server runs a shell, so every API call and WebSocket needs it, and WebSockets must also
 * come from a page of this server (browsers send cookies with cross-site WebSockets, so the
 * cookie alone would not stop another site's page from opening the shell).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
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

/** Parses a Cookie header into name → value. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) cookies.set(part.slice(0, index).trim(), decodeURIComponent(part.slice(index + 1).trim()));
  }
  return cookies;
}

/** The token a request carries: Authorization header, the cookie, or (for WebSockets from scripts) `?token=`. */
export function requestToken(request: IncomingMessage, url: URL, port: number): string | undefined {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return parseCookies(request.headers.cookie).get(tokenCookieName(port)) ?? url.searchParams.get('token') ?? undefined;
}

/** The Set-Cookie value that keeps the token for later requests and links. */
export function tokenCookie(token: string, port: number): string {
  // HttpOnly: page scripts never need to read it. SameSite=Strict: other sites cannot make the
  // browser send it with their requests.
  return `${tokenCookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}

/**
 * Whether a WebSocket's Origin is one of this server's own origins. A missing Origin (a script,
 * not a browser) is allowed: such a client still needs the token.
 */
export function originAllowed(origin: string | undefined, allowed: ReadonlySet<string>): boolean {
  return origin === undefined || allowed.has(origin);
}

/** The origins a page of this server has when served on host:port. */
export function ownOrigins(host: string, port: number): Set<string> {
  const names = new Set([host, '127.0.0.1', 'localhost', '[::1]']);
  if (host === '0.0.0.0' || host === '::') names.delete(host);
  return new Set([...names].map((name) => `http://${name.includes(':') && !name.startsWith('[') ? `[${name}]` : name}:${port}`));
}
