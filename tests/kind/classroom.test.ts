/**
 * The classroom hub end to end on real pods: the Helm chart installed on the kind cluster (hub,
 * PostgreSQL, learner pods from the learner image on real kubelets), three learners signing in
 * with the join code in Chromium, each with their own lab page whose terminal runs kubectl against
 * the private cluster inside their pod; first-daemonset done as a learner does it (editor, Save,
 * Apply); learner pods kept apart by the chart's NetworkPolicies (enforced by the node image's pod
 * network); the instructor's grid turning green from the pods' pushed reports; and a learner pod
 * deleted mid-lab re-created with the learner's file and progress.
 *
 * Sign-in times (join to a connected terminal) are printed for the report; nothing here is timed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { launchChromium, pasteAndSave, terminalText, until } from '../workspace/support.ts';
import { labPageUsable, signIn as joinAs } from './classroom-browser.ts';
import { installClassroom, podUsage, type ClassroomInstall } from './classroom-install.ts';
import { kubectl } from './kind-cluster.ts';
import { podOfLearner } from './learner-pods.ts';

const LAB = 'first-daemonset';
const CLASS = { id: 'e2e', joinCode: 'E2E-JOIN-CODE-2026', instructorCode: 'E2E-INSTRUCTOR-CODE-2026', labs: [LAB], capacity: 4, warmPool: 1 } as const;
const LEARNERS = ['Ada', 'Grace', 'Linus'] as const;
/** Learner pods start a control plane each on a shared 2-core machine. */
const POD_START_MS = 240_000;

const info = inject('kindCluster');
let install: ClassroomInstall;
let browser: Browser;
let solution: string;

interface Learner {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  learnerId: string;
  pod: string;
}
const learners: Learner[] = [];

beforeAll(async () => {
  solution = await readFile(join(REPO_ROOT, 'labs', LAB, 'solution', 'nginx-daemonset.yaml'), 'utf8');
  install = await installClassroom(info, [CLASS]);
  browser = await launchChromium();
}, 1_800_000);

afterAll(async () => {
  await browser?.close();
  await install?.uninstall();
}, 300_000);

/** The learner's live pod (the hub labels each claimed pod). */
const podOf = (learnerId: string) => podOfLearner(info, install.namespace, learnerId);

async function podByLabel(selector: string): Promise<string> {
  const answer = await kubectl(info, ['-n', install.namespace, 'get', 'pods', '-l', selector, '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.name}']);
  expect(answer.stdout.trim(), `a running pod labelled ${selector}`).not.toBe('');
  return answer.stdout.trim();
}

async function podIp(pod: string): Promise<string> {
  const answer = await kubectl(info, ['-n', install.namespace, 'get', 'pod', pod, '-o', 'jsonpath={.status.podIP}']);
  expect(answer.stdout.trim(), `${pod}'s address`).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  return answer.stdout.trim();
}

/**
 * Opens a TCP connection from inside `pod` (both the learner image and the hub have node) and
 * says what came of it within 5 s: "connected", "no answer" (dropped), or the error's code.
 */
async function connectFrom(pod: string, host: string, port: number): Promise<string> {
  const script = "const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});"
    + "setTimeout(()=>{console.log('no answer');process.exit(0)},5000);"
    + "s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)})";
  const answer = await kubectl(info, ['-n', install.namespace, 'exec', pod, '--', 'node', '-e', script, host, String(port)]);
  expect(answer.code, answer.stderr).toBe(0);
  return answer.stdout.trim();
}

/** Types a command into the learner's terminal and presses Enter. */
async function run(page: Page, command: string): Promise<void> {
  await page.click('#terminal');
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

async function terminalShows(page: Page, what: string, test: (text: string) => boolean, timeoutMs = 60_000): Promise<void> {
  await until(what, async () => {
    const text = await terminalText(page);
    if (test(text)) return true;
    throw new Error(`the terminal ends: ${text.slice(-600)}`);
  }, timeoutMs);
}

/** Signs a learner in with the join code, as the join page asks; resolves once their terminal is connected. */
async function signIn(name: string): Promise<Learner> {
  const signedIn = await joinAs(browser, install.hubUrl, CLASS, name, POD_START_MS);
  const pod = await podOf(signedIn.learnerId);
  expect(pod, `a pod labelled for ${name}`).toBeDefined();
  const fromPool = pod!.created < signedIn.joinedAt - 1000;
  process.stderr.write(`classroom e2e: ${name} signed in to a connected terminal in ${signedIn.terminalMs} ms, the whole page in ${signedIn.signInMs} ms (${fromPool ? 'warm pool' : 'cold pod'} ${pod!.name})\n`);
  return { name, context: signedIn.context, page: signedIn.page, learnerId: signedIn.learnerId, pod: pod!.name };
}

/** Replaces the editor's text with the solution, then Save and Apply, as a learner does. */
async function solveInEditor(page: Page): Promise<void> {
  await pasteAndSave(page, 'nginx-daemonset.yaml', solution);
  await page.click('#apply-btn');
  await page.waitForSelector('#apply-result[data-ok="true"]', { timeout: 60_000 });
  expect(await page.locator('#apply-result').innerText()).toContain('daemonset.apps/nginx-daemonset created');
}

async function labComplete(page: Page, timeoutMs = 180_000): Promise<void> {
  await until('the progress to say the lab is complete', async () => {
    const progress = await page.locator('#progress').innerText();
    if (progress.includes('2 of 2 steps done')) return true;
    throw new Error(`the progress says: ${progress}`);
  }, timeoutMs);
}

describe('a class on the kind cluster through the hub', () => {
  let instructor: Page;

  it('lets the instructor open the live grid with the instructor code', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    instructor = await context.newPage();
    await instructor.goto(`${install.hubUrl}/hub/join/${CLASS.id}`);
    // The hub's instructor sign-in is a form POST from its own pages (Origin checked).
    await instructor.evaluate(async ({ classroom, code }) => {
      const response = await fetch('/hub/api/instructor', { method: 'POST', body: new URLSearchParams({ classroom, code }) });
      if (!response.ok) throw new Error(`instructor sign-in: HTTP ${response.status}`);
    }, { classroom: CLASS.id, code: CLASS.instructorCode });
    await instructor.goto(`${install.hubUrl}/hub/classrooms/${CLASS.id}/instructor`);
    await instructor.waitForSelector('#grid table');
  });

  it('gives three learners who join with the code each their own lab page and private cluster', async () => {
    for (const name of LEARNERS) learners.push(await signIn(name));
    expect(new Set(learners.map((l) => l.pod)).size).toBe(3);
    for (const learner of learners) {
      const namespace = `only-${learner.name.toLowerCase()}`;
      await run(learner.page, `kubectl get nodes && kubectl create namespace ${namespace}`);
      await terminalShows(learner.page, `${learner.name}'s kubectl to list the four nodes`, (text) => /daemonset-lab-worker3\s+Ready/.test(text) && text.includes(`namespace/${namespace} created`));
    }
    // Each cluster is the learner's own: none holds another learner's namespace.
    for (const learner of learners) {
      await run(learner.page, 'clear; kubectl get namespaces -o name | grep only- | sed "s/^/seen: /"');
      await terminalShows(learner.page, `${learner.name}'s namespaces`, (text) => text.includes(`seen: namespace/only-${learner.name.toLowerCase()}`));
      const seen = (await terminalText(learner.page)).match(/seen: namespace\/only-\w+/g) ?? [];
      expect(seen, `${learner.name} sees only their own namespace`).toEqual([`seen: namespace/only-${learner.name.toLowerCase()}`]);
    }
  }, POD_START_MS * 3);

  it('keeps learner pods apart: none reaches another learner or PostgreSQL, while the hub reaches both', async () => {
    const [ada, grace] = learners as [Learner, Learner, ...Learner[]];
    const postgresql = await podByLabel('app.kubernetes.io/name=daemonset-lab-postgresql');
    const hub = await podByLabel('app.kubernetes.io/name=daemonset-lab-hub');
    const graceAddress = await podIp(grace.pod);
    const databaseAddress = await podIp(postgresql);
    // The network plugin drops what the chart's NetworkPolicies do not allow: no answer at all.
    expect(await connectFrom(ada.pod, graceAddress, 4321), `${ada.name}'s pod → ${grace.name}'s workspace`).toBe('no answer');
    expect(await connectFrom(ada.pod, databaseAddress, 5432), `${ada.name}'s pod → PostgreSQL`).toBe('no answer');
    // The same addresses answer the hub, so the drops above are the policies, not a broken network.
    expect(await connectFrom(hub, graceAddress, 4321), `hub → ${grace.name}'s workspace`).toBe('connected');
    expect(await connectFrom(hub, databaseAddress, 5432), 'hub → PostgreSQL').toBe('connected');
  }, 120_000);

  it('turns the instructor grid green as each learner completes first-daemonset', async () => {
    for (const learner of learners) {
      await solveInEditor(learner.page);
      await labComplete(learner.page);
    }
    await until('every learner row of the grid to be green', async () => {
      const rows = await instructor.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('#grid tr[data-learner]')].map((row) => ({
          name: row.querySelector('th')?.textContent,
          statuses: [...row.querySelectorAll<HTMLElement>('td[data-status]')].map((cell) => cell.dataset.status),
        })),
      );
      const green = rows.filter((row) => row.statuses.length > 0 && row.statuses.every((s) => s === 'pass'));
      if (green.length === LEARNERS.length) return true;
      throw new Error(`the grid shows ${JSON.stringify(rows)}`);
    }, 120_000);
    expect(await instructor.locator('#grid td[data-status="fail"]').count()).toBe(0);
  }, 900_000);

  it('keeps an idle learner pod, warm or with its lab page open, within its memory limit', async () => {
    const warm = await until('a warm pod in the pool', async () => {
      const answer = await kubectl(info, ['-n', install.namespace, 'get', 'pods', '-l', 'daemonset-lab.dev/pod-state=warm', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.name}']);
      return answer.stdout.trim() || undefined;
    }, POD_START_MS);
    for (const [what, pod] of [['warm, no learner', warm], ['lab page open, lab complete', learners[0]!.pod]] as const) {
      const usage = await podUsage(info, install.namespace, pod);
      process.stderr.write(`classroom e2e: idle learner pod (${what}) ${pod}: ${(usage.workingSetBytes / 2 ** 20).toFixed(0)} MiB working set, ${usage.cpuCores.toFixed(3)} CPU\n`);
      // It runs a control plane of its own, and must stay under the chart's limit (1536Mi).
      expect(usage.workingSetBytes).toBeGreaterThan(100 * 2 ** 20);
      expect(usage.workingSetBytes).toBeLessThan(1536 * 2 ** 20);
    }
  }, 600_000);

  it('re-creates a learner pod deleted mid-lab with their file and progress', async () => {
    const learner = learners[learners.length - 1]!;
    const deleted = await kubectl(info, ['-n', install.namespace, 'delete', 'pod', learner.pod, '--wait=true']);
    expect(deleted.code, deleted.stderr).toBe(0);
    // The learner comes back through the hub, which finds no pod and starts one.
    await learner.page.goto(`${install.hubUrl}/hub/lab`);
    await labPageUsable(learner.page, LAB, POD_START_MS);
    const pod = await podOf(learner.learnerId);
    expect(pod?.name).toBeDefined();
    expect(pod!.name).not.toBe(learner.pod);
    // The file the learner saved is back, as the page's editor loads it (the editor shows only the lines in view).
    const saved = await until('the saved solution in the new pod', async () => {
      const text = await learner.page.evaluate(async (lab) => (await fetch(`/api/labs/${lab}/files/nginx-daemonset.yaml`)).text(), LAB);
      if (text.includes('cpu: 50m')) return text;
      throw new Error(`the file reads: ${text.slice(0, 300)}`);
    });
    expect(saved).toContain('memory: 200Mi');
    await until('the saved solution in the editor', async () => (await learner.page.locator('#editor .view-lines').innerText()).replaceAll('\u00a0', ' ').includes('name: nginx-daemonset'));
    await labComplete(learner.page);
    await run(learner.page, 'kubectl get daemonset nginx-daemonset');
    await terminalShows(learner.page, 'the re-applied DaemonSet in the new pod\'s cluster', (text) => /nginx-daemonset\s+3\s+3/.test(text), 120_000);
  }, 600_000);
});
