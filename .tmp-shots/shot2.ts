import { chromium } from 'playwright-core';
import { startStaticServer } from '/work/main/tests/site/static-server.ts';
const server = await startStaticServer('/work/main/dist');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
for (const theme of ['dark', 'light']) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript((t) => { localStorage.setItem('starlight-theme', t); (window as any).daemonsetLab = { sendToTerminal() {}, openInEditor() {} }; }, theme);
  const page = await ctx.newPage();
  await page.goto(server.origin + '/creating-a-daemonset/');
  const apply = page.locator('.expressive-code', { hasText: 'kubectl apply -f nginx-daemonset.yaml' }).first();
  await apply.scrollIntoViewIfNeeded();
  await apply.getByRole('button', { name: 'Run in terminal' }).click();
  await page.waitForTimeout(200);
  await page.screenshot({ path: `/tmp/codeactions-${theme}.png` });
  const q = page.locator('form.quiz__question').first();
  await q.locator('input').nth(0).check(); await q.getByRole('button', {name: 'Check'}).click();
  const q2 = page.locator('form.quiz__question').nth(1);
  await q2.locator('input').nth(1).check(); await q2.getByRole('button', {name: 'Check'}).click();
  await q.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `/tmp/quizfeedback-${theme}.png` });
}
await browser.close(); await server.close();
