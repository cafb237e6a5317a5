/**
 * The lab page's calls to the workspace server. The start URL put the token in this origin's
 * localStorage (a cookie would reach every port of 127.0.0.1); API calls send it as a Bearer
 * header, WebSockets as a subprotocol (browsers cannot set headers on them).
 */
import { ApiErrorSchema, TOKEN_STORAGE_KEY, WS_PROTOCOL, WS_TOKEN_PROTOCOL_PREFIX } from '../../shared/workspace-protocol.ts';

/** The token the start URL stored, if any. */
function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    return null;
  }
}

/** A failed API call, with the server's message and fix. */
export class LabApiError extends Error {
  readonly status: number;
  readonly fix: string | undefined;

  constructor(status: number, message: string, fix?: string) {
    super(message);
    this.status = status;
    this.fix = fix;
  }
}

/** Calls the API; throws {@link LabApiError} with the server's words on failure. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    const token = storedToken();
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    response = await fetch(path, { ...init, credentials: 'omit', headers });
  } catch {
    throw new LabApiError(0, 'The lab server does not answer', 'Is `npm start` still running? Start it again; this page reconnects.');
  }
  if (!response.ok) {
    const parsed = ApiErrorSchema.safeParse(await response.json().catch(() => ({})));
    throw new LabApiError(response.status, parsed.success ? parsed.data.error : `HTTP ${response.status}`, parsed.success ? parsed.data.fix : undefined);
  }
  const type = response.headers.get('content-type') ?? '';
  return (type.includes('application/json') ? await response.json() : await response.text()) as T;
}

/** POSTs JSON. */
export function post<T>(path: string, body?: unknown): Promise<T> {
  return api<T>(path, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
}

/** The WebSocket URL of an API path on this server. */
export function socketUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/** Opens a lab WebSocket (terminal, events) on this server, offering the stored token. */
export function openSocket(path: string): WebSocket {
  const token = storedToken();
  return new WebSocket(socketUrl(path), token ? [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${token}`] : [WS_PROTOCOL]);
}
