/**
 * A learner in Chromium against the installed classroom hub: the join form as a learner fills it,
 * the moment their terminal is usable (its shell attached) and the moment the whole lab page is (its
 * editor loaded, too), as the pages saw them. Shared by the end-to-end test (tests/kind/classroom.test.ts) and `npm run bench -- --only classroom`.
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
  /** When Join was pressed (epoch ms, the form's submit), to tell a pod from the warm pool from one made for this learner. */
  readonly joinedAt: number;
}

/**
 * Runs in each of the learner's pages: keeps when Join was pressed (the form's submit, in
 * sessionStorage, which the lab page on the same origin reads) and when the lab page's terminal
 * and whole page first became usable, on the page's own clock, so no test harness delay (clicking,
 * polling) is in the figures.
 */
function recordSignInMarks(): void {
  // One clock for both documents (the join page and the lab page may be in different processes).
  const now = () => Date.now();
  document.addEventListener('submit', () => sessionStorage.setItem('daemonset-lab-test:join-pressed', String(now())), true);
  const marks: { terminal?: number; ready?: number } = {};
  (window as unknown as { __labMarks: typeof marks }).__labMarks = marks;
  const watch = () => {
    if (marks.terminal === undefined && document.querySelector('#terminal-state[data-state="connected"]')) marks.terminal = now();
    if (marks.ready === undefined && document.body?.dataset.ready === 'true') marks.ready = now();
  };
  new MutationObserver(watch).observe(document, { subtree: true, childList: true, attributes: true });
}

/** Waits for the lab page to be usable: its terminal connected and its editor loaded with the files. */
export async function labPageUsable(page: Page, lab: string, podStartMs: number): Promise<void> {
  await page.waitForURL(new RegExp(`/s/[a-z2-7]{16}/labs/${lab}/$`), { timeout: podStartMs });
  await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 60_000 });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
}

/** Opens the class's join page in a fresh browser context, fills in name and code, presses Join and waits for the lab page. */
export async function signIn(browser: Browser, hubUrl: string, classroom: { id: string; joinCode: string; labs: readonly string[] }, name: string, podStartMs: number): Promise<SignedIn> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(recordSignInMarks);
  const page = await context.newPage();
  await page.goto(`${hubUrl}/hub/join/${classroom.id}`);
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="code"]', classroom.joinCode);
  await page.click('button[type="submit"]');
  await labPageUsable(page, classroom.labs[0]!, podStartMs);
  const marks = await page.evaluate(() => ({
    pressed: Number(sessionStorage.getItem('daemonset-lab-test:join-pressed')),
    ...(window as unknown as { __labMarks: { terminal?: number; ready?: number } }).__labMarks,
  }));
  if (!marks.pressed || marks.terminal === undefined || marks.ready === undefined) throw new Error(`${name}'s pages did not record their sign-in: ${JSON.stringify(marks)}`);
  const learnerId = /\/s\/([a-z2-7]{16})\//.exec(page.url())?.[1];
  if (!learnerId) throw new Error(`${name}'s lab page has no learner in its address: ${page.url()}`);
  return {
    context,
    page,
    learnerId,
    terminalMs: Math.round(marks.terminal - marks.pressed),
    signInMs: Math.round(Math.max(marks.terminal, marks.ready) - marks.pressed),
    joinedAt: Math.round(marks.pressed),
  };
}
