import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOTS, launchBrowser, urlIn } from '../support/browser.js';
import { STAGE, startCli, tempDir, waitFor } from '../support/cli.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('autonomy-orchestrator --inspect', () => {
  it('shows each stage become active in turn, then the terminal state, in a real browser', async () => {
    const dir = tempDir();
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Every state the page highlights, in order, however fast the run moves.
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver((records) => {
        for (const record of records) {
          const state = (record.target as HTMLElement).dataset.activeState;
          if (state && seen.at(-1) !== state) seen.push(state);
        }
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-active-state'] });
    });
    const run = startCli([
      dir,
      '--inspect',
      ...['--manager-bin', STAGE, '--manager-arg', 'sleep', '--manager-arg', '0.8'],
      ...['--executor-bin', STAGE, '--executor-arg', 'sleep', '--executor-arg', '0.8'],
    ]);
    let stderr = '';
    run.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 5_000, 'the inspector URL');
    const url = urlIn(stderr)!;
    expect(stderr).toContain(`autonomy-orchestrator: inspector at ${url}`);

    await page.goto(url);
    await page.locator('#state-planning.active').waitFor();
    expect(await page.locator('#run-status').textContent()).toBe('running: planning');
    await page.screenshot({ path: join(SCREENSHOTS, 'live-planning.png') });
    await page.locator('#state-execution.active').waitFor();
    expect(await page.locator('#state-planning').getAttribute('class')).toContain('visited');
    await page.screenshot({ path: join(SCREENSHOTS, 'live-execution.png') });
    await page.locator('#state-done.active').waitFor();
    await page.locator('body[data-ended="true"]').waitFor({ state: 'attached' });
    await page.screenshot({ path: join(SCREENSHOTS, 'live-done.png') });

    expect(await page.evaluate(() => (window as unknown as { seen: string[] }).seen)).toEqual([
      'planning',
      'policy_ingestion',
      'execution',
      'validation',
      'closure',
      'done',
    ]);
    expect(await page.locator('#run-status').textContent()).toBe('done');
    expect(await page.locator('#transitions li').allTextContents()).toHaveLength(6);
    expect(await page.locator('#transitions li').last().textContent()).toMatch(/closure → done$/);
    const cards = page.locator('.exec-card');
    expect(await cards.evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.stage, (e as HTMLElement).dataset.status]))).toEqual([
      ['planning', 'success'],
      ['execution', 'success'],
    ]);
    expect(await cards.first().locator('.meta').first().textContent()).toContain('exit 0');
    // The graph has every stage, gate and terminal state, with labelled edges.
    expect(await page.locator('svg .node').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.state).sort())).toEqual(
      ['awaiting_approval', 'blocked', 'budget_exceeded', 'closure', 'done', 'execution', 'failed', 'gates', 'hard_gates', 'planning', 'policy_ingestion', 'timeout', 'validation'],
    );
    expect(await page.locator('svg .edge[data-source="validation"][data-target="blocked"] text').textContent()).toBe(
      'done [stagePassedAndBlocked]',
    );
    expect(errors).toEqual([]);

    const outcome = await run.done;
    expect(outcome.exitCode).toBe(0);
    // The server stops with the run.
    await expect(fetch(url)).rejects.toThrow();
    await page.close();
  });

  it('shows a failed stage with its exit code and the tail of its log', async () => {
    const dir = tempDir();
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const run = startCli([
      dir,
      '--inspect',
      ...['--manager-bin', STAGE, '--manager-arg', 'sleep', '--manager-arg', '0.5'],
      ...['--executor-bin', STAGE, '--executor-arg', 'fail', '--executor-arg', '9'],
    ]);
    let stderr = '';
    run.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 5_000, 'the inspector URL');
    await page.goto(urlIn(stderr)!);
    await page.locator('#state-failed.active').waitFor();
    await page.locator('body[data-ended="true"]').waitFor({ state: 'attached' });
    const failed = page.locator('.exec-card[data-stage="execution"]');
    expect(await failed.getAttribute('data-status')).toBe('failed');
    expect(await failed.textContent()).toContain('exit 9');
    expect(await failed.locator('pre.stderr').textContent()).toContain('failing on purpose');
    expect(await page.locator('svg .edge.taken[data-source="execution"][data-target="failed"]').count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'live-failed.png') });
    expect((await run.done).exitCode).toBe(1);
    await page.close();
  });
});
