/**
 * Measures how much JavaScript (gzipped) a built page ships.
 *
 * For one HTML page it follows every `<script>` (inline or `src`) and
 * `<link rel="modulepreload">`, then the JS import graph from there:
 *
 * - **initial**: scripts in the page plus everything they import statically;
 * - **onDemand**: modules reached only through dynamic `import()` (for example
 *   Starlight's search UI, loaded on idle) plus, on pages with the search box,
 *   Pagefind's runtime and worker, which the search UI loads by a computed URL
 *   that static analysis cannot see.
 *
 * Each file counts once per page, gzipped on its own (as a server would send
 * it). Inline scripts are gzipped separately too, which slightly overstates
 * their cost and keeps the budget conservative.
 *
 * Used by `build.test.ts` (the 100 KB budget) and by `npm run bench`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DIST_DIR, lessonHtmlFile, lessonSlugs } from './site-files.ts';

/** Gzipped JavaScript bytes of one page. */
export interface PageJsWeight {
  /** The page, relative to dist/, e.g. `what-is-a-daemonset/index.html`. */
  page: string;
  /** JS needed to load the page. */
  initialBytes: number;
  /** JS fetched later: dynamic imports and the search runtime. */
  onDemandBytes: number;
  /** `initialBytes + onDemandBytes`: the most JS the page can ever load. */
  totalBytes: number;
  /** What was counted: dist-relative paths, or `inline#N` for inline scripts. */
  files: { initial: string[]; onDemand: string[] };
}

/** Per page type: the home page and the heaviest lesson page. */
export interface SiteJsWeights {
  home: PageJsWeight;
  /** The lesson page with the largest `totalBytes`. */
  lesson: PageJsWeight & { lessonCount: number };
}

/** Pagefind files the search UI loads at run time (by a computed URL). */
const PAGEFIND_RUNTIME = ['pagefind/pagefind.js', 'pagefind/pagefind-worker.js'];

const SCRIPT_TAG = /<script\b([^>]*)>([\s\S]*?)<\/script>/gi;
const MODULEPRELOAD_TAG = /<link\b[^>]*\brel=["']?modulepreload["']?[^>]*>/gi;
const HREF_OR_SRC = /\b(?:src|href)=["']?([^"'\s>]+)/i;
const TYPE_ATTRIBUTE = /\btype=["']?([^"'\s>]+)/i;
/** `import x from "./a.js"`, `import "./a.js"`, `export * from "./a.js"`. */
const STATIC_IMPORT = /(?:\bimport|\bexport)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'`]([^"'`$]+)["'`]/g;
/** `import("./a.js")` with a literal specifier. */
const DYNAMIC_IMPORT = /\bimport\(\s*["'`]([^"'`$]+)["'`]\s*\)/g;

const gzipSize = (source: string | Buffer): number => gzipSync(source, { level: 9 }).length;

function isJavaScriptType(attributes: string): boolean {
  const type = TYPE_ATTRIBUTE.exec(attributes)?.[1]?.toLowerCase();
  return type === undefined || type === 'module' || type === 'text/javascript' || type === 'application/javascript';
}

/** Resolves a script URL found in `fromFile` to a file in dist/, if it is local. */
function resolveLocal(distDir: string, fromFile: string, specifier: string): string | undefined {
  if (/^(?:[a-z]+:)?\/\//i.test(specifier) || specifier.startsWith('data:')) return undefined;
  const path = specifier.split(/[?#]/)[0] ?? '';
  const file = path.startsWith('/') ? join(distDir, path) : join(dirname(fromFile), path);
  return existsSync(file) ? file : undefined;
}

/** Measures one built HTML page. */
export function measurePageJs(htmlFile: string, distDir = DIST_DIR): PageJsWeight {
  const html = readFileSync(htmlFile, 'utf8');
  const initial = new Map<string, number>();
  const onDemand = new Map<string, number>();
  const pendingStatic: string[] = [];
  const pendingDynamic: string[] = [];

  const collectImports = (source: string, fromFile: string) => {
    for (const [, specifier] of source.matchAll(STATIC_IMPORT)) {
      const file = specifier && resolveLocal(distDir, fromFile, specifier);
      if (file) pendingStatic.push(file);
    }
    for (const [, specifier] of source.matchAll(DYNAMIC_IMPORT)) {
      const file = specifier && resolveLocal(distDir, fromFile, specifier);
      if (file) pendingDynamic.push(file);
    }
  };

  let inlineCount = 0;
  for (const [, attributes = '', body = ''] of html.matchAll(SCRIPT_TAG)) {
    if (!isJavaScriptType(attributes)) continue;
    const src = HREF_OR_SRC.exec(attributes)?.[1];
    if (src) {
      const file = resolveLocal(distDir, htmlFile, src);
      if (file) pendingStatic.push(file);
    } else if (body.trim()) {
      initial.set(`inline#${++inlineCount}`, gzipSize(body));
      collectImports(body, htmlFile);
    }
  }
  for (const [tag] of html.matchAll(MODULEPRELOAD_TAG)) {
    const href = HREF_OR_SRC.exec(tag)?.[1];
    const file = href && resolveLocal(distDir, htmlFile, href);
    if (file) pendingStatic.push(file);
  }

  // Walk the static graph first, so a module that is both imported statically and
  // dynamically counts as initial.
  const visit = (queue: string[], into: Map<string, number>) => {
    while (queue.length > 0) {
      const file = queue.shift() as string;
      const key = relative(distDir, file);
      if (initial.has(key) || onDemand.has(key)) continue;
      const source = readFileSync(file);
      into.set(key, gzipSize(source));
      collectImports(source.toString('utf8'), file);
    }
  };
  visit(pendingStatic, initial);
  while (pendingDynamic.length > 0) {
    pendingStatic.push(...pendingDynamic.splice(0));
    visit(pendingStatic, onDemand);
  }
  if (html.includes('<site-search')) {
    for (const runtimeFile of PAGEFIND_RUNTIME) {
      const file = join(distDir, runtimeFile);
      if (existsSync(file) && !onDemand.has(runtimeFile)) onDemand.set(runtimeFile, gzipSize(readFileSync(file)));
    }
  }

  const sum = (sizes: Map<string, number>) => [...sizes.values()].reduce((total, size) => total + size, 0);
  const initialBytes = sum(initial);
  const onDemandBytes = sum(onDemand);
  return {
    page: relative(distDir, htmlFile),
    initialBytes,
    onDemandBytes,
    totalBytes: initialBytes + onDemandBytes,
    files: { initial: [...initial.keys()], onDemand: [...onDemand.keys()] },
  };
}

/**
 * Gzipped JS per page type for a build in `distDir`: the home page and the
 * heaviest lesson (lessons are the MDX files in `contentDir`).
 */
export function measureSiteJsWeights(distDir = DIST_DIR, contentDir?: string): SiteJsWeights {
  const lessons = lessonSlugs(contentDir).map((slug) => measurePageJs(lessonHtmlFile(slug, distDir), distDir));
  const heaviest = lessons.reduce<PageJsWeight | undefined>(
    (worst, page) => (worst === undefined || page.totalBytes > worst.totalBytes ? page : worst),
    undefined,
  );
  if (!heaviest) throw new Error(`No lesson pages found for ${distDir}`);
  return {
    home: measurePageJs(join(distDir, 'index.html'), distDir),
    lesson: { ...heaviest, lessonCount: lessons.length },
  };
}
