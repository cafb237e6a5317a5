/**
 * HTTP plumbing of the workspace server: parsing a request target without throwing, reading a
 * bounded body (Content-Length or chunked), JSON answers and errors, and the headers every
 * answer carries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError } from '../../shared/workspace-protocol.ts';
import { HttpError } from './http-error.ts';

/** Largest request body accepted (file saves, apply). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Headers on every answer: no page of another site may frame ours (clickjacking the shell). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The request target as a URL, or a 400. Only origin-form targets (`/path?query`) are ours; `//`,
 * `//host/x` and absolute-form targets would otherwise be read as a URL with another host (or
 * throw, which used to end the process).
 */
export function requestUrl(request: IncomingMessage): URL {
  const target = request.url ?? '/';
  if (!target.startsWith('/')) throw new HttpError(400, `The request target "${target.slice(0, 80)}" is not a path`, 'Request a path such as /labs/first-daemonset/.');
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    throw new HttpError(400, `The request target "${target.slice(0, 80)}" is not a valid path`, 'Request a path such as /labs/first-daemonset/.');
  }
}

/** Decodes a percent-encoded path segment, or a 400 naming it. */
export function decodePathSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, `The path "${text.slice(0, 80)}" is not valid percent-encoding`, 'Encode file names with encodeURIComponent.');
  }
}

/** Sends a JSON answer. */
export function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

/** Answers an error as {@link ApiError} JSON; anything but an HttpError is a 500 and is logged. */
export function sendError(response: ServerResponse, error: unknown): void {
  if (response.headersSent || response.destroyed) {
    response.destroy();
    return;
  }
  const status = error instanceof HttpError ? error.status : 500;
  const body: ApiError =
    error instanceof HttpError
      ? { error: error.message, ...(error.fix ? { fix: error.fix } : {}) }
      : { error: `Internal error: ${(error as Error)?.message ?? String(error)}`, fix: 'See the server log.' };
  if (status === 500) process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  json(response, status, body, status === 413 ? { connection: 'close' } : {});
}

/** Parses a JSON body, or a 400. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'The request body is not JSON', 'Send a JSON object.');
  }
}

/**
 * Reads a request body up to `limit` bytes, whether its size is announced (Content-Length) or not
 * (chunked): a bigger one is a 413, and the connection is closed after the answer so the rest is
 * never read.
 */
export async function readBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const tooBig = () => new HttpError(413, `The request body is larger than ${limit} bytes`, 'Send a smaller file; split big manifests.');
  if (Number(request.headers['content-length'] ?? 0) > limit) {
    // Read and drop what is in flight, so the answer is not lost to a reset connection.
    request.resume();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      request.resume();
      throw tooBig();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
