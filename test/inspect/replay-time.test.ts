import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SCREENSHOTS, describeWithBrowser, urlIn } from '../support/browser.js';
import { reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

interface Record {
  step: string;
  started_at_unix_ms: number;
  duration_ms: number;
}

describeWithBrowser('autonomy-orchestrator inspect <output_dir> --plan: replay by time', (browser) => {
  it("shows each step's state at a moment of the run, and plays the run back at a speed", async () => {
    const dir = tempDir();
    const plan = {
      version: 1,
      stages: {
        execution: [
          { id: 'a', bin: 'sleep', args: ['0.4'] },
          { id: 'b', bin: 'sleep', args: ['0.4'], needs: ['a'] },
        ],
      },
    };
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify(plan));
    const out = join(dir, 'out');
    expect((await runCli([out, '--plan', planPath])).exitCode).toBe(0);
    const report = reportOf(out);
    const b = report.stage_executions.find((e: Record) => e.step === 'b') as Record;
    const start = Math.min(...report.transitions.map((t: { timestamp_unix_ms: number }) => t.timestamp_unix_ms), ...report.stage_executions.map((e: Record) => e.started_at_unix_ms));

    const viewer = startCli(['inspect', out, '--plan', planPath]);
    onTestFinished(() => void viewer.child.kill('SIGTERM'));
    let stderr = '';
    viewer.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => urlIn(stderr) !== null, 20_000, 'the replay URL');
    const page = await browser().newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const state = document.body.dataset.activeState;
        if (state && seen.at(-1) !== state) seen.push(state);
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-active-state'] });
    });
    await page.goto(urlIn(stderr)!);
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
    const dag = page.locator('#stages li[data-stage="execution"] svg.step-dag');
    const nodeState = (id: string) => dag.locator(`.step-node[data-step="${id}"]`).getAttribute('class');
    expect(await nodeState('b')).toBe('step-node success');

    // 200 ms into b: a has ended, b runs, the run is in execution.
    await page.locator('#time').fill(String(b.started_at_unix_ms + 200 - start));
    expect(await page.locator('body').getAttribute('data-active-state')).toBe('execution');
    expect(await nodeState('a')).toBe('step-node success');
    expect(await nodeState('b')).toBe('step-node running');
    expect(await page.locator('#stages li[data-stage="execution"] .progress').textContent()).toBe('1 / 2 done · 1 running');
    expect(await page.locator('#stages ul.running li[data-step="b"]').textContent()).toBe('b running 0.2 s');
    expect(await page.locator('.exec-card.future').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.step))).toEqual(['b']);
    await page.screenshot({ path: join(SCREENSHOTS, 'replay-at-time.png') });
    // At the very start nothing has run.
    await page.locator('#time').fill('0');
    expect(await page.locator('body').getAttribute('data-active-state')).toBe('planning');
    expect(await nodeState('a')).toBe('step-node waiting');

    // Played at 1× (this run lasts about a second), from the start to the end.
    await page.evaluate(() => ((window as unknown as { seen: string[] }).seen.length = 0));
    await page.selectOption('#speed', '1');
    await page.click('#play');
    expect(await page.locator('#play').textContent()).toBe('❚❚ pause');
    await page.locator('body[data-playing="false"]').waitFor({ state: 'attached', timeout: 15_000 });
    expect(await page.locator('#time').inputValue()).toBe(await page.locator('#time').getAttribute('max'));
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    expect(seen.at(-1)).toBe('done');
    expect(seen).toContain('execution');
    expect(seen.indexOf('execution')).toBeLessThan(seen.indexOf('done'));
    expect(await nodeState('b')).toBe('step-node success');
    // The transition slider takes over again.
    await page.click('#prev');
    expect(await page.locator('body').getAttribute('data-active-state')).toBe('closure');
    expect(await page.locator('.exec-card.future').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
    viewer.child.kill('SIGINT');
    expect((await viewer.done).exitCode).toBe(0);
  });
});

describe('autonomy-orchestrator inspect <output_dir> --plan with a bad plan', () => {
  it('says so in one line naming the file (exit 2)', async () => {
    const dir = tempDir();
    expect((await runCli([dir, '--manager-bin', 'true'])).exitCode).toBe(0);
    const missing = join(dir, 'no-such-plan.json');
    const outcome = await runCli(['inspect', dir, '--plan', missing]);
    expect(outcome.exitCode).toBe(2);
    expect(outcome.stderr).toBe(`autonomy-orchestrator: plan ${missing}: cannot read it (ENOENT)\n`);
  });
});
