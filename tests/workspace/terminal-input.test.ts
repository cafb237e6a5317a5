/**
 * What a learner types into the lab terminal reaches the shell whole and in order: keys typed the
 * moment the terminal appears (before its WebSocket is open and the shell has printed a prompt),
 * a paste far bigger than one WebSocket message, and keys typed while the lab is still being set up
 * (the shell opens after the start, whose reset would undo them). Real Chromium, real shell, real cluster.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WORKER_NAMES } from '../../src/server/cluster/topology.ts';
import { MAX_WS_PAYLOAD } from '../../src/server/web/server.ts';
import { launchChromium, openLab, openStartUrl, startTestWorkspace, TerminalClient, terminalText, terminalUrl, until, type TestWorkspace } from './support.ts';

const LAB = 'first-daemonset';
let ws: TestWorkspace;
let browser: Browser;

beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
  const started = await fetch(`${ws.server.origin}/api/labs/${LAB}/start`, { method: 'POST', headers: { authorization: `Bearer ${ws.server.token}` } });
  expect(started.status).toBe(200);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await ws?.close();
});

/** A fresh browser context whose pages hold the token, as after opening the start URL. */
async function contextWithToken(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await openStartUrl(page, ws.server);
  // The token is in this origin's storage, not in a cookie another port of 127.0.0.1 would get.
  expect(await context.cookies()).toEqual([]);
  await page.close();
  return context;
}

describe('the lab terminal', () => {
  it('gets `kubectl get nodes⏎` typed at full speed the moment the terminal appears, whole and in order, every time', async () => {
    // From machine speed to a fast typist's: whatever the pace, the keys must span every moment of
    // the shell's start (socket connecting, shell printing its prompt, the first input written).
    const delays = [0, 10, 30, 60, 100, 150];
    for (const [index, delay] of delays.entries()) {
      const run = `${index + 1} (${delay} ms between keys)`;
      // A new shell each time: the keys race its start, as on a learner's first visit.
      ws.server.terminals.end(LAB);
      const context = await contextWithToken();
      try {
        const page = await context.newPage();
        // Not waiting for the page's load event (the editor's scripts take a while): by then the
        // shell would long be ready. The keys come the moment the terminal exists.
        await page.goto(`${ws.server.origin}/labs/${LAB}/`, { waitUntil: 'commit' });
        // The terminal is on screen: type at once, without waiting for "connected" or a prompt.
        await page.waitForSelector('#terminal .xterm-helper-textarea', { state: 'attached', timeout: 60_000 });
        await page.focus('#terminal .xterm-helper-textarea');
        await page.keyboard.type('kubectl get nodes', { delay });
        await page.keyboard.press('Enter', { delay });
        const shown = await until(
          `run ${run}: kubectl's node list in the terminal`,
          async () => {
            const text = await terminalText(page);
            return WORKER_NAMES.every((worker) => text.includes(worker)) && /NAME\s+STATUS/.test(text) ? text : undefined;
          },
          20_000,
        ).catch(async (error: Error) => {
          throw new Error(`${error.message}\nThe terminal showed:\n${await terminalText(page)}`);
        });
        expect(shown, `run ${run}`).not.toMatch(/command not found|No such file/);
        expect(shown, `run ${run}`).toContain('kubectl get nodes');
      } finally {
        await context.close();
      }
    }
  }, 300_000);

  it('keeps keys typed in the very moment the terminal is created, before its socket has opened', async () => {
    // Faster than any CDP round trip: a script in the page types as soon as xterm's input element
    // exists (the input events a keyboard produces), so the keys come before the WebSocket opens.
    for (let run = 1; run <= 3; run++) {
      ws.server.terminals.end(LAB);
      const context = await contextWithToken();
      try {
        await context.addInitScript(() => {
          const typeAll = (textarea: Element) => {
            for (const data of [...'kubectl get nodes', '\r']) textarea.dispatchEvent(new InputEvent('input', { data, inputType: 'insertText', bubbles: true }));
          };
          new MutationObserver((_changes, observer) => {
            const textarea = document.querySelector('#terminal .xterm-helper-textarea');
            if (!textarea) return;
            observer.disconnect();
            typeAll(textarea);
          }).observe(document, { childList: true, subtree: true });
        });
        const page = await context.newPage();
        await page.goto(`${ws.server.origin}/labs/${LAB}/`, { waitUntil: 'commit' });
        await until(
          `run ${run}: kubectl's node list in the terminal`,
          async () => {
            const text = await terminalText(page);
            return WORKER_NAMES.every((worker) => text.includes(worker)) && /NAME\s+STATUS/.test(text) ? text : undefined;
          },
          30_000,
        ).catch(async (error: Error) => {
          throw new Error(`${error.message}\nThe terminal showed:\n${await terminalText(page).catch(() => '(no terminal)')}`);
        });
        expect(await terminalText(page), `run ${run}`).not.toMatch(/command not found/);
      } finally {
        await context.close();
      }
    }
  }, 300_000);

  it('runs a command whose keys reach the server one message each while its shell is still starting, in order, every time', async () => {
    // What the page sends when the learner types as the terminal connects: single keys, from the
    // moment the socket opens, before the shell has printed its prompt; some arrive before the
    // shell is ready and some after, at every pace.
    const command = 'echo "in-order-$((6*7))-abcdefghijklmnop"\r';
    for (const spacing of [0, 5, 15, 30, 60, 5, 15, 30]) {
      ws.server.terminals.end(LAB);
      const client = new TerminalClient(terminalUrl(ws.server, LAB), { token: ws.server.token });
      try {
        await client.opened();
        for (const key of command) {
          client.type(key);
          if (spacing) await new Promise((resolve) => setTimeout(resolve, spacing));
        }
        await client.waitFor('in-order-42-abcdefghijklmnop', 0, 20_000).catch((error: Error) => {
          throw new Error(`${spacing} ms between keys: ${error.message}`);
        });
        expect(client.output, `${spacing} ms between keys`).not.toMatch(/command not found|syntax error|unexpected EOF/);
      } finally {
        await client.close();
      }
    }
  }, 300_000);

  it(`takes a paste far bigger than one WebSocket message (${MAX_WS_PAYLOAD / 1024} KiB) whole, and stays connected`, async () => {
    const target = join(ws.engine.workspaceDir(LAB), 'paste.txt');
    await rm(target, { force: true });
    const lines = Array.from({ length: 3000 }, (_, i) => `line-${String(i).padStart(5, '0')} ${'abcdefghij'.repeat(9)}`);
    const text = `${lines.join('\n')}\n`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(2 * MAX_WS_PAYLOAD);
    const context = await contextWithToken();
    try {
      const page = await context.newPage();
      await openLab(page, ws.server, LAB);
      await page.click('#terminal');
      // The marker is printed after bash has left line editing (and turned bracketed paste off):
      // from then on, the paste goes to cat as it is.
      await page.keyboard.type('echo "paste-$((2+2))"; cat > paste.txt');
      await page.keyboard.press('Enter');
      await until('the marker before cat reads', async () => (await terminalText(page)).includes('paste-4'));
      // What the browser does on a paste (Ctrl+V is ^V in a terminal; the menu's Paste fires this event).
      await page.evaluate((content) => {
        const data = new DataTransfer();
        data.setData('text/plain', content);
        document.querySelector('#terminal .xterm-helper-textarea')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      }, text);
      // End of input, typed after the paste: it reaches cat only after every pasted line. (The
      // screen may not show every echoed line: the kernel drops echo while output is paused.)
      await page.keyboard.press('Control+D');
      await until('the whole paste in the file', async () => (await readFile(target, 'utf8').catch(() => '')).length === text.length || undefined, 60_000).catch(async (error: Error) => {
        const got = await readFile(target, 'utf8').catch(() => '');
        const gotLines = got.split('\n');
        const firstDiff = gotLines.findIndex((line, i) => line !== lines[i]);
        throw new Error(`${error.message}: the file has ${got.length} of ${text.length} characters, ${gotLines.length - 1} lines; first difference at line ${firstDiff}: ${JSON.stringify(gotLines[firstDiff])} vs ${JSON.stringify(lines[firstDiff])}`);
      });
      expect(await readFile(target, 'utf8')).toBe(text);
      expect(await page.locator('#terminal-state').getAttribute('data-state')).toBe('connected');
      await page.keyboard.type('echo "after-paste:$((7*6))"');
      await page.keyboard.press('Enter');
      await until('the shell to answer after the paste', async () => (await terminalText(page)).includes('after-paste:42'));
    } finally {
      await context.close();
    }
  });
});

describe('a lab page opened while its lab is set up', () => {
  it('opens the shell only after the start, so what is typed at once is not undone by the start\'s reset', async () => {
    // Another lab than the one set up: opening its page starts it, and the start resets the
    // cluster (every ConfigMap of the namespace included).
    const other = 'tolerations';
    const context = await contextWithToken();
    try {
      const page = await context.newPage();
      const seen: Array<{ what: string; at: number }> = [];
      page.on('response', (response) => {
        if (response.url().endsWith(`/api/labs/${other}/start`)) seen.push({ what: 'start answered', at: Date.now() });
      });
      page.on('websocket', (socket) => {
        if (socket.url().includes(`/api/labs/${other}/terminal`)) seen.push({ what: 'terminal socket opened', at: Date.now() });
      });
      await page.goto(`${ws.server.origin}/labs/${other}/`, { waitUntil: 'commit' });
      await page.waitForSelector('#terminal .xterm-helper-textarea', { state: 'attached', timeout: 60_000 });
      await page.focus('#terminal .xterm-helper-textarea');
      await page.keyboard.type('kubectl create configmap early-bird --from-literal=typed=at-once');
      await page.keyboard.press('Enter');
      await until('kubectl to create the ConfigMap', async () => (await terminalText(page)).includes('configmap/early-bird created') || undefined, 120_000);
      expect(seen.map((s) => s.what)).toEqual(['start answered', 'terminal socket opened']);
      // The start is over and the learner's ConfigMap is still there.
      const { clients } = await ws.engine.actions(other);
      const configMap = await clients.core.readNamespacedConfigMap({ name: 'early-bird', namespace: 'default' });
      expect(configMap.data).toEqual({ typed: 'at-once' });
      await clients.core.deleteNamespacedConfigMap({ name: 'early-bird', namespace: 'default' });
    } finally {
      await context.close();
    }
  });
});
