import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SCREENSHOTS, describeWithBrowser, urlIn } from '../support/browser.js';
import { STAGE, startCli, tempDir, waitFor } from '../support/cli.js';


describeWithBrowser('autonomy-orchestrator --inspect', (browser) => {
  it('shows each stage become active in turn, then the terminal state, in a real browser', async () => {
    const dir = tempDir();
    const page = await browser().newPage({ viewport: { width: 1400, height: 800 } });
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
    // Each program waits for its gate file, so the page is seen in each state however slow the machine.
    const flags = (role: string, gate: string) => [`--${role}-bin`, 'sh', `--${role}-arg`, '-c', `--${role}-arg`, `while [ ! -e ${join(dir, gate)} ]; do sleep 0.05; done`];
    const run = startCli([dir, '--inspect', ...flags('manager', 'go-planning'), ...flags('executor', 'go-execution')]);
    let stderr = '';
    run.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 20_000, 'the inspector URL');
    const url = urlIn(stderr)!;
    expect(stderr).toContain(`autonomy-orchestrator: inspector at ${url}`);

    await page.goto(url);
    await page.locator('#state-planning.active').waitFor();
    expect(await page.locator('#run-status').textContent()).toBe('running: planning');
    await page.screenshot({ path: join(SCREENSHOTS, 'live-planning.png') });
    writeFileSync(join(dir, 'go-planning'), '');
    await page.locator('#state-execution.active').waitFor();
    expect(await page.locator('#state-planning').getAttribute('class')).toContain('visited');
    await page.screenshot({ path: join(SCREENSHOTS, 'live-execution.png') });
    writeFileSync(join(dir, 'go-execution'), '');
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
      ['autofix', 'autonomous_check', 'autonomous_decide', 'awaiting_approval', 'blocked', 'budget_exceeded', 'closure', 'decision', 'delivery', 'delivery_step', 'done', 'execution', 'failed', 'gates', 'hard_gates', 'interrupted', 'planning', 'planning_context', 'policy_ingestion', 'pr_risk', 'review_ensemble', 'roi_below_floor', 'timeout', 'validation'],
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
    const page = await browser().newPage({ viewport: { width: 1400, height: 800 } });
    const run = startCli([
      dir,
      '--inspect',
      ...['--manager-bin', STAGE, '--manager-arg', 'sleep', '--manager-arg', '0.5'],
      ...['--executor-bin', STAGE, '--executor-arg', 'fail', '--executor-arg', '9'],
    ]);
    let stderr = '';
    run.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 20_000, 'the inspector URL');
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

describeWithBrowser('autonomy-orchestrator --inspect with a plan', (browser) => {
  it('shows steps running, the failing step first, and its siblings as cancelled by it; filters the executions', async () => {
    const dir = tempDir();
    const gate = join(dir, 'fail-now');
    const sibling = (id: string) => ({ id, bin: 'sh', args: ['-c', `touch ${join(dir, id)}; sleep 60`] });
    const plan = {
      version: 1,
      concurrency: 4,
      stages: {
        execution: [
          sibling('s1'),
          sibling('s2'),
          sibling('s3'),
          { id: 'bad', bin: 'sh', args: ['-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo 'bad went wrong' >&2; exit 3`] },
          { id: 'after', bin: 'true', needs: ['bad'] },
        ],
      },
    };
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify(plan));
    const run = startCli([join(dir, 'out'), '--plan', planPath, '--inspect', '--inspect-keep']);
    let stderr = '';
    run.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 10_000, 'the inspector URL');
    const page = await browser().newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(urlIn(stderr)!);
    const progress = page.locator('#stages li[data-stage="execution"] .progress');
    await page.locator('#stages li[data-stage="execution"] ul.running li[data-step="bad"]').waitFor();
    await waitFor(() => ['s1', 's2', 's3'].every((id) => existsSync(join(dir, id))), 10_000, 'the siblings to start');
    await page.waitForFunction(() => document.querySelector('#stages li[data-stage="execution"] .progress')?.textContent?.includes('4 running'));
    expect(await progress.textContent()).toBe('0 / 5 done · 4 running · 1 waiting');
    expect(await page.locator('#stages li[data-stage="execution"] ul.running li[data-step="bad"]').textContent()).toMatch(/^bad running \d+\.\d s$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'live-steps-running.png') });

    writeFileSync(gate, '');
    await waitFor(() => stderr.includes('inspector still at'), 20_000, 'the end of the run');
    await page.locator('#state-failed.active').waitFor();
    await page.locator('body[data-ended="true"]').waitFor({ state: 'attached' });
    expect(await page.locator('#banner').textContent()).toMatch(/^failed in execution \/ bad, attempt 1: failed \(exit 3\)/);
    expect(await progress.textContent()).toBe('0 / 5 done · 1 failed · 3 cancelled by a failure · 1 waiting');
    const root = page.locator('.exec-card.root-cause');
    expect(await root.getAttribute('data-step')).toBe('bad');
    await root.locator('pre.stderr').waitFor();
    expect(await root.locator('pre.stderr').textContent()).toContain('bad went wrong');
    const states = await page.locator('.exec-card').evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.step} ${(e as HTMLElement).dataset.state}`).sort());
    expect(states).toEqual(['bad failed', 's1 cancelled', 's2 cancelled', 's3 cancelled']);
    expect(await page.locator('.exec-card[data-step="s1"] .status').textContent()).toBe('cancelled');
    expect(await page.locator('.exec-card[data-step="s1"] .stage').textContent()).toBe('execution / s1');
    // The timeline: one bar per execution, by the report's times.
    const bars = await page.locator('#gantt .gantt-row').evaluateAll((rows) =>
      rows.map((row) => `${row.querySelector('.gantt-label')!.textContent} ${row.querySelector('.gantt-bar')!.className.replace('gantt-bar ', '')}`).sort(),
    );
    expect(bars).toEqual(['bad #1 failed', 's1 #1 cancelled', 's2 #1 cancelled', 's3 #1 cancelled']);

    await page.fill('#filter', 'cancelled');
    expect(await page.locator('.exec-card').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.step).sort())).toEqual(['s1', 's2', 's3']);
    await page.fill('#filter', 'execution bad');
    expect(await page.locator('.exec-card').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.step))).toEqual(['bad']);
    await page.fill('#filter', 's2 nosuch');
    expect(await page.locator('.exec-card').count()).toBe(0);
    await page.click('#jump-to-failure');
    expect(await page.locator('.exec-card.flash').getAttribute('data-step')).toBe('bad');
    await page.screenshot({ path: join(SCREENSHOTS, 'live-steps-failed.png') });
    expect(errors).toEqual([]);
    await page.close();
    run.child.kill('SIGINT');
    expect((await run.done).exitCode).toBe(1);
  });
});
