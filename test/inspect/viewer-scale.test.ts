/**
 * The viewer at scale, in Chromium: a 10,000-step replay and a 1,000-step live run. The figures are
 * printed (speed is not asserted here: `npm run bench:inspect` prints them too); what is asserted is
 * what the page shows.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { describeWithBrowser, urlIn } from '../support/browser.js';
import { bigRun } from '../support/big-run.js';
import { startCli, tempDir, waitFor } from '../support/cli.js';

const figure = (text: string) => process.stderr.write(`viewer scale: ${text}\n`);

describeWithBrowser('the viewer at scale', (browser) => {
  it('replays a 10,000-step run: ready, by time, filtered', { timeout: 120_000 }, async () => {
    const { out, planPath } = await bigRun(tempDir(), 10_000);
    const viewer = startCli(['inspect', out, '--plan', planPath]);
    onTestFinished(() => void viewer.child.kill('SIGTERM'));
    let stderr = '';
    viewer.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 20_000, 'the replay URL');
    const page = await browser().newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const t0 = performance.now();
    await page.goto(urlIn(stderr)!);
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
    const readyMs = performance.now() - t0;
    expect(await page.locator('#stages li[data-stage="execution"] .progress').textContent()).toBe('10000 / 10000 done');
    expect(await page.locator('#stages li[data-stage="execution"] .dag-note').textContent()).toBe(
      "(10000 steps: too many to draw; the filter and a step's details find one)",
    );
    expect(await page.locator('.exec-card').count()).toBe(200);
    expect(await page.locator('#executions .more').textContent()).toBe('9800 more executions that succeeded are in the report');

    // Halfway through the steps (each 2 ms, one after another), by time.
    const t1 = performance.now();
    const max = Number(await page.locator('#time').getAttribute('max'));
    await page.locator('#time').fill(String(Math.round(max / 2)));
    const progress = await page.locator('#stages li[data-stage="execution"] .progress').textContent();
    const scrubMs = performance.now() - t1;
    expect(progress).toMatch(/^\d{4} \/ 10000 done · 1 running · \d{4} waiting$/);
    const t2 = performance.now();
    await page.fill('#filter', 's9999');
    expect(await page.locator('.exec-card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.step))).toEqual(['s9999']);
    const filterMs = performance.now() - t2;
    // Every execution, in a list that holds only the rows in view.
    await page.fill('#filter', '');
    await page.click('#all-executions-summary');
    expect(await page.locator('#all-executions-summary').textContent()).toBe('every execution (10000)');
    const rows = page.locator('#all-executions .all-row');
    expect(await rows.count()).toBeLessThan(40);
    const t3 = performance.now();
    await page.locator('#all-executions').evaluate((box) => box.scrollTo({ top: box.scrollHeight }));
    await page.locator('#all-executions .all-row[data-step="s9999"]').waitFor();
    const scrollMs = performance.now() - t3;
    expect(await rows.count()).toBeLessThan(40);
    expect(await rows.last().textContent()).toBe('execution / s9999 #1 · success · exit 0 · 0.00 s');
    await rows.last().click();
    expect(await page.locator('#step-details').getAttribute('data-step')).toBe('s9999');
    figure(
      `10,000-step replay: ready ${readyMs.toFixed(0)} ms after opening; a move of the clock ${scrubMs.toFixed(0)} ms; a filter ${filterMs.toFixed(0)} ms; the whole list scrolled to its end ${scrollMs.toFixed(0)} ms`,
    );
    expect(errors).toEqual([]);
    await page.close();
    viewer.child.kill('SIGINT');
    expect((await viewer.done).exitCode).toBe(0);
  });

  it('follows a 1,000-step live run and stays usable', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify({ version: 1, concurrency: 4, stages: { execution: Array.from({ length: 1000 }, (_, i) => ({ id: `s${i}`, bin: 'true' })) } }));
    const run = startCli([join(dir, 'out'), '--plan', planPath, '--inspect', '--inspect-keep']);
    onTestFinished(() => void run.child.kill('SIGTERM'));
    let stderr = '';
    run.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 20_000, 'the inspector URL');
    const page = await browser().newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(150_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const t0 = performance.now();
    await page.goto(urlIn(stderr)!);
    await page.locator('#state-execution.active, #state-validation.active, #state-done.active').first().waitFor();
    const shownMs = performance.now() - t0;
    // While it runs: how long the page takes to answer (its main thread busy drawing is what a user feels).
    const answers: number[] = [];
    while (!stderr.includes('inspector still at')) {
      const t = performance.now();
      await page.evaluate(() => document.querySelector('#stages')?.textContent?.length ?? 0);
      answers.push(performance.now() - t);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.locator('body[data-ended="true"]').waitFor({ state: 'attached' });
    await page.locator('#state-done.active').waitFor();
    expect(await page.locator('#stages li[data-stage="execution"] .progress').textContent()).toBe('1000 / 1000 done');
    answers.sort((a, b) => a - b);
    const median = answers[Math.floor(answers.length / 2)] ?? NaN;
    figure(
      `1,000-step live run: the page showed it ${shownMs.toFixed(0)} ms after opening; while it ran the page answered in ${median.toFixed(0)} ms median, ${(answers.at(-1) ?? NaN).toFixed(0)} ms at worst (${answers.length} samples)`,
    );
    expect(errors).toEqual([]);
    await page.close();
    run.child.kill('SIGINT');
    expect((await run.done).exitCode).toBe(0);
  });
});
