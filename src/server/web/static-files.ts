/**
 * Serves the built site (dist/): correct content types, long caching for Astro's hashed assets
 * (/_astro/), revalidation for everything else, gzip for text to a browser that accepts it, and no
 * path outside dist/.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
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

/** What is worth compressing: text. Images, fonts and WebAssembly are compressed already or barely shrink. */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt', '.xml']);

/** Smaller files go as they are: the gzip header would eat the gain. */
const MIN_COMPRESSED_BYTES = 1024;

/**
 * Compressed files, by path, size and modification time (a rebuild makes new entries). The lab
 * page's script is 4.4 MB, 1.2 MB gzipped: compressed once, not per request. Bounded, oldest out.
 */
const compressed = new Map<string, { readonly body: Promise<Buffer>; bytes: number }>();
const COMPRESSED_CACHE_BYTES = 64 * 1024 * 1024;
let compressedBytes = 0;
const gzipAsync = promisify(gzip);

function gzipped(file: string, size: number, mtimeMs: number): Promise<Buffer> {
  const key = `${file}\0${size}\0${mtimeMs}`;
  const cached = compressed.get(key);
  if (cached) return cached.body;
  const entry = { body: readFile(file).then((bytes) => gzipAsync(bytes, { level: 6 })), bytes: 0 };
  compressed.set(key, entry);
  entry.body.then(
    (body) => {
      if (compressed.get(key) !== entry) return; // Evicted meanwhile.
      entry.bytes = body.length;
      compressedBytes += body.length;
      for (const [oldKey, old] of compressed) {
        if (compressedBytes <= COMPRESSED_CACHE_BYTES || oldKey === key) break;
        compressed.delete(oldKey);
        compressedBytes -= old.bytes;
      }
    },
    () => compressed.delete(key), // Read again next time.
  );
  return entry.body;
}

/**
 * Compresses the site's hashed assets (dist/_astro/) ahead of the first request, one at a time, so
 * a learner's first page load from a pod that has been waiting does not wait for the 4.4 MB lab
 * script to be compressed. Returns how many files are now in the cache.
 */
export async function precompressAssets(distDir: string): Promise<number> {
  const dir = join(distDir, '_astro');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0; // No build yet.
  }
  let count = 0;
  for (const name of names.sort()) {
    const file = join(dir, name);
    const info = await stat(file);
    if (!info.isFile() || !COMPRESSIBLE.has(extname(name)) || info.size < MIN_COMPRESSED_BYTES) continue;
    await gzipped(file, info.size, info.mtimeMs);
    count += 1;
  }
  return count;
}

/** Whether `file` (as it is on disk now) is in the compressed cache. */
export async function isPrecompressed(file: string): Promise<boolean> {
  const info = await stat(file);
  return compressed.has(`${file}\0${info.size}\0${info.mtimeMs}`);
}

/** Whether the request's Accept-Encoding admits gzip (a q=0 refuses it). */
function acceptsGzip(request: IncomingMessage): boolean {
  const header = String(request.headers['accept-encoding'] ?? '');
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

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
  const headers = {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  };
  if (COMPRESSIBLE.has(extname(file)) && info.size >= MIN_COMPRESSED_BYTES) {
    // Caches keep the two encodings apart.
    response.setHeader('vary', 'Accept-Encoding');
    if (acceptsGzip(request)) {
      const body = await gzipped(file, info.size, info.mtimeMs);
      response.writeHead(status, { ...headers, 'content-encoding': 'gzip', 'content-length': body.length });
      response.end(request.method === 'HEAD' ? undefined : body);
      return;
    }
  }
  response.writeHead(status, { ...headers, 'content-length': info.size });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  // A file removed (a rebuild) between stat and read: end this answer, never the server.
  createReadStream(file)
    .on('error', () => response.destroy())
    .pipe(response);
}
