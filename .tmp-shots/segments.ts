import { chromium } from 'playwright-core';
import { startStaticServer } from '/work/main/tests/site/static-server.ts';
const server = await startStaticServer('/work/main/dist');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
const [path, name, theme='light', w='390', segH='1400'] = process.argv.slice(2);
const ctx = await browser.newContext({ viewport: { width: +w, height: 844 } });
await ctx.addInitScript((t) => localStorage.setItem('starlight-theme', t), theme);
const page = await ctx.newPage();
await page.goto(server.origin + path);
const height = await page.evaluate(() => document.documentElement.scrollHeight);
let i = 0;
for (let y = 0; y < height; y += +segH) {
  await page.screenshot({ path: `/tmp/${name}-${i++}.png`, fullPage: true, clip: { x: 0, y, width: +w, height: Math.min(+segH, height - y) } });
}
console.log(name, height, i);
await browser.close(); await server.close();
