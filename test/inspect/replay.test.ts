import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCREENSHOTS, describeWithBrowser, urlIn } from '../support/browser.js';
import { STAGE, runCli, startCli, tempDir, waitFor } from '../support/cli.js';


/** Starts `inspect <dir>` and resolves with its URL. */
async function replay(dir: string) {
  const viewer = startCli(['inspect', dir]);
  let stderr = '';
  viewer.child.stderr.on('data', (chunk) => (stderr += chunk));
  await waitFor(() => urlIn(stderr) !== null, 20_000, 'the replay URL');
  return { ...viewer, url: urlIn(stderr)! };
}

const step = (page: import('playwright-core').Page) => page.locator('body').getAttribute('data-active-state');

describeWithBrowser('autonomy-orchestrator inspect <output_dir>', (browser) => {
  it('replays a finished run and steps back and forth through every transition', async () => {
    const dir = tempDir();
    const run = await runCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'fail']);
    expect(run.exitCode).toBe(1);
    const viewer = await replay(dir);
    const page = await browser().newPage({ viewport: { width: 1400, height: 800 } });
    await page.goto(viewer.url);
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });

    // It opens on the end of the run.
    expect(await step(page)).toBe('failed');
    expect(await page.locator('#step-label').textContent()).toBe('4 / 4: failed');
    await page.screenshot({ path: join(SCREENSHOTS, 'replay-end.png') });
    await page.click('#prev');
    expect(await step(page)).toBe('execution');
    expect(await page.locator('#transitions li.current').textContent()).toMatch(/policy_ingestion → execution$/);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect(await step(page)).toBe('planning');
    expect(await page.locator('#state-planning').getAttribute('class')).toContain('active');
    // Executions that had not ended yet at this step are dimmed.
    const dimmed = () => page.locator('.exec-card.future').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.stage));
    expect(await dimmed()).toEqual(['planning', 'execution']);
    await page.screenshot({ path: join(SCREENSHOTS, 'replay-start.png') });
    await page.click('#prev'); // already at the first step
    expect(await step(page)).toBe('planning');
    await page.locator('#step').fill('2');
    expect(await step(page)).toBe('execution');
    expect(await dimmed()).toEqual(['execution']);
    // With the slider focused, an arrow key moves one step, not two.
    await page.locator('#step').fill('1');
    await page.focus('#step');
    await page.keyboard.press('ArrowRight');
    expect(await step(page)).toBe('execution');
    await page.click('#next');
    await page.click('#next'); // already at the last step
    expect(await step(page)).toBe('failed');
    expect(await page.locator('#run-status').textContent()).toBe('failed');
    await page.close();

    viewer.child.kill('SIGTERM');
    expect((await viewer.done).exitCode).toBe(0);
  });

  it('replays a crashed run up to its last event', async () => {
    const dir = tempDir();
    const started = join(dir, 'started');
    const run = startCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'started-then-sleep', '--executor-arg', started]);
    await waitFor(() => existsSync(started), 5_000, 'the executor to start');
    // The log is written a timer tick after each event; the crash comes while the stage runs.
    const log = join(dir, 'orchestrator_events.jsonl');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('"value":"execution"'), 5_000, 'the event log');
    run.child.kill('SIGKILL');
    await run.done;
    const viewer = await replay(dir);
    const page = await browser().newPage();
    await page.goto(viewer.url);
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
    expect(await step(page)).toBe('execution');
    expect(await page.locator('#step-label').textContent()).toBe('3 / 3: execution');
    // It says the run did not finish, and how to continue it.
    expect(await page.locator('#banner').textContent()).toBe(
      `this run did not finish (killed or crashed): continue it with autonomy-orchestrator ${dir} --resume`,
    );
    viewer.child.kill('SIGINT');
    expect((await viewer.done).exitCode).toBe(0);
    await page.close();
  });
});

describeWithBrowser('autonomy-orchestrator inspect <output_dir> of a stopped run', (browser) => {
  it('shows where SIGINT stopped it: the machine\'s INTERRUPT from execution into interrupted, taken', async () => {
    const dir = tempDir();
    const started = join(dir, 'started');
    const run = startCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'started-then-sleep', '--executor-arg', started]);
    await waitFor(() => existsSync(started), 5_000, 'the executor to start');
    run.child.kill('SIGINT');
    expect((await run.done).exitCode).toBe(130);
    const viewer = await replay(dir);
    const page = await browser().newPage();
    await page.goto(viewer.url);
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
    await page.locator('svg .edge.taken[data-source="execution"][data-target="interrupted"]').waitFor({ state: 'attached', timeout: 5_000 });
    expect(await page.locator('svg .edge[data-source="execution"][data-target="interrupted"] text').first().textContent()).toBe('INTERRUPT');
    expect(await page.locator('#state-interrupted').getAttribute('class')).toContain('active');
    viewer.child.kill('SIGINT');
    expect((await viewer.done).exitCode).toBe(0);
    await page.close();
  });
});

describe('autonomy-orchestrator inspect <output_dir> without a run', () => {
  it('says in one line when the directory holds no run (exit 2)', async () => {
    const dir = tempDir();
    const outcome = await runCli(['inspect', dir]);
    expect(outcome.exitCode).toBe(2);
    expect(outcome.stderr).toBe(`autonomy-orchestrator: no run report in ${dir} (expected ${join(dir, 'orchestrator_run_report.json')}); run the orchestrator there first\n`);
  });
});
