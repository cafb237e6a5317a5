/**
 * Paths and file listings shared by the site tests and the page-weight bench.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url));
/** Astro's build output. */
export const DIST_DIR = join(ROOT_DIR, 'dist');
/** Lesson MDX sources. */
export const CONTENT_DIR = join(ROOT_DIR, 'content');

/** Every file below `dir`, as absolute paths; an empty list if `dir` does not exist. */
export function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}

/** Lesson source files: MDX/Markdown in `content/`, minus partials (`_*`), the home page and the 404 page. */
export function lessonSourceFiles(contentDir = CONTENT_DIR): string[] {
  return listFiles(contentDir).filter((file) => {
    const path = relative(contentDir, file);
    return /\.mdx?$/.test(path) && !path.split(sep).some((part) => part.startsWith('_')) && !/^(?:index|404)\.mdx?$/.test(path);
  });
}

/** Lesson slugs (URL paths without slashes), e.g. `what-is-a-daemonset`. */
export function lessonSlugs(contentDir = CONTENT_DIR): string[] {
  return lessonSourceFiles(contentDir).map((file) =>
    relative(contentDir, file).replace(/\.mdx?$/, '').split(sep).join('/').toLowerCase(),
  );
}

/** The built HTML file of a lesson. */
export function lessonHtmlFile(slug: string, distDir = DIST_DIR): string {
  return join(distDir, slug, 'index.html');
}

/** Newest modification time (ms) among the given files. */
export function newestMtime(files: readonly string[]): number {
  return files.reduce((newest, file) => Math.max(newest, statSync(file).mtimeMs), 0);
}
