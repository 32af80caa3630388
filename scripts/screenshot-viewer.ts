// Takes the viewer's screenshots in Debian's headless Chromium:
// - docs/viewer.png: the viewer following a live run;
// - docs/viewer-steps.png: a plan's steps as a DAG, one step's details with its log followed live;
// - docs/viewer-thermostat.png: the ROI thermostat example (examples/plans/roi-thermostat.json)
//   halted, its concurrency going down and every decision listed.
//   npm run build && node --import tsx scripts/screenshot-viewer.ts
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
const stage = join(root, 'test', 'fixtures', 'stage.sh');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});

/** Starts the CLI with `args` and resolves with it and the inspector URL it prints. */
async function start(args: string[]): Promise<{ run: ChildProcessWithoutNullStreams; url: string }> {
  const run = spawn(process.execPath, [join(root, 'dist', 'cli.js'), ...args], { cwd: root, stdio: 'pipe' });
  let stderr = '';
  run.stderr.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no inspector URL: ${stderr}`)), 10_000);
    run.stderr.on('data', () => {
      const found = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(stderr)?.[1];
      if (found) {
        clearTimeout(timer);
        resolveUrl(found);
      }
    });
  });
  return { run, url };
}

const live = await start([mkdtempSync(join(tmpdir(), 'ao-screenshot-')), '--inspect', '--manager-bin', stage, '--manager-arg', 'ok', '--executor-bin', stage, '--executor-arg', 'sleep', '--executor-arg', '3']);
const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
await page.goto(live.url);
await page.locator('#state-execution.active').waitFor();
await page.locator('.exec-card').first().waitFor();
await page.screenshot({ path: join(root, 'docs', 'viewer.png') });
await new Promise((r) => live.run.on('close', r));

// A build plan whose `test` step prints as it goes; its details are opened while it runs.
const stepsDir = mkdtempSync(join(tmpdir(), 'ao-screenshot-'));
const say = (what: string, seconds: number) => ['-c', `for i in $(seq 1 ${seconds * 4}); do echo "${what}: case $i ok"; sleep 0.25; done`];
const buildPlan = {
  version: 1,
  concurrency: 3,
  stages: {
    execution: [
      { id: 'fetch', bin: 'sh', args: say('fetch', 1) },
      { id: 'lint', bin: 'sh', args: say('lint', 2) },
      { id: 'build', bin: 'sh', args: say('build', 1), needs: ['fetch'] },
      { id: 'unit-tests', bin: 'sh', args: say('unit', 6), needs: ['build'], env: { API_TOKEN: 'not shown' } },
      { id: 'e2e-tests', bin: 'sh', args: say('e2e', 6), needs: ['build'] },
      { id: 'package', bin: 'true', needs: ['unit-tests', 'e2e-tests', 'lint'] },
    ],
  },
};
writeFileSync(join(stepsDir, 'plan.json'), JSON.stringify(buildPlan));
const steps = await start([join(stepsDir, 'out'), '--plan', join(stepsDir, 'plan.json'), '--inspect']);
const stepsPage = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
await stepsPage.goto(steps.url);
await stepsPage.locator('svg.step-dag .step-node.running[data-step="unit-tests"]').waitFor({ timeout: 30_000 });
await stepsPage.locator('svg.step-dag .step-node[data-step="unit-tests"]').click();
await stepsPage.waitForFunction(() => (document.querySelector('#step-log')?.textContent?.split('\n').length ?? 0) > 8, undefined, { timeout: 30_000 });
await stepsPage.screenshot({ path: join(root, 'docs', 'viewer-steps.png') });
await new Promise((r) => steps.run.on('close', r));

// As the README runs it: from the project's root, into out/roi (the page shows the path as given).
const roi = join('out', 'roi');
rmSync(join(root, roi), { recursive: true, force: true });
const thermostat = await start([roi, '--plan', 'examples/plans/roi-thermostat.json', '--inspect', '--inspect-keep']);
const tall = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
await tall.goto(thermostat.url);
await tall.locator('body[data-ended="true"]').waitFor({ state: 'attached', timeout: 30_000 });
await tall.locator('#banner.blocked').waitFor();
await tall.screenshot({ path: join(root, 'docs', 'viewer-thermostat.png') });
thermostat.run.kill('SIGINT');
await new Promise((r) => thermostat.run.on('close', r));

await browser.close();
console.log('wrote docs/viewer.png, docs/viewer-steps.png, docs/viewer-thermostat.png');
