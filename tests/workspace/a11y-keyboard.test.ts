/**
 * The lab page with the keyboard alone, on the real test cluster: the focus order (with a
 * screenshot of it), no keyboard trap in the editor or the terminal, first-daemonset completed
 * without a single mouse event, check results announced through the live region, dependent checks
 * saying what they wait for, and the terminal's screen-reader mode (with a screenshot).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { WORKER_NAMES } from '../../src/server/cluster/topology.ts';
import { launchChromium, openLab, startTestWorkspace, terminalText, until, type TestWorkspace } from './support.ts';

const LAB = 'first-daemonset';
const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots');
const SOLUTION = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: nginx-daemonset
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
        resources:
          requests:
            cpu: 50m
            memory: 100Mi
          limits:
            cpu: 100m
            memory: 200Mi
`;

/** A focus stop: what has the focus, and where it is drawn. */
interface FocusStop {
  /** The same for every visit of the same element (the editor and the terminal each count as one). */
  key: string;
  name: string;
  box: { x: number; y: number; width: number; height: number };
}

let ws: TestWorkspace;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
  // The cluster is shared with the other files: start from the lab's start state, whatever ran before.
  await ws.engine.reset(LAB);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  // Every mouse action the page receives, and everything the live region says.
  await context.addInitScript(() => {
    const record = window as unknown as { mouseEvents: string[]; announced: string[] };
    record.mouseEvents = [];
    record.announced = [];
    for (const type of ['pointerdown', 'mousedown', 'mouseup', 'contextmenu', 'wheel', 'dblclick']) {
      addEventListener(type, () => record.mouseEvents.push(type), true);
    }
    // A click from the keyboard (Enter, Space) has detail 0; a mouse click counts its presses.
    addEventListener('click', (event) => event.detail > 0 && record.mouseEvents.push('click'), true);
    addEventListener('DOMContentLoaded', () => {
      const region = document.getElementById('check-announcer');
      if (!region) return;
      new MutationObserver(() => region.textContent && record.announced.push(region.textContent)).observe(region, { childList: true, characterData: true, subtree: true });
    });
  });
  page = await context.newPage();
  await mkdir(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await ws?.close();
});

/** What has the focus now: the editor, the terminal, or the element's role, id and name. */
function focusStop(): Promise<FocusStop> {
  return page.evaluate(() => {
    const active = document.activeElement as HTMLElement | null;
    if (!active || active === document.body) return { key: 'body', name: 'body', box: { x: 0, y: 0, width: 0, height: 0 } };
    const part = active.closest('#editor') ? document.getElementById('editor')! : active.closest('#terminal') ? document.getElementById('terminal')! : active;
    const counter = window as unknown as { focusStops?: number };
    part.dataset.focusStop ??= String((counter.focusStops = (counter.focusStops ?? 0) + 1));
    const what = `${active.getAttribute('role') ?? active.tagName.toLowerCase()}${active.id ? `#${active.id}` : ''} "${(active.getAttribute('aria-label') ?? active.textContent ?? '').trim().slice(0, 40)}"`;
    // The editor's and the terminal's own text inputs are "editor" and "terminal"; any other
    // element inside them (a widget) is named as itself.
    const input = active.matches('textarea, [role="textbox"]');
    const name = part.id === 'editor' && input ? 'editor' : part.id === 'terminal' && input ? 'terminal' : part === active ? what : `${part.id}: ${what}`;
    const rect = part.getBoundingClientRect();
    return { key: part.dataset.focusStop, name, box: { x: rect.x, y: rect.y, width: rect.width, height: rect.height } };
  });
}

/** Presses Tab (or Shift+Tab) until `wanted` has the focus; fails naming the stops it passed. */
async function tabTo(wanted: (stop: FocusStop) => boolean, what: string, backwards = false): Promise<void> {
  const passed: string[] = [];
  for (let presses = 0; presses < 80; presses++) {
    const stop = await focusStop();
    if (wanted(stop)) return;
    passed.push(stop.name);
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`${what} never got the focus; the focus went: ${passed.join(' → ')}`);
}

const named = (text: string) => (stop: FocusStop) => stop.name.includes(text);

/** Draws the focus order on the page (numbered boxes) for the screenshot. */
async function drawFocusOrder(stops: readonly FocusStop[]): Promise<void> {
  await page.evaluate((all) => {
    const layer = document.createElement('div');
    layer.id = 'focus-order-overlay';
    layer.style.cssText = 'position:fixed;inset:0;pointer-events:none;z-index:1000';
    all.forEach((stop, index) => {
      const box = document.createElement('div');
      box.style.cssText = `position:fixed;left:${stop.box.x}px;top:${stop.box.y}px;width:${Math.max(stop.box.width, 8)}px;height:${Math.max(stop.box.height, 8)}px;outline:2px solid #e3008c;`;
      const badge = document.createElement('span');
      badge.textContent = String(index + 1);
      badge.style.cssText = 'position:absolute;left:-2px;top:-2px;background:#e3008c;color:#fff;font:bold 12px sans-serif;padding:0 4px;border-radius:8px';
      box.append(badge);
      layer.append(box);
    });
    document.body.append(layer);
  }, stops);
}

describe('the lab page by keyboard alone', () => {
  it('says once what a failing check waits for, instead of repeating the same hint', async () => {
    await openLab(page, ws.server, LAB, 'dark');
    await until('the checks, failing', async () => (await page.locator('#steps .check--fail').count()) >= 4);
    const steps = await page.locator('#steps').innerText();
    // One DaemonSet missing fails every check; its hint is shown under the first one only.
    expect(steps.match(/kubectl apply -f nginx-daemonset\.yaml, then list it/g)).toHaveLength(1);
    expect(await page.locator('#steps .check__waits').allInnerTexts()).toEqual([
      'Waits for “DaemonSet nginx-daemonset exists”.',
      'Waits for “DaemonSet nginx-daemonset exists”.',
      'Waits for “DaemonSet nginx-daemonset exists” (step 1).',
    ]);
  });

  it('moves through the page in a sensible order, with no trap in the editor or the terminal', async () => {
    // The page opens with the focus at its start, not in the editor.
    expect((await focusStop()).name).toBe('body');
    const stops: FocusStop[] = [];
    for (let presses = 0; presses < 40; presses++) {
      await page.keyboard.press('Tab');
      const stop = await focusStop();
      if (stops.some((s) => s.key === stop.key)) break;
      stops.push(stop);
    }
    const names = stops.map((s) => s.name);
    const order = ['Skip to instructions', 'Skip to editor', 'Skip to terminal', 'Skip to checks', 'DaemonSet Lab', 'theme-toggle', 'region#steps', 'check-btn', 'split-main', 'tab#file-tab-0', 'new-file', 'tab-mode', 'save-btn', 'apply-btn', 'editor', 'split-work', 'terminal-tab-mode', 'screen-reader-mode', 'terminal'];
    const positions = order.map((part) => names.findIndex((name) => (part === 'editor' || part === 'terminal' ? name === part : name.includes(part))));
    expect(positions.every((p) => p >= 0), `every part reachable by Tab; the order was: ${names.join(' → ')}`).toBe(true);
    expect([...positions].sort((a, b) => a - b), `the order was: ${names.join(' → ')}`).toEqual(positions);
    // Skip links are drawn when focused (visible focus), and the rest carries an outline.
    await drawFocusOrder(stops.filter((s) => s.box.width > 0));
    await page.screenshot({ path: join(SCREENSHOTS, 'a11y-focus-order.png') });
    await page.evaluate(() => document.getElementById('focus-order-overlay')?.remove());
    // The terminal is the last stop: Tab leaves it too.
    await tabTo(named('terminal'), 'the terminal');
    await page.keyboard.press('Tab');
    expect((await focusStop()).name).not.toBe('terminal');
  });

  it('completes first-daemonset: edit, apply, kubectl, Check — without the mouse', async () => {
    await tabTo(named('Skip to editor'), 'the skip link to the editor', true);
    await page.screenshot({ path: join(SCREENSHOTS, 'a11y-skip-link-focused.png') });
    await page.keyboard.press('Enter');
    await page.waitForSelector('#editor .monaco-editor.focused');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.evaluate((text) => navigator.clipboard.writeText(text), SOLUTION);
    await page.keyboard.press('Control+V');
    // Monaco draws spaces as no-break spaces.
    await until('the pasted manifest in the editor', async () => (await page.locator('#editor .view-lines').innerText()).replaceAll('\u00a0', ' ').includes('memory: 200Mi'));
    // Ctrl+Enter saves and applies.
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('#apply-result[data-ok="true"]');
    expect(await page.locator('#apply-result').innerText()).toContain('daemonset.apps/nginx-daemonset created');

    // Tab leaves the editor (Monaco's tab focus mode); Ctrl+M makes Tab indent, and back.
    await page.keyboard.press('Tab');
    expect((await focusStop()).name).not.toMatch(/^editor/);
    await page.keyboard.press('Shift+Tab');
    expect((await focusStop()).name).toBe('editor');
    await page.keyboard.press('Control+M');
    await until('the Tab mode shown as indenting', async () => (await page.locator('#tab-mode').innerText()).startsWith('Tab indents'));
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Tab');
    expect((await focusStop()).name).toBe('editor');
    // The indent changed the saved file: the editor says so; undo takes it back.
    await page.waitForSelector('#file-state[data-dirty="true"]');
    await page.keyboard.press('Control+Z');
    await page.waitForSelector('#file-state[data-dirty="false"]');
    await page.keyboard.press('Control+M');
    await until('the Tab mode shown as moving the focus', async () => (await page.locator('#tab-mode').innerText()).startsWith('Tab moves focus'));

    // The checks turn green by themselves, and the live region says so.
    await page.waitForSelector('#steps section.step[data-status="pass"] >> nth=1', { timeout: 60_000 });
    const announced = await until('the live region to announce the results', async () => {
      const said = await page.evaluate(() => (window as unknown as { announced: string[] }).announced.join(' | '));
      return said.includes('Lab complete') ? said : undefined;
    });
    expect(announced).toContain('Passes: DaemonSet nginx-daemonset exists.');
    expect(announced).toContain('Step 2 done: Set resource requests and limits.');

    // kubectl in the terminal, reached by its skip link.
    await tabTo(named('Skip to terminal'), 'the skip link to the terminal', true);
    await page.keyboard.press('Enter');
    expect((await focusStop()).name).toBe('terminal');
    await page.keyboard.type('kubectl get pods -o wide');
    await page.keyboard.press('Enter');
    await until('kubectl to list pods on the three workers', async () => {
      const text = await terminalText(page);
      return WORKER_NAMES.every((worker) => new RegExp(`Running.*${worker}\\b`).test(text)) || undefined;
    });

    // Check, reached with Shift+Tab from the terminal, pressed with Enter.
    await tabTo((stop) => stop.name.includes('check-btn'), 'the Check button', true);
    await page.screenshot({ path: join(SCREENSHOTS, 'a11y-check-button-focused.png') });
    await page.keyboard.press('Enter');
    await until('the check run by the button', async () => (await page.locator('#action-status').innerText()) === 'Checking: done.');
    expect(await page.locator('#progress').innerText()).toBe('2 of 2 steps done — lab complete');

    expect(await page.evaluate(() => (window as unknown as { mouseEvents: string[] }).mouseEvents)).toEqual([]);
  });

  it('offers the terminal in screen-reader mode, switched on by keyboard', async () => {
    await tabTo(named('screen-reader-mode'), 'the screen-reader mode button', true);
    await page.keyboard.press('Space');
    await page.waitForSelector('#screen-reader-mode[aria-pressed="true"]');
    await page.waitForSelector('#terminal .xterm-accessibility-tree');
    await tabTo(named('terminal'), 'the terminal');
    await page.keyboard.type('echo screen-reader-$((6*7))');
    await page.keyboard.press('Enter');
    // What a screen reader reads: xterm's accessibility tree holds the output lines.
    await until('the output in the accessibility tree', async () => (await page.locator('#terminal .xterm-accessibility-tree').textContent())?.includes('screen-reader-42'));
    await page.screenshot({ path: join(SCREENSHOTS, 'a11y-lab-screen-reader-mode.png') });
    // The choice is remembered.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#screen-reader-mode[aria-pressed="true"]');
    await page.waitForSelector('#terminal .xterm-accessibility-tree');
    expect(await page.evaluate(() => (window as unknown as { mouseEvents: string[] }).mouseEvents)).toEqual([]);
  });

  it('has the map as a table of nodes and pods', async () => {
    await tabTo((stop) => stop.name.includes('tab#file-tab-0'), 'the file tab');
    await page.keyboard.press('End');
    await page.waitForSelector('#map:not([hidden])');
    expect((await focusStop()).name).toContain('map-tab');
    await page.keyboard.press('Tab');
    await tabTo(named('summary'), 'the table summary');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#map details[open] tbody tr');
    const rows = await page.locator('#map tbody tr').allInnerTexts();
    for (const worker of WORKER_NAMES) expect(rows.find((row) => row.startsWith(`${worker}\t`))).toMatch(/nginx-daemonset-\w+: Ready, revision 1/);
    expect(rows.find((row) => row.startsWith('daemonset-lab-control-plane\t'))).toContain('taint');
    await page.locator('#map table').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, 'a11y-map-table.png') });
  });
});
