/**
 * Accessibility of every lab page with axe-core, in Chromium on the real test cluster: WCAG 2.1
 * AA, light and dark theme, desktop and phone widths, the editor and the map in view, the
 * terminal showing all 16 ANSI colours (normal, bold, dim) and in screen-reader mode: zero
 * violations. Also the terminal palettes' contrast, measured colour by colour.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KNOWN_LAB_IDS } from '../../src/components/lesson/lab-ids.ts';
import { ANSI_COLOURS, DARK_TERMINAL_THEME, LIGHT_TERMINAL_THEME, TERMINAL_MIN_CONTRAST, contrastRatio, dimColour } from '../../src/components/lab/terminal-theme.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { axeViolations, describeViolations } from '../site/axe.ts';
import { launchChromium, openLab, startTestWorkspace, terminalText, until, type TestWorkspace } from './support.ts';

const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 390, height: 844 };
/** Prints every ANSI colour plain, bold and dim, the way ls, kubectl and prompts colour text. */
const COLOUR_SAMPLE = `for c in 30 31 32 33 34 35 36 37 90 91 92 93 94 95 96 97; do printf "\\e[\${c}mc$c \\e[1mbold$c\\e[0m \\e[2;\${c}mdim$c\\e[0m "; done; echo`;

describe('terminal colours', () => {
  it.each([
    ['light', LIGHT_TERMINAL_THEME],
    ['dark', DARK_TERMINAL_THEME],
  ] as const)('every ANSI colour and the default text reach 4.5:1 on the %s background', (_name, theme) => {
    const below = [...ANSI_COLOURS, 'foreground' as const]
      .map((colour) => ({ colour, ratio: contrastRatio(theme[colour], theme.background) }))
      .filter(({ ratio }) => ratio < TERMINAL_MIN_CONTRAST);
    expect(below).toEqual([]);
    expect(contrastRatio(theme.selectionForeground, theme.selectionBackground)).toBeGreaterThanOrEqual(TERMINAL_MIN_CONTRAST);
  });

  it.each([
    ['light', LIGHT_TERMINAL_THEME],
    ['dark', DARK_TERMINAL_THEME],
  ] as const)('dim text in every colour stays at 4.5:1 on the %s background, and is dimmer than the colour', (_name, theme) => {
    for (const colour of [...ANSI_COLOURS, 'foreground' as const]) {
      const dim = dimColour(theme[colour], theme.background);
      expect(contrastRatio(dim, theme.background), `${colour} dim ${dim}`).toBeGreaterThanOrEqual(TERMINAL_MIN_CONTRAST);
      expect(contrastRatio(dim, theme.background), `${colour} dim ${dim}`).toBeLessThanOrEqual(contrastRatio(theme[colour], theme.background));
    }
  });
});

let ws: TestWorkspace;
let browser: Browser;

beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
  browser = await launchChromium();
  await mkdir(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await ws?.close();
});

async function expectNoViolations(page: Page, where: string): Promise<void> {
  const violations = await axeViolations(page);
  expect(violations, describeViolations(where, violations)).toEqual([]);
}

/** Switches the page's theme with its own button (the editor and terminal follow). */
async function useTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme) await page.click('#theme-toggle');
  await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
}

describe.each(KNOWN_LAB_IDS)('lab page %s', (labId) => {
  it('has no WCAG 2.1 AA violations: light and dark, desktop and phone, editor and map, terminal colours and screen-reader mode', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    try {
      await openLab(page, ws.server, labId, 'dark');
      await page.waitForSelector('#steps section.step .check');
      await page.click('#terminal');
      await page.keyboard.type(COLOUR_SAMPLE);
      await page.keyboard.press('Enter');
      await until('the colour sample in the terminal', async () => (await terminalText(page)).includes('dim97'));
      for (const [width, viewport] of [['desktop', DESKTOP], ['mobile', MOBILE]] as const) {
        await page.setViewportSize(viewport);
        for (const theme of ['light', 'dark'] as const) {
          await useTheme(page, theme);
          const where = `${labId} (${theme}, ${width})`;
          await page.click('.tab[data-path]');
          await expectNoViolations(page, `${where}, editor`);
          await page.click('#map-tab');
          await page.waitForSelector('#map .node');
          await page.click('#map summary');
          await expectNoViolations(page, `${where}, map with its table`);
          await page.click('#map summary');
        }
      }
      await page.setViewportSize(DESKTOP);
      await page.click('#screen-reader-mode');
      await page.waitForSelector('#terminal .xterm-accessibility-tree');
      await expectNoViolations(page, `${labId}, terminal in screen-reader mode`);
    } finally {
      await context.close();
    }
  });
});
