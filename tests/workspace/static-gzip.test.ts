/**
 * The built site goes gzipped to a browser that accepts it: the lab page's 4.4 MB script among the
 * rest. What is decompressed is byte for byte the file in dist/; a client that does not accept
 * gzip, or refuses it with q=0, gets the file as it is; fonts never go compressed. Raw HTTP, so
 * the encoding is seen as the server sent it.
 */
import { request } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { startTestWorkspace, type TestWorkspace } from './support.ts';
import { isPrecompressed } from '../../src/server/web/static-files.ts';

let ws: TestWorkspace;
beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
});
afterAll(() => ws?.close());

/** One GET (or HEAD) with these headers: status, headers and the body as sent. */
function get(path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const call = request(`${ws.server.origin}${path}`, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    call.on('error', reject);
    call.end();
  });
}

/** The biggest script in dist/_astro (the lab page's, with Monaco). */
function biggestScript(): string {
  const dir = join(REPO_ROOT, 'dist', '_astro');
  return readdirSync(dir).filter((name) => name.endsWith('.js')).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0]!;
}

describe('the built site over HTTP', () => {
  it('compresses the lab page\'s script once the server is up, before any browser asks for it', async () => {
    const script = join(REPO_ROOT, 'dist', '_astro', biggestScript());
    // Nothing in this file has requested it yet: only the server's own warm-up can have compressed it.
    await expect.poll(() => isPrecompressed(script), { timeout: 60_000 }).toBe(true);
  });

  it('sends the lab page\'s script gzipped to a browser that accepts gzip, and it unpacks to the file in dist/', async () => {
    const name = biggestScript();
    const file = readFileSync(join(REPO_ROOT, 'dist', '_astro', name));
    const answer = await get(`/_astro/${name}`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect(answer.headers.vary).toBe('Accept-Encoding');
    expect(Number(answer.headers['content-length'])).toBe(answer.body.length);
    expect(answer.body.length).toBeLessThan(file.length * 0.4);
    expect(gunzipSync(answer.body).equals(file)).toBe(true);
    // Again, from the server's cache: the same bytes.
    expect((await get(`/_astro/${name}`, { 'accept-encoding': 'gzip' })).body.equals(answer.body)).toBe(true);
  });

  it('sends it as it is to a client that does not accept gzip, or refuses it with q=0', async () => {
    const name = biggestScript();
    const file = readFileSync(join(REPO_ROOT, 'dist', '_astro', name));
    for (const headers of [{}, { 'accept-encoding': 'identity' }, { 'accept-encoding': 'gzip;q=0, br' }] as Record<string, string>[]) {
      const answer = await get(`/_astro/${name}`, headers);
      expect(answer.headers['content-encoding'], JSON.stringify(headers)).toBeUndefined();
      expect(answer.body.equals(file)).toBe(true);
    }
  });

  it('gzips pages too, answers HEAD with the headers alone, and never gzips a font', async () => {
    const page = await get('/labs/first-daemonset/', { 'accept-encoding': 'gzip' });
    expect(page.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(page.body).toString('utf8')).toContain('<html');
    const head = await get('/labs/first-daemonset/', { 'accept-encoding': 'gzip' }, 'HEAD');
    expect(head.headers['content-encoding']).toBe('gzip');
    expect(head.body.length).toBe(0);
    // Monaco's icon font (a .ttf in dist/_astro), which the lab page loads.
    const font = readdirSync(join(REPO_ROOT, 'dist', '_astro')).find((name) => name.endsWith('.ttf'));
    expect(font, 'a font in dist/_astro').toBeDefined();
    expect((await get(`/_astro/${font}`, { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
  });
});
