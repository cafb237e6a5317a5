/**
 * The lab page in Chromium on the real test cluster: the first-daemonset flow end to end, reload
 * survival, a rolling update on the map, and a cluster restart the page recovers from by itself.
 * Screenshots (light and dark) go to test-results/screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { WORKER_NAMES } from '../../src/server/cluster/topology.ts';
import { launchChromium, openLab, openStartUrl, pasteAndSave, startTestWorkspace, terminalText, until, type TestWorkspace } from './support.ts';

const LAB = 'first-daemonset';
const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots');
const MANIFEST = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: nginx-daemonset
  labels:
    app: nginx
spec:
  selector:
    matchLabels:
      name: nginx-daemonset
  template:
    metadata:
      labels:
        name: nginx-daemonset
    spec:
      containers:
      - name: nginx
        image: nginx:1.19
        ports:
        - containerPort: 80
        resources:
          requests:
            cpu: 50m
            memory: 100Mi
          limits:
            cpu: 100m
            memory: 200Mi
`;

let ws: TestWorkspace;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The manifest is pasted, as a learner pastes from a lesson: typed newlines would be auto-indented.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  page = await context.newPage();
  await mkdir(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await ws?.close();
});

/** Types a command into the page's terminal and presses Enter. */
async function run(command: string): Promise<void> {
  await page.click('#terminal');
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

/** The revisions the map shows per worker, e.g. { "daemonset-lab-worker": ["1"] }. */
function mapRevisions(): Promise<Record<string, string[]>> {
  return page.evaluate(() => {
    const result: Record<string, string[]> = {};
    for (const card of document.querySelectorAll<HTMLElement>('#map .node')) {
      result[card.dataset.node!] = [...card.querySelectorAll<HTMLElement>('.pod--ready')].map((pod) => pod.dataset.revision!);
    }
    return result;
  });
}

describe('the lab page', () => {
  it('runs the first-daemonset flow: type, save, apply, kubectl, map, checks turn green by themselves', async () => {
    await openLab(page, ws.server, LAB, 'dark');
    await pasteAndSave(page, 'nginx-daemonset.yaml', MANIFEST);
    await page.click('#apply-btn');
    await page.waitForSelector('#apply-result[data-ok="true"]').catch(async (error: Error) => {
      // Say what the learner would have seen instead of only that a selector never matched.
      const shown = await page.evaluate(() => ['apply-result', 'problems', 'feedback'].map((id) => `#${id}: ${document.getElementById(id)?.innerText ?? '(none)'}`).join('\n'));
      throw new Error(`${error.message}\nThe page showed:\n${shown}`);
    });
    expect(await page.locator('#apply-result').innerText()).toContain('daemonset.apps/nginx-daemonset created');

    // The map shows a Ready pod on every worker, none on the control plane (its taint is the reason).
    await page.click('#map-tab');
    for (const worker of WORKER_NAMES) await page.waitForSelector(`#map .node[data-node="${worker}"] .pod--ready`);
    expect(await page.locator('#map .node[data-node="daemonset-lab-control-plane"] .node__skipped').innerText()).toContain('taint');

    // The checks turned green without anyone pressing Check.
    await page.waitForSelector('#steps section.step[data-status="pass"] >> nth=1');
    expect(await page.locator('#progress').innerText()).toContain('2 of 2 steps done');

    await run('kubectl get pods -o wide');
    await until('kubectl to list pods on the three workers', async () => {
      const text = await terminalText(page);
      return WORKER_NAMES.every((worker) => new RegExp(`Running.*${worker}\\b`).test(text)) || undefined;
    });
    await page.screenshot({ path: join(SCREENSHOTS, 'lab-map-dark.png') });
  });

  it('keeps the unsaved editor text, the progress and the shell across a reload', async () => {
    await run('export KEPT_ACROSS_RELOAD=yes-$((40+2))');
    await page.click('.tab[data-path="nginx-daemonset.yaml"]');
    await page.click('#editor .view-lines');
    await page.keyboard.press('Control+Home');
    // Monaco shows spaces as no-break spaces; the note is read back with them replaced.
    await page.keyboard.insertText('# unsaved note\n');
    await page.waitForSelector('#file-state[data-dirty="true"]');

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#terminal-state[data-state="connected"]');
    await until('the unsaved note back in the editor', async () => (await page.locator('#editor .view-lines').innerText()).replaceAll('\u00a0', ' ').includes('# unsaved note'));
    expect(await page.locator('#file-state').innerText()).toBe('Unsaved changes');
    await until('the progress back', async () => (await page.locator('#progress').innerText()).includes('2 of 2 steps done'));
    await run('echo "value:$KEPT_ACROSS_RELOAD"');
    await until('the variable set before the reload', async () => (await terminalText(page)).includes('value:yes-42'));
    await page.screenshot({ path: join(SCREENSHOTS, 'lab-editor-dark.png') });
  });

  it('keeps the unsaved editor text across a server restart, and asks for the new token', async () => {
    await ws.restart();
    await page.waitForSelector('body[data-ready="unauthorized"]');
    expect(await page.locator('#banner-text').innerText()).toContain('?token=');
    await openLab(page, ws.server, LAB, 'dark');
    await until('the unsaved note back in the editor', async () => (await page.locator('#editor .view-lines').innerText()).replaceAll('\u00a0', ' ').includes('# unsaved note'));
    await page.waitForSelector('#banner', { state: 'hidden' });
  });

  it('shows YAML errors as markers with line and column, and lessons can open files and run commands', async () => {
    await page.evaluate(() => window.daemonsetLab!.openInEditor('broken.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  nmae: y\ndata: [\n'));
    await page.waitForSelector('.tab[data-path="broken.yaml"]');
    // A syntax error and a misspelt field the cluster's schema does not know, each with its position.
    await until('problems under the editor', async () => {
      const text = await page.locator('#problems').innerText();
      return /Line 5, column 3 .*nmae/.test(text) && /Line 6, column \d+/.test(text) ? text : undefined;
    });
    // Completion offers the DaemonSet fields of the cluster's version.
    await page.evaluate(() => window.daemonsetLab!.openInEditor('complete.yaml', 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: x\nspec:\n  '));
    await page.click('#editor .view-lines');
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Control+Space');
    await page.waitForSelector('.suggest-widget .monaco-list-row[aria-label*="updateStrategy"]');
    await page.keyboard.press('Escape');
    await page.evaluate(() => window.daemonsetLab!.sendToTerminal('echo bridge-$((2*21))\n', { interruptFirst: true }));
    await until('the bridged command output', async () => (await terminalText(page)).includes('bridge-42'));
  });

  it("runs a lesson's command from another tab in the lab terminal", async () => {
    const lesson = await page.context().newPage();
    try {
      await lesson.goto(`${ws.server.origin}/creating-a-daemonset/`);
      const block = lesson.locator('.expressive-code', { hasText: 'kubectl apply -f nginx-daemonset.yaml' }).first();
      await block.getByRole('button', { name: 'Run in terminal' }).click();
    } finally {
      await lesson.close();
    }
    await until('the lesson command in the lab terminal', async () => /daemonset\.apps\/nginx-daemonset (unchanged|configured)/.test(await terminalText(page)));
  });

  it('shows revisions changing on the map during a rolling update', async () => {
    await page.click('#map-tab');
    await until('revision 1 on every worker', async () => {
      const revisions = await mapRevisions();
      return WORKER_NAMES.every((w) => revisions[w]?.includes('1'));
    });
    await run('kubectl set image daemonset/nginx-daemonset nginx=nginx:1.20');
    await until('revision 2 on every worker', async () => {
      const revisions = await mapRevisions();
      return WORKER_NAMES.every((w) => revisions[w]?.length === 1 && revisions[w]?.[0] === '2');
    }, 90_000);
    expect(await page.locator('#map .map__ds').first().innerText()).toContain('revision 2');
  });

  it('shows a new node on the map, with its own pod', async () => {
    const name = await ws.provider.addNode({ name: 'daemonset-lab-worker9', labels: { 'lab.example/new': 'yes' } });
    try {
      await page.waitForSelector(`#map .node[data-node="${name}"] .pod--ready`);
      expect(await page.locator(`#map .node[data-node="${name}"] .node__meta`).innerText()).toContain('lab.example/new=yes');
    } finally {
      await ws.provider.removeNode(name);
    }
    await page.waitForSelector(`#map .node[data-node="${name}"]`, { state: 'detached' });
  });

  it('is light when the site theme is light', async () => {
    await page.evaluate(() => localStorage.setItem('starlight-theme', 'light'));
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    // What the learner sees: the terminal and the editor are light too, with dark text.
    const shades = await page.evaluate(() => {
      const luminance = (color: string) => {
        const [r = 0, g = 0, b = 0] = (color.match(/\d+(\.\d+)?/g) ?? []).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      };
      // The colour painted behind an element: its own background, or the nearest opaque one above it.
      const background = (selector: string) => {
        for (let node: Element | null = document.querySelector(selector); node; node = node.parentElement) {
          const color = getComputedStyle(node).backgroundColor;
          if (!/^rgba\(.*,\s*0\)$|^transparent$/.test(color)) return luminance(color);
        }
        return luminance(getComputedStyle(document.body).backgroundColor);
      };
      return {
        terminal: background('#terminal .xterm-screen'),
        editor: background('#editor .monaco-editor-background'),
        text: luminance(getComputedStyle(document.querySelector('#terminal .xterm-rows')!).color),
      };
    });
    expect(shades.terminal, 'terminal background').toBeGreaterThan(0.9);
    expect(shades.editor, 'editor background').toBeGreaterThan(0.9);
    expect(shades.text, 'terminal text').toBeLessThan(0.3);
    await page.click('#map-tab');
    await page.waitForSelector('#map .pod--ready');
    await page.screenshot({ path: join(SCREENSHOTS, 'lab-map-light.png') });
    await page.click('.tab[data-path="nginx-daemonset.yaml"]');
    await until('the whole file in view', async () => (await page.locator('#editor .view-lines').innerText()).includes('apiVersion'));
    await page.screenshot({ path: join(SCREENSHOTS, 'lab-editor-light.png') });
  });

  it('says when the cluster is down and recovers by itself when it is back', async () => {
    await ws.provider.down();
    await page.waitForSelector('#cluster-status[data-state="down"]', { timeout: 60_000 });
    await page.waitForSelector('#banner:not([hidden])');
    expect(await page.locator('#banner-text').innerText()).toContain('down');
    expect(await page.locator('#banner-action').innerText()).toBe('Start the cluster');
    await page.screenshot({ path: join(SCREENSHOTS, 'lab-cluster-down-light.png') });

    // The page's own fix: the button runs `up` on the server.
    await page.click('#banner-action');
    await page.waitForSelector('#cluster-status[data-state="running"]', { timeout: 60_000 });
    await page.waitForSelector('#banner', { state: 'hidden' });
    expect(await page.locator('#cluster-status').innerText()).toContain('4/4 nodes Ready');
    // The map's watches and the checks came back without a reload.
    await page.click('#map-tab');
    for (const worker of WORKER_NAMES) await page.waitForSelector(`#map .node[data-node="${worker}"] .pod--ready`);
    await page.waitForSelector('#steps section.step[data-status="pass"] >> nth=1');
    await run('kubectl get ds nginx-daemonset -o name');
    await until('kubectl to work again from the same shell', async () => (await terminalText(page)).includes('daemonset.apps/nginx-daemonset'));
  });

  it('says the lab was completed earlier when the cluster no longer shows it, not "lab complete" above failing checks', async () => {
    // The cluster is reset outside the lab (npm run cluster -- reset): the stored completion stays.
    await ws.provider.reset();
    await until('the progress line to tell the stored completion from the live checks', async () => ((await page.locator('#progress').innerText()).includes('completed earlier') ? true : undefined), 60_000);
    const text = await page.locator('#progress').innerText();
    expect(text).toContain('the cluster no longer shows');
    expect(text).not.toContain('lab complete');
    expect(await page.locator('#steps section.step[data-status="pass"]').count()).toBe(0);
  });

  it('shows the solution as a diff against the learner file', async () => {
    await page.click('#solution-btn');
    await page.waitForSelector('#solution-dialog[open] .monaco-diff-editor');
    await page.waitForSelector('#solution-files .tab[data-path="nginx-daemonset.yaml"][aria-pressed="true"]');
    await page.screenshot({ path: join(SCREENSHOTS, 'lab-solution-light.png') });
    await page.click('#solution-dialog button[value="close"]');
    await page.waitForSelector('#solution-dialog', { state: 'hidden' });
  });

  it('resets the lab after a confirmation: start files, fresh shell, checks back to the start', async () => {
    await page.click('#reset-btn');
    await page.waitForSelector('#reset-dialog[open]');
    await page.click('#reset-confirm');
    await until('the steps back to not passed', async () => (await page.locator('#steps section.step[data-status="pass"]').count()) === 0);
    await page.waitForSelector('#terminal-state[data-state="connected"]');
    await page.click('.tab[data-path="nginx-daemonset.yaml"]');
    await until('the start file in the editor', async () => (await page.locator('#editor .view-lines').innerText()).replaceAll('\u00a0', ' ').includes('TODO'));
    expect(await page.locator('#file-state').innerText()).toBe('Saved');
    await run('echo "value:${KEPT_ACROSS_RELOAD:-gone}"');
    await until('a fresh shell without the old variable', async () => (await terminalText(page)).includes('value:gone'));
  });
});

/** The editor's chunk (Monaco, most of the page's script), as the page requests it. */
const EDITOR_CHUNK = /\/_astro\/files\.[\w-]+\.js$/;

/** A lab page whose editor chunk is held back, as on a slow network, until `release()`; its shell connected. */
async function openWithEditorHeld(): Promise<{ context: BrowserContext; page: Page; release: () => void }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const slow = await context.newPage();
  let release: () => void = () => undefined;
  const editorHeld = new Promise<void>((resolve) => (release = resolve));
  await slow.route(EDITOR_CHUNK, async (route) => {
    await editorHeld;
    await route.continue();
  });
  await openStartUrl(slow, ws.server);
  await slow.goto(`${ws.server.origin}/labs/first-daemonset/`);
  await slow.waitForSelector('#terminal-state[data-state="connected"]');
  return { context, page: slow, release: () => release() };
}

describe('the lab page on a slow connection', () => {
  it('opens the shell without waiting for the editor, which loads after it', async () => {
    const { context, page: slow, release } = await openWithEditorHeld();
    try {
      await slow.click('#terminal');
      await slow.keyboard.type('kubectl get nodes');
      await slow.keyboard.press('Enter');
      await until('kubectl to list the nodes', async () => (await terminalText(slow)).includes('daemonset-lab-control-plane'));
      expect(await slow.locator('#editor').innerText()).toBe('Loading the editor…');
      expect(await slow.getAttribute('body', 'data-ready')).not.toBe('true');
      release();
      await slow.waitForSelector('body[data-ready="true"]');
      await slow.waitForSelector('.tab[data-path="nginx-daemonset.yaml"][aria-selected="true"]');
      await until('the start file in the editor', async () => (await slow.locator('#editor .view-lines').innerText()).replaceAll('\u00a0', ' ').includes('TODO'));
    } finally {
      release();
      await context.close();
    }
  });

  it('keeps the map and the focus where the learner put them while the editor was loading', async () => {
    const { context, page: slow, release } = await openWithEditorHeld();
    try {
      // The map tab works, and is the tab list's stop, before the editor exists.
      await slow.click('#map-tab');
      expect(await slow.getAttribute('#map-tab', 'aria-selected')).toBe('true');
      expect(await slow.getAttribute('#map-tab', 'tabindex')).toBe('0');
      expect(await slow.locator('#map').isVisible()).toBe(true);
      // "Skip to editor", then the learner goes on to the terminal before the editor arrives.
      await slow.evaluate(() => document.querySelector<HTMLAnchorElement>('a[data-skip="editor"]')!.click());
      await slow.click('#terminal');
      release();
      await slow.waitForSelector('body[data-ready="true"]');
      expect(await slow.locator('#map').isVisible()).toBe(true);
      expect(await slow.getAttribute('#map-tab', 'aria-selected')).toBe('true');
      expect(await slow.evaluate(() => document.activeElement?.closest('#terminal') !== null)).toBe(true);
    } finally {
      release();
      await context.close();
    }
  });

  it('says the editor could not load, and still shows the checks and runs the shell', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const broken = await context.newPage();
    await broken.route(EDITOR_CHUNK, (route) => route.abort());
    try {
      await openStartUrl(broken, ws.server);
      await broken.goto(`${ws.server.origin}/labs/first-daemonset/`);
      await until('the status line to name the editor', async () => (await broken.locator('#action-status').innerText()).includes('The editor could not be loaded'));
      expect(await broken.locator('#action-status').innerText()).toContain('Reload the page');
      await broken.waitForSelector('#steps section.step .check');
      await broken.waitForSelector('#terminal-state[data-state="connected"]');
      await broken.click('#terminal');
      await broken.keyboard.type('echo shell-still-here');
      await broken.keyboard.press('Enter');
      // The command line and its output: the word twice.
      await until('the shell to answer', async () => (await terminalText(broken)).split('shell-still-here').length > 2);
    } finally {
      await context.close();
    }
  });
});
