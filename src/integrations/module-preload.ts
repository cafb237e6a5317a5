/**
 * An Astro integration that tells the browser, in each built page, about the module scripts its
 * entry script will ask for, so it need not find them one round trip at a time:
 * - `<link rel="modulepreload">` for every chunk the entry imports statically, directly or
 *   through other chunks (without it, those are requested only once the entry has arrived);
 * - `<link rel="prefetch">`, on the pages chosen, for the chunks it imports dynamically (the lab
 *   page's editor): fetched while the network is otherwise idle, and taken from the cache when the
 *   page imports them.
 * Vite does the first for dynamic imports only; Astro's pages load their entry with a plain
 * `<script type="module">`.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';

/** The static imports at the start of a built chunk (Rollup puts them first, after Vite's chunk list). */
const LEADING_IMPORT = /^\s*import\s*(?:[^"'`;]*?\bfrom\s*)?["'`]([^"'`]+)["'`]\s*;?/;
/** The chunk lists of Vite's preload helper: the files a dynamic import loads. */
const DYNAMIC_DEPS = /__vite__mapDeps=[^\n]*?m\.f=\[([^\]]*)\]/;
const MODULE_SCRIPT = /<script type="module" src="(\/[^"]+\.js)"><\/script>/g;

/** The chunks a built chunk imports statically, as paths below the site root ('/_astro/x.js'). */
export function staticImports(source: string, chunkPath: string): string[] {
  const found: string[] = [];
  let rest = source.replace(/^const __vite__mapDeps=[^\n]*\n/, '');
  for (let match = LEADING_IMPORT.exec(rest); match; match = LEADING_IMPORT.exec(rest)) {
    found.push(posix.join(posix.dirname(chunkPath), match[1]!));
    rest = rest.slice(match[0].length);
  }
  return found;
}

/** The JavaScript chunks a built chunk imports dynamically (its stylesheets are left to Vite). */
export function dynamicImports(source: string, chunkPath: string): string[] {
  const list = DYNAMIC_DEPS.exec(source)?.[1] ?? '';
  return [...list.matchAll(/["'`]([^"'`]+\.js)["'`]/g)].map((m) => posix.join(posix.dirname(chunkPath), m[1]!));
}

/** Every chunk `entry` needs before it runs, in load order, without `entry` itself. */
async function staticClosure(siteDir: string, entry: string, read: (path: string) => Promise<string>): Promise<string[]> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    for (const dep of staticImports(await read(join(siteDir, path)), path)) {
      if (!seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return [...seen].slice(1);
}

async function htmlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.html')).map((e) => join(e.parentPath, e.name));
}

/** Adds the links to one built page; returns the page unchanged when it has no module script. */
export async function withPreloadLinks(html: string, siteDir: string, prefetchDynamic: boolean, read: (path: string) => Promise<string>): Promise<string> {
  const entries = [...html.matchAll(MODULE_SCRIPT)].map((m) => m[1]!);
  const links: string[] = [];
  const linked = new Set(entries);
  for (const entry of entries) {
    const chunks = await staticClosure(siteDir, entry, read);
    for (const chunk of chunks.filter((c) => !linked.has(c))) {
      linked.add(chunk);
      links.push(`<link rel="modulepreload" href="${chunk}">`);
    }
    if (!prefetchDynamic) continue;
    for (const chunk of [entry, ...chunks]) {
      for (const dep of dynamicImports(await read(join(siteDir, chunk)), chunk).filter((c) => !linked.has(c))) {
        linked.add(dep);
        links.push(`<link rel="prefetch" href="${dep}">`);
      }
    }
  }
  return links.length === 0 ? html : html.replace('</head>', `${links.join('')}</head>`);
}

/** The integration; `prefetchDynamicOn` picks the pages (by path below the site root) whose dynamic chunks are prefetched. */
export default function modulePreload(options: { prefetchDynamicOn: RegExp }): AstroIntegration {
  return {
    name: 'daemonset-lab:module-preload',
    hooks: {
      'astro:build:done': async ({ dir }) => {
        const siteDir = fileURLToPath(dir);
        const cache = new Map<string, Promise<string>>();
        const read = (path: string) => cache.get(path) ?? cache.set(path, readFile(path, 'utf8')).get(path)!;
        for (const file of await htmlFiles(siteDir)) {
          const page = `/${relative(siteDir, file).split('\\').join('/')}`;
          const html = await readFile(file, 'utf8');
          const linked = await withPreloadLinks(html, siteDir, options.prefetchDynamicOn.test(page), read);
          if (linked !== html) await writeFile(file, linked);
        }
      },
    },
  };
}
