/** What the CLI says, word for word where a word was wrong (issue 14, item 10). */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureStep, writePlan } from '../plans/plan-runs.js';
import { ROOT, reportOf, runCli, tempDir } from '../support/cli.js';
import { executor, manager } from './user-view.js';

describe('words', () => {
  it('the progress line of a stage the wall-clock budget cut short says so', async () => {
    const dir = tempDir();
    const planPath = writePlan(dir, { stages: { execution: [fixtureStep('slow', join(dir, 'trace.jsonl'), { sleep: 30_000 })] } });
    const result = await runCli([join(dir, 'out'), '--plan', planPath, '--max-wall-ms', '300', '--kill-grace-ms', '100']);
    expect(result.exitCode).toBe(124);
    expect(result.stderr).toContain('execution (cut short) => timeout\n');
    expect(result.stderr).not.toContain('(left)');
  });

  it("`report` of a resumed run gives the run's start, and when this invocation resumed it", async () => {
    const out = join(tempDir(), 'out');
    expect((await runCli([out, ...manager('fail')])).exitCode).toBe(1);
    expect((await runCli([out, '--resume', ...manager('ok')])).exitCode).toBe(0);
    const report = reportOf(out);
    const runStart = new Date(report.transitions[0].timestamp_unix_ms).toISOString();
    const invocationStart = new Date(report.started_at_unix_ms).toISOString();
    expect(runStart).not.toBe(invocationStart);
    const shown = await runCli(['report', out]);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain(`  started:        ${runStart}\n`);
    expect(shown.stdout).toContain(`  resumed from:   snapshot, at ${invocationStart}\n`);
  });

  it('an artifact_missing stage names the missing path on its CLI line', async () => {
    const dir = tempDir();
    const missing = join(dir, 'never-written.json');
    const result = await runCli([join(dir, 'out'), ...manager('ok'), '--manager-expected-artifact', missing]);
    expect(result.exitCode).toBe(1);
    const line = result.stderr.split('\n').find((l) => l.startsWith('autonomy-orchestrator: stage planning ended artifact_missing'));
    expect(line).toContain(`${missing} (missing)`);
  });

  it.each(['-1', '0', '+0'])('--timeout-ms %s says the range it takes', async (value) => {
    const result = await runCli([join(tempDir(), 'out'), '--timeout-ms', value, ...executor('ok')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--timeout-ms .*from 1 to 2147483647|--timeout-ms must be between 1 and 2147483647/);
  });

  it("the README's log file names are the ones a run writes", async () => {
    const out = join(tempDir(), 'out');
    expect((await runCli([out, ...manager('ok')])).exitCode).toBe(0);
    expect(readdirSync(join(out, 'logs')).sort()).toEqual(['planning.manager.attempt-1.stderr.log', 'planning.manager.attempt-1.stdout.log']);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('`<output_dir>/logs/<stage>.<step>.attempt-<n>.stdout.log`');
  });
});
