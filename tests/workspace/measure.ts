/**
 * Measurements for `npm run bench` (scripts/bench.ts calls these and reports the numbers):
 * terminal keystroke echo latency over the WebSocket, and the time from opening a lab page to a
 * usable terminal. They return raw samples in milliseconds; the bench computes median and p95.
 *
 * They run in `npm run bench` only (a test would assert nothing a user sees about them).
 * Both need a running workspace server: `startTestWorkspace(info)` from ./support.ts on a cluster
 * from tests/support/test-cluster.ts.
 */
import { performance } from 'node:perf_hooks';
import type { Browser } from 'playwright-core';
import type { WorkspaceServer } from '../../src/server/web/server.ts';
import { openStartUrl, TerminalClient, terminalUrl } from './support.ts';

/** The letters typed, in turn, by the echo measurements. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Types the `index`-th letter into a connected shell and returns how long its echo took to come
 * back. Every 50th keystroke first clears the line (Ctrl-U), so readline's line stays short.
 */
export async function timeOneKeystroke(client: TerminalClient, index: number): Promise<number> {
  if (index % 50 === 49) client.type('\x15');
  const letter = LETTERS[index % LETTERS.length]!;
  const from = client.output.length;
  const started = performance.now();
  client.type(letter);
  await client.waitFor(letter, from, 10_000);
  return performance.now() - started;
}

/**
 * Types `samples` single characters into a lab's shell, one at a time, and times each until its
 * echo comes back over the terminal WebSocket (browser → server → pty → readline → back).
 */
export async function measureEchoLatency(server: WorkspaceServer, labId: string, samples = 200): Promise<number[]> {
  const client = new TerminalClient(terminalUrl(server, labId), { token: server.token });
  await client.opened();
  await client.waitFor(/[$#] $/);
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) times.push(await timeOneKeystroke(client, i));
    client.type('\x15');
  } finally {
    await client.close();
  }
  return times;
}

/**
 * Opens a lab page `runs` times in fresh browser contexts and times each from navigation start
 * until the terminal is connected and shows its prompt (a learner could type).
 */
export async function measureTimeToTerminal(server: WorkspaceServer, browser: Browser, labId: string, runs = 5): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    // The start URL gives the page the token first, outside the timed part.
    await openStartUrl(page, server);
    const started = performance.now();
    await page.goto(`${server.origin}/labs/${labId}/`);
    await page.waitForSelector('#terminal-state[data-state="connected"]');
    await page.waitForFunction(() => /[$#]/.test(document.querySelector('#terminal .xterm-rows')?.textContent ?? ''));
    times.push(performance.now() - started);
    await context.close();
  }
  return times;
}
