/**
 * Every lab's page, not only first-daemonset: served by the workspace server, and opened in
 * Chromium until it is usable — its steps shown, its start files in the editor, its shell
 * connected, and its checks reporting. Opening a lab sets the cluster up for it, as for a learner.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { allLabs } from '../../src/server/labs/registry.ts';
import { labSummary } from '../../src/server/labs/engine.ts';
import { launchChromium, openLab, startTestWorkspace, until, type TestWorkspace } from './support.ts';

const LABS = [...allLabs().values()].map(labSummary);
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

describe('every lab page', () => {
  it('has eight labs to show', () => {
    expect(LABS.length).toBeGreaterThanOrEqual(8);
  });

  it.each(LABS.map((lab) => [lab.id, lab] as const))('%s is served and opens: steps, start files, shell and checks', async (id, lab) => {
    const served = await fetch(`${ws.server.origin}/labs/${id}/`);
    expect(served.status).toBe(200);
    expect(await served.text()).toContain(lab.title.replaceAll('&', '&amp;'));

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await openLab(page, ws.server, id);
      await expect.poll(() => page.locator('#steps section.step').count()).toBe(lab.steps.length);
      for (const file of lab.startFiles) await page.waitForSelector(`.tab[data-path="${file}"]`);
      // The checks ran against the cluster set up for this lab: every step shows a verdict.
      await until(`${id}: a verdict on every step`, async () => (await page.locator('#steps section.step[data-status="unknown"]').count()) === 0 || undefined, 60_000);
      expect(await page.locator('#steps .check').count()).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
