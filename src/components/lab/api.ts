/**
 * The lab page's calls to the workspace server. The token travels in an HttpOnly cookie set by
 * the start URL, so these are plain same-origin requests.
 */
import { ApiErrorSchema } from '../../shared/workspace-protocol.ts';

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
    response = await fetch(path, { credentials: 'same-origin', ...init });
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
