/**
 * Delivery (V0's later contract), dry run only: with `--delivery-enabled --delivery-dry-run` the
 * state `delivery` after closure records the git and gh commands upstream would run
 * (`delivery.*.dry_run`, key `stage:Closure:delivery:<n>`, exit 0, success) and runs none of them;
 * a real delivery is refused with exit 2.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { reportOf, runCli, tempDir } from '../support/cli.js';

const out = () => join(tempDir('ao-delivery-'), 'out');
const deliveries = (report: any) =>
  report.stage_executions.filter((e: any) => e.command.startsWith('delivery.')).map((e: any) => [e.stage, e.idempotency_key, e.command, e.args, e.exit_code, e.status]);

describe.concurrent('delivery (--delivery-enabled --delivery-dry-run)', () => {
  it('records every step upstream would run, in order, after closure; runs none', async ({ expect }) => {
    const dir = out();
    const argv = [dir, '--delivery-enabled', '--delivery-dry-run', '--delivery-branch', 'feat/x', '--delivery-commit-message', 'Fix it', '--delivery-pr-enabled', '--delivery-pr-base', 'main', '--delivery-pr-title', 'Fix'];
    const result = await runCli(argv);
    expect(result.exitCode).toBe(0);
    const report = reportOf(dir);
    expect(deliveries(report)).toEqual([
      ['closure', 'stage:Closure:delivery:1', 'delivery.git.switch_branch.dry_run', ['switch', '-c', 'feat/x'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:2', 'delivery.git.add.dry_run', ['add', '-A'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:3', 'delivery.git.commit.dry_run', ['commit', '-m', 'Fix it'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:4', 'delivery.gh.pr.create.dry_run', ['pr', 'create', '--base', 'main', '--title', 'Fix', '--head', 'feat/x'], 0, 'success'],
    ]);
    expect(report.terminal_state).toBe('done');
    expect(report.transitions.at(-1).to_stage).toBe('closure');
    // Nothing ran: the working directory has no git repository made by a delivery.
    expect(existsSync(join(dir, '.git'))).toBe(false);
  });

  it('the fewest steps: git add only; with a PR number, gh pr edit', async ({ expect }) => {
    const bare = out();
    expect((await runCli([bare, '--delivery-enabled', '--delivery-dry-run'])).exitCode).toBe(0);
    expect(deliveries(reportOf(bare)).map((d: any[]) => d[2])).toEqual(['delivery.git.add.dry_run']);
    const update = out();
    expect((await runCli([update, '--delivery-enabled', '--delivery-dry-run', '--delivery-pr-enabled', '--delivery-pr-number', '7', '--delivery-pr-body', 'b'])).exitCode).toBe(0);
    expect(deliveries(reportOf(update)).map((d: any[]) => [d[2], d[3]])).toEqual([
      ['delivery.git.add.dry_run', ['add', '-A']],
      ['delivery.gh.pr.update.dry_run', ['pr', 'edit', '7', '--body', 'b']],
    ]);
  });

  it('a blocked run delivers nothing; without --delivery-enabled the other delivery flags do nothing (as upstream)', async ({ expect }) => {
    const blocked = out();
    expect((await runCli([blocked, '--delivery-enabled', '--delivery-dry-run', '--policy-status', 'deny'])).exitCode).toBe(3);
    expect(deliveries(reportOf(blocked))).toEqual([]);
    const off = out();
    expect((await runCli([off, '--delivery-dry-run', '--delivery-pr-enabled'])).exitCode).toBe(0);
    expect(deliveries(reportOf(off))).toEqual([]);
  });

  it('a real delivery is refused: exit 2, one line, nothing run', async ({ expect }) => {
    const dir = out();
    const result = await runCli([dir, '--delivery-enabled', '--delivery-branch', 'main']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe('autonomy-orchestrator: --delivery-enabled without --delivery-dry-run is not supported yet: only a dry run of the delivery is');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'orchestrator_run_report.json'))).toBe(false);
  });
});
