// Takes docs/viewer.png: the viewer following a live run, in Debian's headless Chromium.
//   npm run build && node --import tsx scripts/screenshot-viewer.ts
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
const stage = join(root, 'test', 'fixtures', 'stage.sh');
const out = join(root, 'docs', 'viewer.png');
const dir = mkdtempSync(join(tmpdir(), 'ao-screenshot-'));

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const run = spawn(
  process.execPath,
  [join(root, 'dist', 'cli.js'), dir, '--inspect', '--manager-bin', stage, '--manager-arg', 'ok', '--executor-bin', stage, '--executor-arg', 'sleep', '--executor-arg', '3'],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
run.stderr.on('data', (chunk) => (stderr += chunk));
const url = await new Promise<string>((resolveUrl, reject) => {
  const timer = setTimeout(() => reject(new Error(`no inspector URL: ${stderr}`)), 5_000);
  run.stderr.on('data', () => {
    const found = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(stderr)?.[1];
    if (found) {
      clearTimeout(timer);
      resolveUrl(found);
    }
  });
});
const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
await page.goto(url);
await page.locator('#state-execution.active').waitFor();
await page.locator('.exec-card').first().waitFor();
await page.screenshot({ path: out });
await browser.close();
await new Promise((r) => run.on('close', r));
console.log(`wrote ${out}`);
