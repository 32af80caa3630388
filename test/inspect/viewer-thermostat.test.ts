import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it, onTestFinished } from 'vitest';
import { SCREENSHOTS, describeWithBrowser, openViewer, urlIn } from '../support/browser.js';
import { ROOT, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

/** A step that reports what it cost and brought back. */
const spender = (id: string, value: number, sleep = 0) => ({
  id,
  bin: 'sh',
  args: ['-c', `sleep ${sleep}; echo '{"cost": 10, "value": ${value}}' > "$ORCHESTRATOR_COST_FILE"`],
});

const decisions = (page: Page) =>
  page.locator('#decisions li').evaluateAll((items) => items.map((li) => `${li.querySelector('.change')!.textContent} ${(li as HTMLElement).dataset.reason}`));

async function openReplay(browserPage: Page, dir: string) {
  const viewer = startCli(['inspect', dir]);
  onTestFinished(() => void viewer.child.kill('SIGTERM'));
  let stderr = '';
  viewer.child.stderr.on('data', (chunk) => (stderr += chunk));
  await waitFor(() => urlIn(stderr) !== null, 20_000, 'the replay URL');
  await browserPage.goto(urlIn(stderr)!);
  await browserPage.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
  return viewer;
}

describeWithBrowser('the ROI thermostat in the viewer', (browser) => {
  it('draws each decision live as the stream brings it, the halt with the --resume command, and the resumed run in replay', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    // Three at once: p1 pays little (its window's ROI (2 × 0.93 − 10) / 10 = -0.814) and the
    // concurrency drops to 2, so p3 waits; p2 pays nothing (the window's ROI -0.907), the window
    // has been below the floor at both its steps, and the thermostat halts while `slow` still runs
    // (until the gate file appears).
    const plan = {
      version: 1,
      thermostat: { window: 2, target: 0.5, floor: -0.3, minConcurrency: 1, maxConcurrency: 3, cooldownSteps: 0 },
      stages: {
        execution: [
          { id: 'slow', bin: 'sh', args: ['-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`] },
          spender('p1', 2),
          spender('p2', 0, 1),
          spender('p3', 50),
        ],
      },
    };
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify(plan));
    const out = join(dir, 'out');
    const run = startCli([out, '--plan', planPath, '--inspect', '--inspect-keep']);
    const { page, errors, output } = await openViewer(browser(), run);

    // Live: the halt is drawn while `slow` still runs, before the run (and its report) ends.
    await page.locator('#decisions li[data-reason="below_floor"]').waitFor();
    expect(await page.locator('body').getAttribute('data-ended')).toBeNull();
    expect(output()).not.toContain('blocked');
    expect(await decisions(page)).toEqual(['3 → 2 below_target', '2 → 2 below_floor']);
    const box = page.locator('#thermostat');
    expect(await box.getAttribute('data-state')).toBe('halted');
    expect(await box.getAttribute('data-concurrency')).toBe('2');
    expect(await page.locator('#thermostat-standing').textContent()).toBe(
      'halted · concurrency 2 (1–3) · ROI -0.907 (target 0.5, floor -0.3) · spent 20 · value 2',
    );
    expect(await page.locator('#decisions li[data-seq="1"]').textContent()).toContain('ROI -0.814 · cooling · net ROI -0.814 below the target 0.5');
    // The chart: one ROI dot per decision, the halt's apart, and the concurrency line stepping down.
    expect(await page.locator('#thermostat-chart circle.roi').count()).toBe(2);
    expect(await page.locator('#thermostat-chart circle.roi.below_floor').count()).toBe(1);
    const levels = await page.locator('#thermostat-chart path.concurrency').getAttribute('d');
    const ys = [...new Set(levels!.split(' ').map((point) => point.split(',')[1]))];
    expect(ys).toHaveLength(2); // 3, then 2
    await page.screenshot({ path: join(SCREENSHOTS, 'thermostat-live-halt.png') });

    writeFileSync(gate, '');
    await waitFor(() => output().includes('inspector still at'), 20_000, 'the end of the run');
    await page.locator('body[data-ended="true"]').waitFor({ state: 'attached' });
    await page.locator('#state-roi_below_floor.active').waitFor();
    expect(await page.locator('#banner').textContent()).toBe(
      `halted by the ROI thermostat in execution (ROI_BELOW_FLOOR: net ROI below the floor -0.3 for a full window of 2 steps (now -0.907)); continue with a lower floor: ORCHESTRATOR_THERMOSTAT='{"floor": -1}' autonomy-orchestrator ${out} --resume`,
    );
    expect(await page.locator('#banner').getAttribute('class')).toBe('blocked');
    expect(await page.locator('.exec-card[data-step="p3"]').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
    run.child.kill('SIGINT');
    expect((await run.done).exitCode).toBe(3);

    // The command the banner gave continues the run: p3 runs, and pays.
    const resumed = await runCli([out, '--resume'], { env: { ORCHESTRATOR_THERMOSTAT: '{"floor": -1}' } });
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(out).stage_executions.map((e: { step: string }) => e.step)).toContain('p3');

    const replayPage = await browser().newPage({ viewport: { width: 1400, height: 900 } });
    const viewer = await openReplay(replayPage, out);
    expect(await decisions(replayPage)).toEqual(['3 → 2 below_target', '2 → 2 below_floor', '2 → 2 resumed', '2 → 3 above_target']);
    expect(await replayPage.locator('#banner').isHidden()).toBe(true);
    expect(await replayPage.locator('#thermostat').getAttribute('data-state')).toBe('heating');
    expect(await replayPage.locator('#decisions li.future').count()).toBe(0);
    // At the first entry into execution, every decision is still to come.
    const labels = await replayPage.locator('#transitions li').allTextContents();
    const firstExecution = labels.findIndex((label) => label.endsWith('→ execution'));
    await replayPage.locator('#step').fill(String(firstExecution));
    expect(await replayPage.locator('#decisions li.future').count()).toBe(4);
    expect(await replayPage.locator('#thermostat-chart circle.roi.future').count()).toBe(4);
    await replayPage.close();
    viewer.child.kill('SIGINT');
    expect((await viewer.done).exitCode).toBe(0);
  });

  it('replays the example plan: the payoff falls, the concurrency goes down, the run halts, and resumes with a lower floor', async () => {
    const out = join(tempDir(), 'roi');
    const plan = join(ROOT, 'examples', 'plans', 'roi-thermostat.json');
    const halted = await runCli([out, '--plan', plan]);
    expect(halted.exitCode).toBe(3);
    const page = await browser().newPage({ viewport: { width: 1400, height: 900 } });
    let viewer = await openReplay(page, out);
    // Which step finishes first varies, so the exact decisions may too: from 4 at once, only down, then the halt.
    const first = await decisions(page);
    expect(first[0]).toMatch(/^4 → 3 below_target$/);
    expect(first.at(-1)).toMatch(/below_floor$/);
    for (const decision of first.slice(0, -1)) expect(decision).toMatch(/^(\d) → (\d) below_target$/);
    const changes = first.map((d) => d.split(' ').filter((w) => /^\d$/.test(w)).map(Number));
    for (const [from, to] of changes) expect(to).toBeLessThanOrEqual(from!);
    const haltedAt = changes.at(-1)![1]!;
    expect(await page.locator('#thermostat').getAttribute('data-state')).toBe('halted');
    expect(await page.locator('#thermostat').getAttribute('data-concurrency')).toBe(String(haltedAt));
    expect(await page.locator('#banner').textContent()).toContain(`continue with a lower floor: ORCHESTRATOR_THERMOSTAT='{"floor": -1}' autonomy-orchestrator ${out} --resume`);
    expect(await page.locator('#state-roi_below_floor.active').count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'thermostat-example-halted.png') });
    viewer.child.kill('SIGINT');
    await viewer.done;

    const resumed = await runCli([out, '--resume'], { env: { ORCHESTRATOR_THERMOSTAT: '{"floor": -1}' } });
    expect(resumed.exitCode).toBe(0);
    viewer = await openReplay(page, out);
    const all = await decisions(page);
    expect(all.slice(0, first.length)).toEqual(first);
    expect(all[first.length]).toBe(`${haltedAt} → ${haltedAt} resumed`);
    expect(await page.locator('#banner').isHidden()).toBe(true);
    expect(await page.locator('#state-done.active').count()).toBe(1);
    await page.close();
    viewer.child.kill('SIGINT');
    expect((await viewer.done).exitCode).toBe(0);
  });
});
