/**
 * The bench's measurements run and return one sample per attempt (their speed is the bench's
 * business, not a test's).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { measureEchoLatency, measureTimeToTerminal } from './measure.ts';
import { launchChromium, startTestWorkspace, type TestWorkspace } from './support.ts';

let ws: TestWorkspace;
let browser: Browser;

beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await ws?.close();
});

it('measures keystroke echo over the terminal WebSocket', async () => {
  const samples = await measureEchoLatency(ws.server, 'first-daemonset', 20);
  expect(samples).toHaveLength(20);
  expect(samples.every((ms) => ms > 0)).toBe(true);
});

it('measures the time from opening a lab page to a usable terminal', async () => {
  const samples = await measureTimeToTerminal(ws.server, browser, 'first-daemonset', 2);
  expect(samples).toHaveLength(2);
});
