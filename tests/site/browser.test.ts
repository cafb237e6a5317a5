/**
 * Browser tests against the production build: navigation, Pagefind search,
 * theme switching, knowledge checks, the lab buttons on code blocks, and
 * screenshots for visual review (saved under test-results/screenshots/).
 *
 * Uses Debian's Chromium at /usr/bin/chromium (`apt-get install -y chromium`).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DIST_DIR, ROOT_DIR } from './site-files.ts';
import { startStaticServer, type StaticServer } from './static-server.ts';

const SCREENSHOT_DIR = join(ROOT_DIR, 'test-results', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 390, height: 844 };

let server: StaticServer;
let browser: Browser;
/** Uncaught errors from any page opened by the current test. */
let pageErrors: string[] = [];

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}. Install it with: apt-get install -y chromium`);
  }
  server = await startStaticServer(DIST_DIR);
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterEach(() => {
  const errors = pageErrors;
  pageErrors = [];
  expect(errors, 'uncaught errors in the page').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh context (own storage) with an optional stored theme preference. */
async function newContext(options: { theme?: 'light' | 'dark'; mobile?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: options.mobile ? MOBILE : DESKTOP,
    deviceScaleFactor: options.mobile ? 2 : 1,
    isMobile: options.mobile ?? false,
    hasTouch: options.mobile ?? false,
    colorScheme: 'dark',
  });
  if (options.theme) {
    await context.addInitScript((theme) => localStorage.setItem('starlight-theme', theme), options.theme);
  }
  return context;
}

/** Opens a site path; uncaught page errors fail the test (see afterEach). */
async function open(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${path}: ${error.message}`));
  await page.goto(server.origin + path, { waitUntil: 'load' });
  return page;
}

describe('lessons site in Chromium', () => {
  it('opens the home page and navigates to the first lesson', async () => {
    const context = await newContext();
    const page = await open(context, '/');
    await expect(page.title()).resolves.toContain('DaemonSet Lab');
    expect(await page.locator('main').count()).toBe(1);
    await page.getByRole('link', { name: 'Start the first lesson' }).click();
    await page.waitForURL('**/what-is-a-daemonset/');
    await expect(page.locator('h1').first().textContent()).resolves.toBe('What is a DaemonSet?');
    // Starlight's pagination takes the learner on to the next lesson.
    await page.locator('a[rel="next"]').click();
    await page.waitForURL('**/creating-a-daemonset/');
    const labLink = page.locator('a[data-lab-link]').first();
    await expect(labLink.getAttribute('href')).resolves.toBe('/labs/first-daemonset/');
    await context.close();
  });

  it('finds the taints lesson with Pagefind search', async () => {
    const context = await newContext();
    const page = await open(context, '/what-is-a-daemonset/');
    // The button is enabled once the search component has loaded.
    await page.locator('button[data-open-modal]:not([disabled])').click();
    const input = page.locator('#starlight__search input');
    await input.waitFor();
    await input.fill('tolerations');
    const result = page.locator('#starlight__search a[href*="/taints-and-tolerations/"]').first();
    await result.waitFor({ timeout: 20_000 });
    await result.click();
    await page.waitForURL('**/taints-and-tolerations/**');
    await expect(page.locator('h1').first().textContent()).resolves.toBe('Taints and tolerations');
    await context.close();
  });

  it('switches between dark and light themes', async () => {
    const context = await newContext();
    const page = await open(context, '/what-is-a-daemonset/');
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    // The header and the mobile menu each have a theme picker; use the one on screen.
    const select = page.locator('starlight-theme-select select:visible').first();
    await select.selectOption('light');
    await expect(theme()).resolves.toBe('light');
    await select.selectOption('dark');
    await expect(theme()).resolves.toBe('dark');
    // The choice survives navigation.
    await page.reload();
    await expect(theme()).resolves.toBe('dark');
    await context.close();
  });

  it('checks quiz answers in the page', async () => {
    const context = await newContext();
    const page = await open(context, '/what-is-a-daemonset/');
    const question = page.locator('form.quiz__question').first();
    const feedback = question.locator('[role="status"]');
    await question.scrollIntoViewIfNeeded();

    await question.getByRole('button', { name: 'Check' }).click();
    await expect(feedback.textContent()).resolves.toContain('Choose an answer first');

    // Option 0 is wrong ("One, until you set replicas"), option 1 is right.
    await question.locator('input[type="radio"]').nth(0).check();
    await question.getByRole('button', { name: 'Check' }).click();
    await expect(question.getAttribute('data-result')).resolves.toBe('wrong');
    await expect(feedback.textContent()).resolves.toMatch(/Not quite.*replicas/);

    await question.getByRole('radio', { name: /Five: one per worker node/ }).check();
    await expect(question.getAttribute('data-result')).resolves.toBeNull();
    await question.getByRole('button', { name: 'Check' }).click();
    await expect(question.getAttribute('data-result')).resolves.toBe('right');
    await expect(feedback.textContent()).resolves.toMatch(/^Correct!.*exactly one pod/);
    await context.close();
  });
});

describe('lab buttons on code blocks', () => {
  it('stay hidden when no lab workspace is around', async () => {
    const context = await newContext();
    const page = await open(context, '/creating-a-daemonset/');
    await page.waitForTimeout(300);
    const toolbars = page.locator('.lab-code-actions');
    expect(await toolbars.count()).toBeGreaterThan(0);
    expect(await page.locator('.lab-code-actions:visible').count()).toBe(0);
    await context.close();
  });

  it('talk to an in-page bridge (window.daemonsetLab)', async () => {
    const context = await newContext();
    await context.addInitScript(() => {
      const calls: unknown[] = [];
      Object.assign(window, {
        labCalls: calls,
        daemonsetLab: {
          sendToTerminal: (text: string, opts: { interruptFirst: boolean }) => calls.push(['terminal', text, opts]),
          openInEditor: (fileName: string, yaml: string) => calls.push(['editor', fileName, yaml]),
        },
      });
    });
    const page = await open(context, '/creating-a-daemonset/');
    const manifest = page.locator('.expressive-code', { hasText: 'kind: DaemonSet' }).first();
    await manifest.getByRole('button', { name: 'Open in editor' }).click();
    const apply = page.locator('.expressive-code', { hasText: 'kubectl apply -f nginx-daemonset.yaml' }).first();
    await apply.getByRole('button', { name: 'Run in terminal' }).click();
    await apply.getByRole('button', { name: 'Ctrl-C, then run' }).click();

    const calls = (await page.evaluate(() => (window as unknown as { labCalls: unknown[] }).labCalls)) as [
      string,
      string,
      unknown,
    ][];
    expect(calls).toHaveLength(3);
    const [editor, run, interruptAndRun] = calls;
    expect(editor?.[0]).toBe('editor');
    expect(editor?.[1]).toBe('nginx-daemonset.yaml');
    expect(editor?.[2]).toMatch(/^apiVersion: apps\/v1\nkind: DaemonSet\n[\s\S]*cpu: 50m\n$/);
    // Like Expressive Code's copy button, the terminal gets the commands without comments and blank lines.
    expect(run).toEqual([
      'terminal',
      'kubectl apply -f nginx-daemonset.yaml\nkubectl get daemonsets\nkubectl get pods -o wide\n',
      { interruptFirst: false },
    ]);
    expect(interruptAndRun?.[2]).toEqual({ interruptFirst: true });
    // Commands with <placeholders> are templates, not runnable: no run buttons there.
    const troubleshooting = await open(context, '/troubleshooting-crashloop/');
    const template = troubleshooting.locator('.expressive-code', { hasText: 'kubectl logs <pod-name>' }).first();
    expect(await template.getByRole('button', { name: 'Run in terminal' }).count()).toBe(0);
    // The home page's `npm install && npm start` is for the learner's machine, not the lab.
    const home = await open(context, '/');
    expect(await home.locator('.expressive-code').count()).toBeGreaterThan(0);
    expect(await home.locator('.lab-code-actions').count()).toBe(0);
    await context.close();
  });

  it('talk to a lab page in another tab over BroadcastChannel', async () => {
    const context = await newContext();
    // Any same-origin page can play the lab tab. Use one that will never be a real lab page,
    // so that a real lab answering on the channel cannot interfere.
    const lab = await open(context, '/404.html');
    await lab.evaluate(() => {
      const channel = new BroadcastChannel('daemonset-lab');
      const received: unknown[] = [];
      Object.assign(window, { received });
      const labInstanceId = 'lab-tab-1';
      channel.onmessage = ({ data }) => {
        if (data.type === 'ping') channel.postMessage({ type: 'pong', labInstanceId, labId: 'first-daemonset' });
        else if (data.target === labInstanceId) received.push(data);
      };
    });
    const lesson = await open(context, '/creating-a-daemonset/');
    const apply = lesson.locator('.expressive-code', { hasText: 'kubectl apply -f nginx-daemonset.yaml' }).first();
    const runButton = apply.getByRole('button', { name: 'Run in terminal' });
    await runButton.waitFor({ state: 'visible', timeout: 5_000 });
    await runButton.click();
    await expect.poll(() => apply.locator('[role="status"]').textContent()).toBe('Sent to the lab.');
    await lab.waitForFunction(() => (window as unknown as { received: unknown[] }).received.length > 0);
    const received = await lab.evaluate(() => (window as unknown as { received: unknown[] }).received);
    expect(received).toEqual([
      {
        type: 'send-to-terminal',
        target: 'lab-tab-1',
        text: 'kubectl apply -f nginx-daemonset.yaml\nkubectl get daemonsets\nkubectl get pods -o wide\n',
        interruptFirst: false,
      },
    ]);

    // When the lab says goodbye, the buttons disappear again.
    await lab.evaluate(() =>
      new BroadcastChannel('daemonset-lab').postMessage({ type: 'bye', labInstanceId: 'lab-tab-1' }),
    );
    await runButton.waitFor({ state: 'hidden', timeout: 5_000 });
    await context.close();
  });
});

describe('screenshots', () => {
  const variants = [
    { name: 'lesson-light-desktop', theme: 'light', mobile: false },
    { name: 'lesson-dark-desktop', theme: 'dark', mobile: false },
    { name: 'lesson-light-mobile', theme: 'light', mobile: true },
    { name: 'lesson-dark-mobile', theme: 'dark', mobile: true },
  ] as const;

  it.each(variants)('saves $name', async ({ name, theme, mobile }) => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const context = await newContext({ theme, mobile });
    const page = await open(context, '/taints-and-tolerations/');
    await expect(page.evaluate(() => document.documentElement.dataset.theme)).resolves.toBe(theme);
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) });
    // A second shot further down shows code blocks and a knowledge check.
    await page.locator('form.quiz__question').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-quiz.png`) });
    await context.close();
  });
});
