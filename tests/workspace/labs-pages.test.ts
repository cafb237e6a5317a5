/**
 * The pages of the labs added for the chapter's common operations and real node agents, in
 * Chromium on the real test cluster: delete-and-adopt done as a learner does it, with kubectl in
 * the page's terminal (delete with --cascade=orphan, adoption by a DaemonSet with the same
 * selector run by the step's own Run button, a plain delete), and node-agents from failing checks with their hints to solved,
 * including the step where a node goes NotReady (the agent stays, the Deployment web is evicted).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium, openLab, startTestWorkspace, terminalText, until, type TestWorkspace } from './support.ts';

let ws: TestWorkspace;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ws = await startTestWorkspace(inject('testCluster'));
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
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

/** The status the page shows for each step, by step id. */
function stepStatuses(): Promise<Record<string, string>> {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll<HTMLElement>('#steps section.step')].map((s) => [s.dataset.step!, s.dataset.status!])));
}

/** Waits until the page shows `step` with `status` (checks run by themselves about once a second). */
async function stepShows(step: string, status: 'pass' | 'fail', timeoutMs = 60_000): Promise<void> {
  await until(`step ${step} to show ${status}`, async () => {
    if ((await stepStatuses())[step] === status) return true;
    // On a timeout, the failure quotes what the step's checks said last.
    throw new Error(`the checks say: ${await page.locator(`section.step[data-step="${step}"] .checks`).innerText()}`);
  }, timeoutMs);
}

/**
 * Waits until step `step`'s checks say `text`; a timeout quotes what they said last and the end
 * of the terminal, so a failure shows whether the command ran and what the check saw.
 */
async function checksSay(step: string, text: string, what: string, timeoutMs = 120_000): Promise<void> {
  await until(what, async () => {
    const said = await page.locator(`section.step[data-step="${step}"] .checks`).innerText();
    if (said.includes(text)) return true;
    throw new Error(`the checks say: ${said}\nthe terminal ends: ${(await terminalText(page)).slice(-400)}`);
  }, timeoutMs);
}

/**
 * How long Solve's steps may take to show on node-agents: its solution includes a node's failure,
 * which the node lifecycle controller notices within its 5 s node-monitor-period, then the
 * Deployment's 20 s toleration runs out, on a machine that may be busy.
 */
const NODE_FAILURE_MS = 180_000;

describe('the delete-and-adopt lab page', () => {
  it('shows the steps with their commands, and turns each step green as the learner runs kubectl', async () => {
    await ws.engine.start('delete-and-adopt');
    await openLab(page, ws.server, 'delete-and-adopt');
    expect(await page.locator('#lab-title').innerText()).toContain('Delete, orphan and adopt');
    expect(Object.keys(await stepStatuses())).toEqual(['orphan', 'adopt', 'delete']);
    // The instructions come from labs/delete-and-adopt/steps/*.md through the lessons' pipeline:
    // Expressive Code frames, with the lessons' Run buttons once the page's terminal is there.
    const adoptBlock = page.locator('section.step[data-step="adopt"] .expressive-code pre[data-language="bash"]');
    expect(await adoptBlock.innerText()).toContain('kubectl apply -f nginx-daemonset.yaml');
    const runAdopt = page.locator('section.step[data-step="adopt"] .lab-code-actions button', { hasText: 'Run in terminal' });
    await runAdopt.waitFor({ state: 'visible' });
    expect(await page.locator('section.step .lab-code-actions button', { hasText: 'Run in terminal' }).count()).toBe(3);
    await stepShows('orphan', 'fail');

    await run('kubectl delete daemonset nginx-daemonset --cascade=orphan');
    // kubectl returns once the garbage collector has taken the owner references off the pods.
    await checksSay('orphan', 'keep running without an owner', 'the orphan check to say the pods run on');
    await stepShows('orphan', 'pass');

    // The step's own Run button types its commands into the lab terminal, which runs them.
    await runAdopt.click();
    await until('kubectl, run from the step, to re-create the DaemonSet', async () => (await terminalText(page)).includes('daemonset.apps/nginx-daemonset created') || undefined, 60_000);
    await checksSay('adopt', 'adopted the 3 orphaned pods without re-creating them', 'the adopt check to say the pods were adopted');
    await stepShows('adopt', 'pass');

    await run('kubectl delete daemonset nginx-daemonset');
    await stepShows('delete', 'pass');
    await until('the progress to say the lab is complete', async () => (await page.locator('#progress').innerText()).includes('3 of 3 steps done — lab complete') || undefined);
    // The check passes once every pod is being deleted; each still has its grace period to stop,
    // so a learner may see them Terminating for a while, as the step says, before none is left.
    await run('kubectl wait --for=delete pods -l name=nginx-daemonset --timeout=150s; kubectl get pods -l name=nginx-daemonset');
    await until('kubectl to find no pod left', async () => (await terminalText(page)).includes('No resources found') || undefined, 180_000);
  }, 360_000);
});

describe('the node-agents lab page', () => {
  it('explains the failing checks, then passes on all four nodes once solved', async () => {
    await ws.engine.start('node-agents');
    await openLab(page, ws.server, 'node-agents');
    expect(await page.locator('#lab-title').innerText()).toContain('Agents on every node');
    expect(Object.keys(await stepStatuses())).toEqual(['host-access', 'every-node', 'priority', 'node-not-ready', 'node-back']);
    await stepShows('host-access', 'fail');
    expect(await page.locator('section.step[data-step="host-access"] .check__hint').first().innerText()).toContain('Create it from your file: kubectl apply -f node-agent.yaml');

    await run('kubectl apply -f node-agent.yaml');
    // Solve only once the learner's apply has run: a late apply of the start file would replace
    // the solution (Solve would then say so, as a 409). The check's title names hostNetwork too:
    // wait for what it says of the DaemonSet itself.
    await until('kubectl to create the learner\'s DaemonSet', async () => (await terminalText(page)).includes('daemonset.apps/node-agent created') || undefined, 60_000);
    await checksSay('host-access', 'The pod template does not set hostNetwork', 'the check to say what the learner\'s DaemonSet lacks');

    await page.click('#solve-btn');
    for (const step of ['host-access', 'every-node', 'priority']) await stepShows(step, 'pass', NODE_FAILURE_MS);
    expect(await page.locator('section.step[data-step="every-node"] .checks').innerText()).toContain('4 of 4 nodes run a Ready pod');
    expect(await page.locator('section.step[data-step="priority"] .checks').innerText()).toContain('priority 2000001000');
    // The solution then makes daemonset-lab-worker NotReady: the agent stays, web is evicted.
    // The solve brings the node back right after this step passes, and the sticky step then says
    // "Passed earlier": read what the checks said at the moment the step turned green.
    const notReady = await page.waitForFunction(() => {
      const step = document.querySelector<HTMLElement>('section.step[data-step="node-not-ready"]');
      return step?.dataset.status === 'pass' ? step.querySelector<HTMLElement>('.checks')!.innerText : undefined;
    }, undefined, { timeout: NODE_FAILURE_MS, polling: 'raf' }).then((handle) => handle.jsonValue() as Promise<string>);
    // Solve's own report may arrive after the node is back: the sticky step then says so instead.
    if (notReady.includes('Passed earlier in this attempt')) {
      expect(notReady).toContain('A node is NotReady, tainted by the node lifecycle controller');
    } else {
      expect(notReady).toContain('tainted it node.kubernetes.io/not-ready:NoExecute');
      expect(notReady).toContain('with no tolerationSeconds, so for ever');
      expect(notReady).toContain('TaintManagerEviction');
    }
    await stepShows('node-back', 'pass', NODE_FAILURE_MS);
  }, 480_000);
});
