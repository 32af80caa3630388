/**
 * Risk tiers (V0's later contract), opt-in here: only with `--risk-tier-override`,
 * `--risk-allow-high`, or a real delivery (`--delivery-enabled` without `--delivery-dry-run`). The tier is the override, else the highest of a real delivery's branch
 * (protected: high, any other: medium) and the executor's arguments' (`-f`, `rebase`,
 * `reset --hard`, … high; any other executor medium); high without `--risk-allow-high` blocks
 * before anything runs (RISK_TIER_HIGH_BLOCKED, exit 3).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { STAGE, checkpointOf, reportOf, runCli, tempDir } from '../support/cli.js';
import { deliveryScene } from '../support/git-repo.js';

const out = () => join(tempDir('ao-risk-tier-'), 'out');
const scene = () => {
  const dir = tempDir('ao-risk-tier-');
  const effects = join(dir, 'effects');
  return {
    out: join(dir, 'out'),
    executor: (...args: string[]) => ['--executor-bin', STAGE, '--executor-arg', 'ok', ...args.flatMap((a) => ['--executor-arg', a]), '--executor-env', `SIDE_EFFECTS=${effects}`],
    ran: () => (existsSync(effects) ? readFileSync(effects, 'utf8').trim().split('\n') : []),
  };
};

describe.concurrent('risk tiers (--risk-tier-override, --risk-allow-high)', () => {
  it('an override of high without --risk-allow-high: blocked before any stage (no transition, nothing run), exit 3', async ({ expect }) => {
    const s = scene();
    const result = await runCli([s.out, ...s.executor(), '--risk-tier-override', 'high']);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toContain('Terminal state: blocked');
    const report = reportOf(s.out);
    expect([report.risk_tier, report.risk_signals]).toEqual(['high', [{ code: 'RISK_TIER_OVERRIDE_APPLIED', source: 'cli_override', value: 'high' }]]);
    expect([report.blocked_reason_codes, report.blocked]).toEqual([['RISK_TIER_HIGH_BLOCKED'], { reason: 'risk_tier', stage: 'planning', gate: null }]);
    expect([report.transitions, report.stage_executions, report.current_stage, report.hard_gate_results]).toEqual([[], [], null, []]);
    expect(s.ran()).toEqual([]);
    // Unlike upstream, the checkpoint is written: --resume with --risk-allow-high goes on from it.
    expect(checkpointOf(s.out).terminal_state).toBe('blocked');
    const resumed = await runCli([s.out, ...s.executor(), '--risk-tier-override', 'high', '--risk-allow-high', '--resume']);
    expect(resumed.exitCode).toBe(0);
    expect(s.ran()).toEqual(['execution 1']);
  });

  it('history-rewriting executor arguments are high: blocked unless allowed', async ({ expect }) => {
    for (const args of [['-f'], ['--force'], ['--force-with-lease=main'], ['rebase', 'main'], ['reset', '--hard'], ['push', '--force-with-lease']]) {
      const s = scene();
      expect((await runCli([s.out, ...s.executor(...args), '--risk-allow-high'])).exitCode, args.join(' ')).toBe(0);
      expect([reportOf(s.out).risk_tier, reportOf(s.out).risk_signals]).toEqual(['high', [{ code: 'HISTORY_REWRITE_INTENT', source: 'executor_args', value: ['ok', ...args].join(' ') }]]);
      expect(s.ran()).toEqual(['execution 1']);
    }
    const blocked = scene();
    expect((await runCli([blocked.out, ...blocked.executor('reset', '--hard'), '--risk-tier-override', 'high'])).exitCode).toBe(3);
  });

  it('any other executor is medium, no executor low; an override of low wins over the arguments', async ({ expect }) => {
    const medium = scene();
    expect((await runCli([medium.out, ...medium.executor('reset'), '--risk-allow-high'])).exitCode).toBe(0);
    expect([reportOf(medium.out).risk_tier, reportOf(medium.out).risk_signals]).toEqual(['medium', [{ code: 'EXECUTOR_WRITE_CAPABLE', source: 'executor_args', value: STAGE }]]);
    const low = out();
    expect((await runCli([low, '--risk-allow-high'])).exitCode).toBe(0);
    expect([reportOf(low).risk_tier, reportOf(low).risk_signals]).toEqual(['low', []]);
    const overridden = scene();
    expect((await runCli([overridden.out, ...overridden.executor('-f'), '--risk-tier-override', 'low'])).exitCode).toBe(0);
    expect(reportOf(overridden.out).risk_tier).toBe('low');
  });

  it('opt-in: without a risk flag `-f` runs as in the seed, and a later run carries risk_tier null', async ({ expect }) => {
    const seed = scene();
    expect((await runCli([seed.out, ...seed.executor('-f')])).exitCode).toBe(0);
    expect(reportOf(seed.out)).not.toHaveProperty('risk_tier');
    const later = scene();
    expect((await runCli([later.out, ...later.executor('-f'), '--policy-status', 'allow', '--ci-status', 'success', '--review-status', 'approved'])).exitCode).toBe(0);
    expect([reportOf(later.out).risk_tier, reportOf(later.out).risk_signals]).toEqual([null, []]);
  });

  it('a real delivery: a protected branch (main, master, release*, rel/*, hotfix*, any case) is high, any other branch medium, before the executor\'s signal', async ({ expect }) => {
    const tierOf = async (extra: string[], riskFlags = ['--risk-allow-high']) => {
      const s = deliveryScene();
      const result = await runCli([s.out, '--repo-root', s.repo, '--delivery-enabled', ...extra, ...riskFlags], { env: s.env });
      const report = reportOf(s.out);
      return [result.exitCode, report.risk_tier, report.risk_signals];
    };
    const signal = (code: string, value: string) => ({ code, source: 'delivery_options', value });
    const runs = {
      main: tierOf(['--delivery-branch', 'main']),
      MASTER: tierOf(['--delivery-branch', 'MASTER']),
      release: tierOf(['--delivery-branch', 'Release-2.0']),
      rel: tierOf(['--delivery-branch', 'rel/7']),
      hotfix: tierOf(['--delivery-branch', 'hotfix/login']),
      feature: tierOf(['--delivery-branch', 'feat/relax']),
      none: tierOf([]),
      withExecutor: tierOf(['--delivery-branch', 'feat/x', '--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-arg', 'rebase']),
      dryRun: tierOf(['--delivery-branch', 'main', '--delivery-dry-run']),
      // A real delivery classifies without a risk flag: to main it is blocked unless allowed.
      mainUnallowed: tierOf(['--delivery-branch', 'main'], ['--policy-status', 'allow', '--ci-status', 'success', '--review-status', 'approved']),
      featureUnallowed: tierOf(['--delivery-branch', 'feat/y'], []),
      dryRunUnallowed: tierOf(['--delivery-branch', 'main', '--delivery-dry-run'], []),
    };
    const got = Object.fromEntries(await Promise.all(Object.entries(runs).map(async ([name, run]) => [name, await run])));
    expect(got).toEqual({
      main: [0, 'high', [signal('DELIVERY_TO_PROTECTED_BRANCH', 'main')]],
      MASTER: [0, 'high', [signal('DELIVERY_TO_PROTECTED_BRANCH', 'MASTER')]],
      release: [0, 'high', [signal('DELIVERY_TO_PROTECTED_BRANCH', 'Release-2.0')]],
      rel: [0, 'high', [signal('DELIVERY_TO_PROTECTED_BRANCH', 'rel/7')]],
      hotfix: [0, 'high', [signal('DELIVERY_TO_PROTECTED_BRANCH', 'hotfix/login')]],
      feature: [0, 'medium', [signal('DELIVERY_WRITE_ENABLED', 'feat/relax')]],
      none: [0, 'medium', [signal('DELIVERY_WRITE_ENABLED', 'no_branch')]],
      withExecutor: [0, 'high', [signal('DELIVERY_WRITE_ENABLED', 'feat/x'), { code: 'HISTORY_REWRITE_INTENT', source: 'executor_args', value: 'ok rebase' }]],
      // A dry run writes nothing: no signal (upstream's rule).
      dryRun: [0, 'low', []],
      mainUnallowed: [3, 'high', [signal('DELIVERY_TO_PROTECTED_BRANCH', 'main')]],
      featureUnallowed: [0, 'medium', [signal('DELIVERY_WRITE_ENABLED', 'feat/y')]],
      // A dry run with no risk flag computes no tier, as any run without one.
      dryRunUnallowed: [0, null, []],
    });
  });

  it('a real delivery to main without --risk-allow-high delivers nothing: blocked before any stage, the repository as it was', async ({ expect }) => {
    const s = deliveryScene();
    const before = s.git('log', '--all', '--oneline');
    const result = await runCli([s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-branch', 'main', '--delivery-commit-message', 'fix', '--delivery-pr-enabled'], { env: s.env });
    expect(result.exitCode).toBe(3);
    const report = reportOf(s.out);
    expect([report.terminal_state, report.blocked_reason_codes, report.stage_executions]).toEqual(['blocked', ['RISK_TIER_HIGH_BLOCKED'], []]);
    expect([s.git('log', '--all', '--oneline'), s.git('branch', '--show-current'), s.ghCalls()]).toEqual([before, 'trunk', []]);
  });

  it('a tier that is not low, medium or high: exit 2, one line naming the flag', async ({ expect }) => {
    const result = await runCli([out(), '--risk-tier-override', 'extreme']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe("autonomy-orchestrator: option '--risk-tier-override <tier>' argument 'extreme' is invalid. Allowed choices are low, medium, high.");
  });
});
