/**
 * Accessibility of every lesson page (and the home and 404 pages) with axe-core, in Chromium on
 * the production build: WCAG 2.1 AA, light and dark theme, desktop and phone widths, zero
 * violations. A violation fails with the rule, the element and what to fix.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, describeViolations } from './axe.ts';
import { DIST_DIR, lessonSlugs } from './site-files.ts';
import { startStaticServer, type StaticServer } from './static-server.ts';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The 404 page is what an unknown address shows. */
const NOT_FOUND = '/no-such-lesson/';
const PAGES = ['/', ...lessonSlugs().map((slug) => `/${slug}/`), NOT_FOUND];
const VARIANTS = [
  { theme: 'light', width: 'desktop' },
  { theme: 'dark', width: 'desktop' },
  { theme: 'light', width: 'mobile' },
  { theme: 'dark', width: 'mobile' },
] as const;

let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}. Install it with: apt-get install -y chromium`);
  server = await startStaticServer(DIST_DIR);
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function newContext(theme: 'light' | 'dark', width: 'desktop' | 'mobile'): Promise<BrowserContext> {
  const mobile = width === 'mobile';
  const context = await browser.newContext({
    viewport: mobile ? { width: 390, height: 844 } : { width: 1280, height: 800 },
    deviceScaleFactor: mobile ? 2 : 1,
    isMobile: mobile,
    hasTouch: mobile,
  });
  await context.addInitScript((t) => localStorage.setItem('starlight-theme', t), theme);
  return context;
}

describe.each(VARIANTS)('lesson pages, $theme theme, $width', ({ theme, width }) => {
  let context: BrowserContext;
  beforeAll(async () => {
    context = await newContext(theme, width);
  });
  afterAll(() => context?.close());

  it.each(PAGES)('%s has no WCAG 2.1 AA violations', async (path) => {
    const page = await context.newPage();
    try {
      const response = await page.goto(server.origin + path, { waitUntil: 'load' });
      expect(response?.status(), `${path} is served`).toBe(path === NOT_FOUND ? 404 : 200);
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
      // What a learner meets once the page's scripts ran: search enabled, and Expressive Code's
      // sideways-scrolling blocks made focusable (it does so when the browser is idle).
      await page.waitForSelector('button[data-open-modal]:not([disabled])');
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLElement>('.expressive-code pre')].every((pre) => (pre.scrollWidth > pre.clientWidth) === pre.hasAttribute('tabindex')),
      );
      const violations = await axeViolations(page);
      expect(violations, describeViolations(`${path} (${theme}, ${width})`, violations)).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
