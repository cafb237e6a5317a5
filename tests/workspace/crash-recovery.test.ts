/**
 * The lab page recovers by itself when its server is killed (kill -9) and started again on the
 * same address with the same token (a supervisor, or the classroom hub's DAEMONSET_LAB_TOKEN):
 * the banner says the server is gone, the unsaved editor text stays, and then the events socket
 * and the shell reconnect without a reload. Real server process, real Chromium, real cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newToken } from '../../src/server/web/auth.ts';
import { freePort } from '../support/free-port.ts';
import { launchChromium, terminalText, until } from './support.ts';

const LAB = 'first-daemonset';
const info = inject('testCluster');
let browser: Browser;
let child: ChildProcess | undefined;
let stateDir: string;
let port: number;
const token = newToken();

/** Starts the server child on `port` with `token`; resolves once it listens. */
async function startServer(): Promise<string> {
  child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'crash-child.ts'), 'server', stateDir, info.stateDir, String(info.portBase)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CRASH_CHILD_PORT: String(port), CRASH_CHILD_TOKEN: token },
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child!.stdout! }).once('line', resolve);
    child!.once('exit', (code) => reject(new Error(`the server exited (${code}) before it listened`)));
  });
  return (JSON.parse(line) as { origin: string }).origin;
}

async function kill9(): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-crash-recovery-'));
  port = await freePort();
  browser = await launchChromium();
});

afterAll(async () => {
  await kill9();
  await browser?.close();
});

describe('the lab page after its server was killed', () => {
  it('keeps the unsaved editor text and reconnects its events socket and shell by itself', async () => {
    const origin = await startServer();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${origin}/?token=${token}`);
    await page.waitForURL((url) => !url.searchParams.has('token'));
    await page.goto(`${origin}/labs/${LAB}/`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#terminal-state[data-state="connected"]');
    await page.click('#editor .view-lines');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n# typed before the crash\n');
    await until('the editor dirty', async () => (await page.locator('#file-state').innerText()) === 'Unsaved changes');

    await kill9();
    await page.waitForSelector('#banner', { state: 'visible' });
    await page.waitForSelector('#terminal-state:not([data-state="connected"])');

    await startServer();
    // No reload, no click: the page finds the server again.
    await page.waitForSelector('#banner', { state: 'hidden', timeout: 30_000 });
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 30_000 });
    expect((await page.locator('#editor .view-lines').innerText()).replaceAll('\u00a0', ' ')).toContain('# typed before the crash');
    expect(await page.locator('#file-state').innerText()).toBe('Unsaved changes');
    await page.click('#terminal');
    await page.keyboard.type('echo "back-$((40+2))"');
    await page.keyboard.press('Enter');
    await until('the new shell to answer', async () => (await terminalText(page)).includes('back-42'));
    // Checks run again on the reconnected events socket: the step list shows verdicts.
    await until('check verdicts on the page', async () => (await page.locator('#progress').innerText()).match(/of \d+ steps/) ?? undefined);
  }, 180_000);
});
