/**
 * Checks on the production build in dist/ (built by global-setup.ts):
 * links, lab references, knowledge-check markup and the JavaScript budget.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { KNOWN_LAB_IDS, isKnownLabId, labPath } from '../../src/components/lesson/lab-ids.ts';
import { measurePageJs, measureSiteJsWeights } from './page-weight.ts';
import { DIST_DIR, ROOT_DIR, lessonHtmlFile, lessonSlugs, lessonSourceFiles, listFiles } from './site-files.ts';

/** Most JavaScript, gzipped, that any lesson page may ever load (initial + on demand). */
const LESSON_JS_BUDGET_BYTES = 100_000;

const htmlFiles = listFiles(DIST_DIR).filter((file) => file.endsWith('.html'));
const LAB_LINK = /^\/labs\/([^/]+)\/$/;

/** URL-ish attribute values in a page that point at other resources. */
function linkTargets(html: string): string[] {
  const targets: string[] = [];
  for (const [, , value] of html.matchAll(/\b(href|src)="([^"]*)"/g)) if (value) targets.push(value);
  for (const [, value] of html.matchAll(/\bsrcset="([^"]*)"/g)) {
    for (const candidate of value?.split(',') ?? []) {
      const url = candidate.trim().split(/\s+/)[0];
      if (url) targets.push(url);
    }
  }
  return targets;
}

/** The site path of a built HTML file: `dist/a/index.html` → `/a/`. */
function pagePath(htmlFile: string): string {
  const path = `/${relative(DIST_DIR, htmlFile).split('\\').join('/')}`;
  return path.endsWith('/index.html') ? path.slice(0, -'index.html'.length) : path;
}

/** The dist file a site path resolves to, the way a static host would resolve it. */
function resolveInDist(path: string): string | undefined {
  const file = join(DIST_DIR, decodeURIComponent(path));
  const candidates = path.endsWith('/') ? [join(file, 'index.html')] : [file, join(file, 'index.html'), `${file}.html`];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

const idsCache = new Map<string, Set<string>>();
function idsIn(htmlFile: string): Set<string> {
  let ids = idsCache.get(htmlFile);
  if (!ids) {
    ids = new Set([...readFileSync(htmlFile, 'utf8').matchAll(/\bid="([^"]+)"/g)].map((match) => match[1] ?? ''));
    idsCache.set(htmlFile, ids);
  }
  return ids;
}

describe('production build', () => {
  it('contains the home page and every lesson', () => {
    expect(existsSync(join(DIST_DIR, 'index.html'))).toBe(true);
    const slugs = lessonSlugs();
    expect(slugs.length).toBeGreaterThanOrEqual(11);
    for (const slug of slugs) expect(existsSync(lessonHtmlFile(slug)), slug).toBe(true);
    // A development-mode build (e.g. with NODE_ENV=test) renders a placeholder instead of search.
    expect(readFileSync(join(DIST_DIR, 'index.html'), 'utf8')).toContain('id="starlight__search"');
  });

  it('has no broken internal links (lab pages may be missing only for known lab ids)', () => {
    expect(htmlFiles.length).toBeGreaterThan(0);
    const broken: string[] = [];
    for (const htmlFile of htmlFiles) {
      const html = readFileSync(htmlFile, 'utf8');
      const base = new URL(pagePath(htmlFile), 'http://site.invalid');
      for (const target of linkTargets(html)) {
        // External (`https:`, `//host`) and non-navigational (`mailto:`, `data:`) URLs are not ours to check.
        if (/^(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(target)) continue;
        const url = new URL(target, base);
        const where = `${relative(DIST_DIR, htmlFile)} → ${target}`;
        const file = resolveInDist(url.pathname);
        if (!file) {
          const labId = LAB_LINK.exec(url.pathname)?.[1];
          if (labId === undefined || !isKnownLabId(labId)) broken.push(where);
          continue;
        }
        const fragment = decodeURIComponent(url.hash.slice(1));
        if (fragment && file.endsWith('.html') && !idsIn(file).has(fragment)) broken.push(`${where} (no #${fragment})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('links every lesson from the sidebar', () => {
    const home = readFileSync(join(DIST_DIR, 'what-is-a-daemonset', 'index.html'), 'utf8');
    const sidebar = /<nav[^>]*aria-label="Main"[\s\S]*?<\/nav>/.exec(home)?.[0] ?? '';
    expect(sidebar).not.toBe('');
    for (const slug of lessonSlugs()) expect(sidebar, slug).toContain(`href="/${slug}/"`);
  });
});

describe('lesson labs', () => {
  const labsByLesson = new Map(
    lessonSourceFiles().map((file) => {
      const frontmatter = /^---\r?\n([\s\S]*?)\r?\n---/.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
      const data = (parseYaml(frontmatter) ?? {}) as { lab?: unknown };
      return [relative(ROOT_DIR, file), data.lab] as const;
    }),
  );

  it('names only known labs in `lab` frontmatter', () => {
    for (const [file, lab] of labsByLesson) {
      if (lab === undefined) continue;
      expect(typeof lab, file).toBe('string');
      expect(KNOWN_LAB_IDS, file).toContain(lab);
    }
  });

  it('links each known lab from at least one lesson', () => {
    const used = new Set(labsByLesson.values());
    expect(KNOWN_LAB_IDS.filter((id) => !used.has(id))).toEqual([]);
  });

  it('shows an "Open the lab" link on lessons with a lab, and none elsewhere', () => {
    for (const [file, lab] of labsByLesson) {
      const slug = file.replace(/^content\//, '').replace(/\.mdx?$/, '');
      const html = readFileSync(lessonHtmlFile(slug), 'utf8');
      const labLinks = [...html.matchAll(/<a[^>]*href="(\/labs\/[^"]*)"[^>]*data-lab-link/g)].map((match) => match[1]);
      if (typeof lab === 'string') {
        expect(labLinks.length, slug).toBeGreaterThanOrEqual(1);
        expect(new Set(labLinks), slug).toEqual(new Set([labPath(lab)]));
      } else {
        expect(labLinks, slug).toEqual([]);
      }
    }
  });
});

describe('knowledge checks', () => {
  it('render as accessible forms whose answer is one of the options', () => {
    let questionCount = 0;
    for (const slug of lessonSlugs()) {
      const html = readFileSync(lessonHtmlFile(slug), 'utf8');
      for (const [form] of html.matchAll(/<form class="quiz__question[\s"][\s\S]*?<\/form>/g)) {
        questionCount++;
        const answer = Number(/data-answer="(\d+)"/.exec(form)?.[1]);
        const radios = [...form.matchAll(/<input type="radio"/g)].length;
        // Astro adds scoped-style classes to every element, hence the `[^>]*`.
        expect(form, slug).toMatch(/<fieldset[^>]*>[\s\S]*<legend[^>]*>[\s\S]+<\/legend>/);
        expect(form, slug).toMatch(/role="status"/);
        expect(form, slug).toMatch(/<button type="submit"[^>]*>Check<\/button>/);
        expect(radios, slug).toBeGreaterThanOrEqual(2);
        expect(answer, slug).toBeLessThan(radios);
      }
    }
    // "Most lessons" have a knowledge check; all of them do today.
    expect(questionCount).toBeGreaterThanOrEqual(lessonSlugs().length * 2);
  });
});

describe('JavaScript weight', () => {
  it(`stays within ${LESSON_JS_BUDGET_BYTES / 1000} KB gzipped on every lesson page`, () => {
    for (const slug of lessonSlugs()) {
      const weight = measurePageJs(lessonHtmlFile(slug));
      expect(weight.totalBytes, `${slug}: ${JSON.stringify(weight.files)}`).toBeLessThanOrEqual(LESSON_JS_BUDGET_BYTES);
    }
  });

  it('reports per page type and counts the search runtime as on-demand', () => {
    const weights = measureSiteJsWeights();
    expect(weights.home.initialBytes).toBeGreaterThan(0);
    expect(weights.lesson.lessonCount).toBe(lessonSlugs().length);
    expect(weights.lesson.files.onDemand).toContain('pagefind/pagefind.js');
    expect(weights.home.totalBytes).toBeLessThanOrEqual(LESSON_JS_BUDGET_BYTES);
  });

  it('finds every chunk, stylesheet and worker relative to the script that loads it, never at /_astro/', () => {
    // The classroom hub serves a learner's pages under /s/<learner>/ and rewrites only the HTML:
    // an absolute /_astro/ URL inside a script (the lab page's editor chunk, its CSS, Monaco's
    // workers) would miss the prefix, and the editor would never load.
    const scripts = listFiles(join(DIST_DIR, '_astro')).filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const file of scripts) {
      const source = readFileSync(file, 'utf8');
      expect(source, relative(DIST_DIR, file)).not.toMatch(/["'`]\/_astro\//);
      expect(source, `${relative(DIST_DIR, file)}: a preload helper prefixing the site's root`).not.toMatch(/return\s*["'`]\/["'`]\s*\+/);
    }
  });

  it('never bundles the lab editor or terminal into lesson pages', () => {
    for (const slug of lessonSlugs()) {
      const { files } = measurePageJs(lessonHtmlFile(slug));
      for (const file of [...files.initial, ...files.onDemand]) {
        if (file.startsWith('inline#')) continue;
        const source = readFileSync(join(DIST_DIR, file), 'utf8');
        expect(source, `${slug}: ${file}`).not.toMatch(/monaco-editor|xterm/i);
      }
    }
    // Inline scripts are part of the page itself.
    for (const slug of lessonSlugs()) {
      expect(readFileSync(lessonHtmlFile(slug), 'utf8'), slug).not.toMatch(/monaco-editor|xterm\.js/i);
    }
  });
});

describe('lab step instructions', () => {
  it('are rendered into each lab page by the lessons pipeline, code blocks framed as in the lessons', () => {
    for (const id of KNOWN_LAB_IDS) {
      const html = readFileSync(join(DIST_DIR, 'labs', id, 'index.html'), 'utf8');
      const stepsDir = join(ROOT_DIR, 'labs', id, 'steps');
      const stepFiles = listFiles(stepsDir).filter((file) => file.endsWith('.md'));
      expect(stepFiles.length, id).toBeGreaterThan(0);
      // Each step's rendered block runs from its marker to the next one.
      const blocks = html.split('data-step-instructions="').slice(1);
      const rendered = new Map(blocks.map((block) => [block.slice(0, block.indexOf('"')), block]));
      for (const file of stepFiles) {
        const step = relative(stepsDir, file).replace(/\.md$/, '');
        const block = rendered.get(step);
        expect(block, `${id}/${step}`).toBeDefined();
        const shellFences = (readFileSync(file, 'utf8').match(/^```(?:bash|sh|shell)\s*$/gm) ?? []).length;
        // Expressive Code frames (the figures lesson/code-actions.ts adds Run buttons to), not a raw <pre>.
        expect((block!.match(/<pre data-language="(?:bash|sh|shell)"/g) ?? []).length, `${id}/${step} shell blocks`).toBe(shellFences);
      }
      expect(html, id).toContain('data-lesson-code-actions');
    }
  });
});
