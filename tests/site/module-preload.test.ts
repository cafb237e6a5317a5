/** The build step that lists a page's module chunks in its head (src/integrations/module-preload.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dynamicImports, staticImports, withPreloadLinks } from '../../src/integrations/module-preload.ts';
import { DIST_DIR } from './site-files.ts';

const CHUNKS: Record<string, string> = {
  '/site/_astro/entry.js': 'const __vite__mapDeps=(i,m=__vite__mapDeps,d=(m.f||(m.f=["./editor.js","./helper.js","./editor.css"])))=>i.map(i=>d[i]);\nimport{n as e}from"./shared.js";import"./helper.js";function go(){return import("./editor.js")}',
  '/site/_astro/shared.js': 'import{t}from"./deep.js";export const n=1;',
  '/site/_astro/deep.js': 'export const t=2;',
  '/site/_astro/helper.js': 'export const h=3;',
  '/site/_astro/other.js': 'export const o=4;',
};
const read = async (path: string) => {
  const source = CHUNKS[path];
  if (source === undefined) throw new Error(`no chunk ${path}`);
  return source;
};

describe('module preload links', () => {
  it('reads the static imports at the start of a chunk, after Vite\'s chunk list, and not the dynamic ones', () => {
    expect(staticImports(CHUNKS['/site/_astro/entry.js']!, '/_astro/entry.js')).toEqual(['/_astro/shared.js', '/_astro/helper.js']);
    expect(staticImports('export const x=1;import("./late.js")', '/_astro/a.js')).toEqual([]);
  });

  it('reads the JavaScript chunks of a dynamic import from Vite\'s chunk list, not its stylesheets', () => {
    expect(dynamicImports(CHUNKS['/site/_astro/entry.js']!, '/_astro/entry.js')).toEqual(['/_astro/editor.js', '/_astro/helper.js']);
    expect(dynamicImports('export const x=1;', '/_astro/a.js')).toEqual([]);
  });

  it('preloads every chunk an entry needs, through other chunks, once; prefetches dynamic chunks only where asked', async () => {
    const html = '<html><head><script type="module" src="/_astro/entry.js"></script><script type="module" src="/_astro/other.js"></script></head><body></body></html>';
    const linked = await withPreloadLinks(html, '/site', false, read);
    expect(linked.match(/<link [^>]+>/g)).toEqual([
      '<link rel="modulepreload" href="/_astro/shared.js">',
      '<link rel="modulepreload" href="/_astro/helper.js">',
      '<link rel="modulepreload" href="/_astro/deep.js">',
    ]);
    const withPrefetch = await withPreloadLinks(html, '/site', true, read);
    expect(withPrefetch).toContain('<link rel="prefetch" href="/_astro/editor.js">');
    expect(withPrefetch.match(/href="\/_astro\/helper\.js"/g)).toHaveLength(1);
    expect(await withPreloadLinks('<html><head></head></html>', '/site', true, read)).toBe('<html><head></head></html>');
  });

  it('gives the built lab page its chunks at once and its editor chunk ahead, and lesson pages no editor', () => {
    const lab = readFileSync(join(DIST_DIR, 'labs', 'first-daemonset', 'index.html'), 'utf8');
    expect(lab).toMatch(/<link rel="modulepreload" href="\/_astro\/code-actions\.[\w-]+\.js">/);
    expect(lab).toMatch(/<link rel="prefetch" href="\/_astro\/files\.[\w-]+\.js">/);
    const lesson = readFileSync(join(DIST_DIR, 'what-is-a-daemonset', 'index.html'), 'utf8');
    expect(lesson).toMatch(/<link rel="modulepreload"/);
    expect(lesson).not.toMatch(/rel="prefetch"/);
  });
});
