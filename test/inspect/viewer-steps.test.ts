import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SCREENSHOTS, describeWithBrowser, openViewer } from '../support/browser.js';
import { startCli, tempDir, waitFor } from '../support/cli.js';

describeWithBrowser('steps in the viewer', (browser) => {
  it("draws each stage's plan as a DAG by state; a step's details: attempts, env keys (no values), its whole log paged and followed while it runs", async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    // `talk` prints 3,000 numbered lines of 40 bytes (120,000 bytes: two pages), then waits for the
    // gate and prints one more line; `flaky` fails its first attempt.
    const talk = `i=0; while [ $i -lt 3000 ]; do printf 'line %05d of the talking step.........\\n' $i; i=$((i+1)); done; while [ ! -e ${gate} ]; do sleep 0.05; done; echo 'after the gate'`;
    const plan = {
      version: 1,
      concurrency: 4,
      stages: {
        execution: [
          { id: 'prepare', bin: 'true' },
          { id: 'talk', bin: 'sh', args: ['-c', talk], needs: ['prepare'], env: { TALK_SECRET: 'value-never-shown' } },
          { id: 'flaky', bin: 'sh', args: ['-c', '[ "$ORCHESTRATOR_ATTEMPT" != 1 ] || { echo first attempt fails >&2; exit 4; }'], retries: { max: 1, backoffMs: 10 } },
          { id: 'last', bin: 'true', needs: ['talk', 'flaky'] },
        ],
      },
    };
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify(plan));
    const run = startCli([join(dir, 'out'), '--plan', planPath, '--inspect', '--inspect-keep']);
    const { page, errors, output } = await openViewer(browser(), run, { height: 1000 });

    const dag = page.locator('#stages li[data-stage="execution"] svg.step-dag');
    await dag.locator('.step-node.running[data-step="talk"]').waitFor();
    const edges = await dag.locator('.step-edge').evaluateAll((paths) => paths.map((p) => `${(p as HTMLElement).dataset.from}->${(p as HTMLElement).dataset.to}`).sort());
    expect(edges).toEqual(['flaky->last', 'prepare->talk', 'talk->last']);
    await dag.locator('.step-node.success[data-step="prepare"]').waitFor();
    await dag.locator('.step-node.success[data-step="flaky"]').waitFor();
    expect(await dag.locator('.step-node[data-step="last"]').getAttribute('class')).toBe('step-node waiting');

    // Its details while it runs (its 3,000 lines written, the gate not yet there): the last page of
    // its log, then followed as it grows.
    const talkLog = join(dir, 'out', 'logs', 'execution.talk.attempt-1.stdout.log');
    await waitFor(() => existsSync(talkLog) && statSync(talkLog).size === 120_000, 20_000, 'the talking step to print its lines');
    await dag.locator('.step-node[data-step="talk"]').click();
    const details = page.locator('#step-details');
    await page.waitForFunction(() => document.querySelector('#step-log')?.textContent?.includes('line 02999'));
    expect(await details.getAttribute('data-state')).toBe('running');
    expect(await page.locator('#step-attempts li').allTextContents()).toEqual(['#1 running']);
    expect(await page.locator('#step-log-where').textContent()).toMatch(/^bytes 54464–120000 of 120000 · following$/);
    // The last 64 KiB: it starts mid-line (54464 bytes are 1361.6 lines in).
    const log = await page.locator('#step-log').textContent();
    expect(log!.startsWith('g step.........\nline 01362 ')).toBe(true);
    expect(log!.endsWith('line 02999 of the talking step.........\n')).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'step-details-running.png') });
    writeFileSync(gate, '');
    await page.waitForFunction(() => document.querySelector('#step-log')?.textContent?.endsWith('after the gate\n'));
    await page.locator('#step-details[data-state="success"]').waitFor();
    await waitFor(() => output().includes('inspector still at'), 20_000, 'the end of the run');
    await page.locator('body[data-ended="true"]').waitFor({ state: 'attached' });
    expect(await page.locator('#step-attempts li').first().textContent()).toMatch(/^#1 success · exit 0 · \d+\.\d\d s · from \d\d:\d\d:\d\d\.\d{3}env keys: TALK_SECRET$/);
    expect(await details.textContent()).not.toContain('value-never-shown');

    // The earlier page, joined to the one shown: the whole log.
    await page.click('#step-log-earlier');
    await page.waitForFunction(() => document.querySelector('#step-log')?.textContent?.startsWith('line 00000'));
    const whole = (await page.locator('#step-log').textContent())!;
    expect(whole.split('\n').filter((line) => line.startsWith('line '))).toHaveLength(3000);
    expect(await page.locator('#step-log-earlier').isDisabled()).toBe(true);
    // Following stops at the first read after the step ended that brings nothing new.
    await page.waitForFunction(() => document.querySelector('#step-log-where')?.textContent === 'bytes 0–120015 of 120015');

    // A step retried: both attempts, each with its exit code and its own log.
    await page.locator('.exec-card[data-step="flaky"] .stage').first().click();
    expect(await details.getAttribute('data-step')).toBe('flaky');
    await page.locator('#step-attempts li[data-attempt="2"]').waitFor();
    const attempts = await page.locator('#step-attempts li').evaluateAll((items) => items.map((li) => li.firstChild!.textContent!.split(' · ').slice(0, 2).join(' · ')));
    expect(attempts).toEqual(['#1 failed · exit 4', '#2 success · exit 0']);
    await page.click('#step-log-bar button[data-attempt="1"][data-stream="stderr"]');
    await page.waitForFunction(() => document.querySelector('#step-log')?.textContent === 'first attempt fails\n');
    expect(await dag.locator('.step-node[data-step="last"]').getAttribute('class')).toBe('step-node success');
    await page.screenshot({ path: join(SCREENSHOTS, 'step-details-retried.png') });
    expect(errors).toEqual([]);
    await page.close();
    run.child.kill('SIGINT');
    expect((await run.done).exitCode).toBe(0);
  });
});
