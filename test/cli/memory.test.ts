/**
 * The long-horizon memory (`--memory-path`, JSON here where V0 writes binary): each run leaves an
 * entry; contributors' averaged scores become the next decision's reliability inputs
 * (MEMORY_SIGNAL_APPLIED); decay and eviction leave `memory.policy.enforce` records; a file that
 * does not parse is refused and left as it is.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { reportOf, runCli, tempDir } from '../support/cli.js';

const vote = (id: string, v: string) => ['--decision-contribution', `contributor_id=${id},capability=plan,vote=${v},confidence=90,weight=10`];

describe.concurrent('the long-horizon memory (--memory-path, --memory-max-entries, --memory-decay-window-runs)', () => {
  it("remembers each run's reliability updates and feeds their average to the next decision", async ({ expect }) => {
    const dir = tempDir('ao-memory-');
    const memory = join(dir, 'memory.json');
    // A tie: block wins (fail closed); a loses 3 (confident and against), b gains 3.
    expect((await runCli([join(dir, 'one'), ...vote('a', 'proceed'), ...vote('b', 'block'), '--memory-path', memory])).exitCode).toBe(3);
    const stored = JSON.parse(readFileSync(memory, 'utf8'));
    expect(stored.next_run_index).toBe(1);
    expect(stored.entries).toHaveLength(1);
    expect(stored.entries[0]).toMatchObject({
      run_index: 0,
      terminal_state_code: 'Blocked',
      failure_signature: 'DECISION_TIE_FAIL_CLOSED',
      blocked_reason_codes: ['DECISION_TIE_FAIL_CLOSED'],
    });
    expect(stored.entries[0].reliability_updates.map((u: any) => [u.contributor_id, u.new_score])).toEqual([['a', 47], ['b', 53]]);

    // Next run: a's remembered 47 against b's explicit 50: 900·97 < 900·100, block by score, no tie.
    expect((await runCli([join(dir, 'two'), ...vote('a', 'proceed'), ...vote('b', 'block'), '--decision-reliability', 'contributor_id=b,capability=plan,score=50', '--memory-path', memory])).exitCode).toBe(3);
    const report = reportOf(join(dir, 'two'));
    expect(report.decision_reliability_factors.map((f: any) => f.reliability_score)).toEqual([47, 50]);
    expect(report.decision_rationale_codes).toEqual(['DECISION_RELIABILITY_COLD_START', 'MEMORY_SIGNAL_APPLIED']);
    expect(JSON.parse(readFileSync(memory, 'utf8')).next_run_index).toBe(2);
  });

  it('decays entries past the window and evicts the oldest past the cap, each with a memory.policy.enforce record', async ({ expect }) => {
    const dir = tempDir('ao-memory-');
    const memory = join(dir, 'memory.json');
    for (const run of ['a', 'b']) expect((await runCli([join(dir, run), '--memory-path', memory])).exitCode).toBe(0);
    expect((await runCli([join(dir, 'c'), '--memory-path', memory, '--memory-decay-window-runs', '1'])).exitCode).toBe(0);
    expect(reportOf(join(dir, 'c')).stage_executions.map((e: any) => [e.command, e.args, e.status, e.exit_code])).toEqual([
      ['memory.policy.enforce', ['MEMORY_ENTRY_DECAYED'], 'success', 0],
    ]);
    expect(JSON.parse(readFileSync(memory, 'utf8')).entries.map((e: any) => e.run_index)).toEqual([2]);
    expect((await runCli([join(dir, 'd'), '--memory-path', memory, '--memory-max-entries', '0'])).exitCode).toBe(0);
    expect(reportOf(join(dir, 'd')).stage_executions.map((e: any) => e.args[0])).toEqual(['MEMORY_ENTRY_EVICTED']);
    expect(JSON.parse(readFileSync(memory, 'utf8')).entries).toEqual([]);
  });

  it('refuses a file that does not parse, in one line, exit 1, and leaves it as it is; writes none without the flag', async ({ expect }) => {
    const dir = tempDir('ao-memory-');
    const memory = join(dir, 'memory.json');
    writeFileSync(memory, '{bad');
    const result = await runCli([join(dir, 'out'), '--memory-path', memory]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([`autonomy-orchestrator: cannot read --memory-path ${memory}: it is not valid JSON; the file was left as it is`]);
    expect(readFileSync(memory, 'utf8')).toBe('{bad');
    expect((await runCli([join(dir, 'plain'), ...vote('a', 'proceed')])).exitCode).toBe(0);
    expect(existsSync(join(dir, 'plain', 'memory.json'))).toBe(false);
  });
});
