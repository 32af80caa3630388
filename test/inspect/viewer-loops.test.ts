import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it, onTestFinished } from 'vitest';
import { SCREENSHOTS, describeWithBrowser, openViewer, urlIn } from '../support/browser.js';
import { ROOT, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

const noteOn = (page: Page, source: string, target: string) => page.locator(`svg .edge[data-source="${source}"][data-target="${target}"] text.note`);
const loopsList = (page: Page) => page.locator('#loops-list li').allTextContents();

describeWithBrowser('loops and gates in the viewer', (browser) => {
  it("the README's worked example, live: the remediation cycle on validation → execution, the gates passed, the reviewer's next step", async () => {
    const out = join(tempDir(), 'loop');
    const ex = (name: string) => join(ROOT, 'examples', name);
    const run = startCli([
      out,
      '--inspect',
      '--inspect-keep',
      ...['--manager-bin', ex('manager.mjs'), '--manager-arg', `${out}/manager`, '--manager-expected-artifact', `${out}/manager/action_plan.json`],
      ...['--executor-bin', ex('executor.mjs'), '--executor-arg', `${out}/manager/action_plan.json`, '--executor-arg', `${out}/executor`],
      ...['--executor-expected-artifact', `${out}/executor/result.json`],
      ...['--reviewer-bin', ex('reviewer.mjs'), '--reviewer-arg', `${out}/executor/result.json`, '--reviewer-arg', `${out}/reviewer/review.json`],
      ...['--reviewer-expected-artifact', `${out}/reviewer/review.json`],
      ...['--reviewer-remediation-max-cycles', '1', '--policy-status', 'allow', '--ci-status', 'success', '--review-status', 'approved'],
    ]);
    const { page, errors, output } = await openViewer(browser(), run);
    await waitFor(() => output().includes('inspector still at'), 20_000, 'the end of the run');
    await page.locator('body[data-ended="true"]').waitFor({ state: 'attached' });
    await page.locator('#state-done.active').waitFor();

    expect(await noteOn(page, 'validation', 'execution').textContent()).toBe('cycle 1 of 1');
    expect(await noteOn(page, 'execution', 'validation').textContent()).toBe('×2');
    expect(await loopsList(page)).toEqual([
      'execution attempt 1 of 1',
      'remediation cycle 1 of 1',
      'gate policy: allow passed',
      'gate ci: success passed',
      'gate review: approved passed',
      'hard gates: 8 of 8 passed',
      // One failed validation (the reviewer's first review): test_stability 6.
      'PR risk: 6 (eligible for auto-merge)',
      'reviewer_next_steps: ["P1 [MISSING_TEST] Add a test for the empty plan"]',
    ]);
    expect(await page.locator('#state-gates').getAttribute('class')).toContain('outcome-passed');
    expect(await page.locator('#state-hard_gates').getAttribute('class')).toContain('outcome-passed');
    expect(await page.locator('#banner').isHidden()).toBe(true);
    expect(await page.locator('.exec-card').evaluateAll((cards) => cards.map((c) => `${(c as HTMLElement).dataset.step} ${(c as HTMLElement).dataset.status}`))).toEqual([
      'manager success',
      'executor success',
      'reviewer failed',
      'executor success',
      'reviewer success',
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'loops-live.png') });
    expect(errors).toEqual([]);
    await page.close();
    run.child.kill('SIGINT');
    expect((await run.done).exitCode).toBe(0);
  });

  it('replayed: a retried execution on its self-loop, a failed gate with its reason code, a spent budget as a record', async () => {
    const dir = tempDir();
    // Fails its first attempt, passes the second.
    const flaky = ['--executor-bin', 'sh', '--executor-arg', '-c', '--executor-arg', '[ "$ORCHESTRATOR_EXECUTION_ATTEMPT" != 1 ]'];
    const blocked = await runCli([join(dir, 'gated'), '--manager-bin', 'true', ...flaky, '--execution-max-iterations', '2', '--policy-status', 'allow', '--ci-status', 'failure', '--review-status', 'approved']);
    expect(blocked.exitCode).toBe(3);
    const spent = await runCli([join(dir, 'spent'), '--manager-bin', 'true', '--executor-bin', 'false', '--execution-max-iterations', '1']);
    expect(spent.exitCode).toBe(1);

    const page = await browser().newPage({ viewport: { width: 1400, height: 900 } });
    for (const [name, check] of [
      [
        'gated',
        async () => {
          expect(await noteOn(page, 'execution', 'execution').textContent()).toBe('attempt 2 of 2');
          expect(await page.locator('svg .edge.looped[data-source="execution"][data-target="execution"]').count()).toBe(1);
          expect(await page.locator('#banner').textContent()).toBe('blocked in validation: gates — GATE_CI_NOT_SUCCESS');
          expect(await page.locator('#state-gates').getAttribute('class')).toContain('outcome-failed');
          expect(await page.locator('#state-gates title').textContent()).toBe('policy: allow\nci: failure (GATE_CI_NOT_SUCCESS)\nreview: approved');
          expect((await loopsList(page)).slice(0, 4)).toEqual([
            'execution attempt 2 of 2',
            'remediation cycle 0 of 0',
            'gate policy: allow passed',
            'gate ci: failure failed (GATE_CI_NOT_SUCCESS)',
          ]);
          await page.screenshot({ path: join(SCREENSHOTS, 'loops-gate-failed.png') });
          // Replaying, the counts belong to the run's end: an earlier step shows none.
          await page.locator('#step').fill('1');
          expect(await page.locator('svg text.note').count()).toBe(0);
          expect(await page.locator('svg .node.outcome-failed').count()).toBe(0);
        },
      ],
      [
        'spent',
        async () => {
          // The budget grew once (1 -> 2) and was spent: both records, named by their command.
          const records = await page.locator('.exec-card[data-record="true"] .stage').allTextContents();
          expect(records).toEqual(['execution · execution.policy.adapt', 'execution · execution.iteration_budget']);
          const list = await loopsList(page);
          expect(list).toContain('execution.iteration_budget: max_iterations_exhausted 2 — Execution iteration budget exhausted after 2 attempt(s)');
          expect(list.some((line) => line.startsWith('adaptive_policy_decisions: [{"action":"increase_execution_budget"'))).toBe(true);
          expect(await noteOn(page, 'execution', 'execution').textContent()).toBe('attempt 2 of 2');
        },
      ],
    ] as const) {
      const viewer = startCli(['inspect', join(dir, name)]);
      onTestFinished(() => void viewer.child.kill('SIGTERM'));
      let stderr = '';
      viewer.child.stderr.on('data', (chunk) => (stderr += chunk));
      await waitFor(() => urlIn(stderr) !== null, 20_000, 'the replay URL');
      await page.goto(urlIn(stderr)!);
      await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
      await check();
      viewer.child.kill('SIGINT');
      expect((await viewer.done).exitCode).toBe(0);
    }
    await page.close();
  });
});
