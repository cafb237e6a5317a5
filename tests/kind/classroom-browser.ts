/**
 * A learner in Chromium against the installed classroom hub: the join form as a learner fills it,
 * and the moment their lab page is usable (scripts ready, terminal connected). Shared by the
 * end-to-end test (tests/kind/classroom.test.ts) and `npm run bench -- --only classroom`.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** A learner signed in, with how long it took from pressing Join to a connected terminal. */
export interface SignedIn {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly learnerId: string;
  readonly signInMs: number;
  /** When Join was pressed (epoch ms), to tell a pod from the warm pool from one made for this learner. */
  readonly joinedAt: number;
}

/** Waits for the lab page to be usable: its scripts ready and its terminal connected. */
export async function labPageUsable(page: Page, lab: string, podStartMs: number): Promise<void> {
  await page.waitForURL(new RegExp(`/s/[a-z2-7]{16}/labs/${lab}/$`), { timeout: podStartMs });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 60_000 });
}

/** Opens the class's join page in a fresh browser context, fills in name and code, presses Join and waits for the lab page. */
export async function signIn(browser: Browser, hubUrl: string, classroom: { id: string; joinCode: string; labs: readonly string[] }, name: string, podStartMs: number): Promise<SignedIn> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${hubUrl}/hub/join/${classroom.id}`);
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="code"]', classroom.joinCode);
  const joinedAt = Date.now();
  await page.click('button[type="submit"]');
  await labPageUsable(page, classroom.labs[0]!, podStartMs);
  const signInMs = Date.now() - joinedAt;
  const learnerId = /\/s\/([a-z2-7]{16})\//.exec(page.url())?.[1];
  if (!learnerId) throw new Error(`${name}'s lab page has no learner in its address: ${page.url()}`);
  return { context, page, learnerId, signInMs, joinedAt };
}
