/**
 * Serves the built site (dist/): correct content types, long caching for Astro's hashed assets
 * (/_astro/), revalidation for everything else, and no path outside dist/.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.pf_meta': 'application/octet-stream',
};

async function fileAt(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.isFile()) return path;
    if (info.isDirectory()) {
      const index = join(path, 'index.html');
      if ((await stat(index)).isFile()) return index;
    }
  } catch {
    // Not there.
  }
  return undefined;
}

/** Answers a GET/HEAD for a file of `distDir`; 404 with the site's 404 page otherwise. */
export async function serveStatic(distDir: string, pathname: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    decoded = '/';
  }
  const relative = normalize(decoded).replace(/^([/\\])+/, '');
  const candidate = join(distDir, relative);
  const inside = candidate === distDir || candidate.startsWith(distDir.endsWith(sep) ? distDir : distDir + sep);
  let file = inside ? await fileAt(candidate) : undefined;
  // /labs/x without the slash → /labs/x/ so relative links keep working.
  if (file && file.endsWith(`${sep}index.html`) && !pathname.endsWith('/') && !candidate.endsWith('index.html')) {
    response.writeHead(308, { location: `${pathname}/` }).end();
    return;
  }
  let status = 200;
  if (!file) {
    status = 404;
    file = await fileAt(join(distDir, '404.html'));
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
  }
  const info = await stat(file);
  const hashed = pathname.startsWith('/_astro/');
  response.writeHead(status, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  // A file removed (a rebuild) between stat and read: end this answer, never the server.
  createReadStream(file)
    .on('error', () => response.destroy())
    .pipe(response);
}
