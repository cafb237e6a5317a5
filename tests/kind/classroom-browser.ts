/**
 * A learner in Chromium against the installed classroom hub: the join form as a learner fills it,
 * the moment their terminal is usable (its shell attached) and the moment the whole lab page is (its
 * editor loaded, too). Shared by the
 * end-to-end test (tests/kind/classroom.test.ts) and `npm run bench -- --only classroom`.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** A learner signed in, with how long it took from pressing Join. */
export interface SignedIn {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly learnerId: string;
  /** Join → the terminal's shell attached: the learner can type commands (the figure). */
  readonly terminalMs: number;
  /** Join → the whole page ready: the terminal and the editor with the lab's files. */
  readonly signInMs: number;
  /** When Join was pressed (epoch ms), to tell a pod from the warm pool from one made for this learner. */
  readonly joinedAt: number;
}

/**
 * Waits for the lab page to be usable: its terminal connected and its editor loaded with the files.
 * Returns when each was first seen (epoch ms): the page loads the editor after the shell.
 */
export async function labPageUsable(page: Page, lab: string, podStartMs: number): Promise<{ terminalAt: number; readyAt: number }> {
  await page.waitForURL(new RegExp(`/s/[a-z2-7]{16}/labs/${lab}/$`), { timeout: podStartMs });
  const seen = async (selector: string) => {
    await page.waitForSelector(selector, { timeout: 60_000 });
    return Date.now();
  };
  const [terminalAt, readyAt] = await Promise.all([seen('#terminal-state[data-state="connected"]'), seen('body[data-ready="true"]')]);
  return { terminalAt, readyAt: Math.max(terminalAt, readyAt) };
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
  const { terminalAt, readyAt } = await labPageUsable(page, classroom.labs[0]!, podStartMs);
  const learnerId = /\/s\/([a-z2-7]{16})\//.exec(page.url())?.[1];
  if (!learnerId) throw new Error(`${name}'s lab page has no learner in its address: ${page.url()}`);
  return { context, page, learnerId, terminalMs: terminalAt - joinedAt, signInMs: readyAt - joinedAt, joinedAt };
}
