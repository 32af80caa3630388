/**
 * Delivery (V0's later contract). With `--delivery-enabled` the commands run once closure passed,
 * in `--repo-root`, one by one: `git switch -c`, `git add -A`, `git commit -m`, then `gh pr create`
 * or `gh pr edit`, each a record (command = the step id, key `stage:Closure:delivery:<n>`). The first
 * that fails ends the run failed (exit 1) and the rest do not run; `--resume` goes on from it, never
 * running again one that succeeded. With `--delivery-dry-run` they are recorded
 * (`delivery.*.dry_run`, exit 0, success) and none runs.
 * The repository is a real one; `gh` is test/fixtures/fake-gh/gh, first on PATH.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { STAGE, checkpointOf, processAlive, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';
import { deliveryScene } from '../support/git-repo.js';
import { startReceiver } from '../trace/otlp-receiver.js';

const out = () => join(tempDir('ao-delivery-'), 'out');
const deliveries = (report: any) =>
  report.stage_executions.filter((e: any) => e.command.startsWith('delivery.')).map((e: any) => [e.stage, e.idempotency_key, e.command, e.args, e.exit_code, e.status]);
const records = (report: any) =>
  report.stage_executions.filter((e: any) => e.command.startsWith('delivery.')).map((e: any) => [e.idempotency_key, e.command, e.status, e.exit_code, e.error]);

/** Every file under `dir`, read whole. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [readFileSync(path, 'utf8')];
  });
}

describe.concurrent('delivery (--delivery-enabled)', () => {
  it('runs git switch -c, add, commit and gh pr create in the repository, in order; each a record; done', async ({ expect }) => {
    const s = deliveryScene();
    const secret = 'delivery-secret-value-5c1e';
    const flags = ['--repo-root', s.repo, '--delivery-enabled', '--delivery-branch', 'feat/x', '--delivery-commit-message', 'Fix it', '--delivery-pr-enabled', '--delivery-pr-base', 'trunk', '--delivery-pr-title', 'Fix', '--delivery-pr-body', 'Body text'];
    const executor = ['--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-env', `DELIVERY_SECRET=${secret}`];
    const result = await runCli([s.out, ...executor, ...flags], { env: s.env });
    expect(result.exitCode).toBe(0);
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('done');
    expect(deliveries(report)).toEqual([
      ['closure', 'stage:Closure:delivery:1', 'delivery.git.switch_branch', ['switch', '-c', 'feat/x'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:2', 'delivery.git.add', ['add', '-A'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:3', 'delivery.git.commit', ['commit', '-m', 'Fix it'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:4', 'delivery.gh.pr.create', ['pr', 'create', '--base', 'trunk', '--title', 'Fix', '--body', 'Body text', '--head', 'feat/x'], 0, 'success'],
    ]);
    for (const record of report.stage_executions.filter((e: any) => e.command.startsWith('delivery.'))) {
      expect(record.error).toBeNull();
      expect(record.env_keys).toEqual([]);
      expect(record.duration_ms).toBeGreaterThan(0);
      expect(typeof record.started_at_unix_secs).toBe('number');
    }
    // On disk: the branch, its one new commit holding the change, nothing left to commit.
    expect(s.git('branch', '--show-current')).toBe('feat/x');
    expect(s.git('log', '--format=%s', 'trunk..feat/x').split('\n')).toEqual(['Fix it']);
    expect(s.git('show', '--name-only', '--format=', 'HEAD')).toBe('fix.txt');
    expect(s.git('status', '--porcelain')).toBe('');
    // gh ran once, in the repository, with exactly these arguments, and without the executor's environment.
    expect(s.ghCalls()).toEqual([{ cwd: s.repo, secret: false, args: ['pr', 'create', '--base', 'trunk', '--title', 'Fix', '--body', 'Body text', '--head', 'feat/x'] }]);
    // The executor's environment value is in no file the run wrote.
    for (const text of filesUnder(s.out)) expect(text).not.toContain(secret);
  });

  it('the fewest commands: git add only; with a PR number, gh pr edit <n>', async ({ expect }) => {
    const s = deliveryScene();
    const result = await runCli([s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-pr-enabled', '--delivery-pr-number', '7', '--delivery-pr-body', 'b'], { env: s.env });
    expect(result.exitCode).toBe(0);
    expect(records(reportOf(s.out))).toEqual([
      ['stage:Closure:delivery:1', 'delivery.git.add', 'success', 0, null],
      ['stage:Closure:delivery:2', 'delivery.gh.pr.update', 'success', 0, null],
    ]);
    expect(s.git('diff', '--cached', '--name-only')).toBe('fix.txt');
    expect(s.ghCalls().map((call) => call.args)).toEqual([['pr', 'edit', '7', '--body', 'b']]);
  });

  it('a commit that fails (nothing to commit): failed, exit 1, gh never runs; the checkpoint stays resumable', async ({ expect }) => {
    const s = deliveryScene(false);
    const result = await runCli([s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-commit-message', 'Nothing', '--delivery-pr-enabled'], { env: s.env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Delivery command failed');
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('failed');
    expect(records(report)).toEqual([
      ['stage:Closure:delivery:1', 'delivery.git.add', 'success', 0, null],
      ['stage:Closure:delivery:2', 'delivery.git.commit', 'failed', 1, 'Delivery command failed'],
    ]);
    expect(report.failure).toEqual({ stage: 'closure', status: 'failed', error: 'Delivery command failed', step: 'delivery.git.commit' });
    expect(s.ghCalls()).toEqual([]);
    expect(s.git('log', '--format=%s').split('\n')).toEqual(['initial']);
    expect(checkpointOf(s.out).terminal_state).toBeNull();
  });

  it('a commit a pre-commit hook refused: fixed, then --resume stages again (git add -A, noted) before the commit, which takes the fix', async ({ expect }) => {
    const s = deliveryScene();
    // The hook refuses a commit without lint.ok staged: the user's fix.
    const hook = join(s.repo, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\ngit diff --cached --name-only | grep -qx lint.ok || { echo "lint failed" >&2; exit 1; }\n', { mode: 0o755 });
    const flags = [s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-commit-message', 'Fix it'];
    const first = await runCli(flags, { env: s.env });
    expect(first.exitCode).toBe(1);
    expect(records(reportOf(s.out)).at(-1)).toEqual(['stage:Closure:delivery:2', 'delivery.git.commit', 'failed', 1, 'Delivery command failed']);
    writeFileSync(join(s.repo, 'lint.ok'), 'ok\n');
    const resumed = await runCli([...flags, '--resume'], { env: s.env });
    expect(resumed.exitCode).toBe(0);
    const report = reportOf(s.out);
    expect(records(report)).toEqual([
      ['stage:Closure:delivery:1', 'delivery.git.add', 'skipped', null, 'Skipped due to checkpoint resume'],
      ['stage:Closure:delivery:1', 'delivery.git.add', 'success', 0, null],
      ['stage:Closure:delivery:2', 'delivery.git.commit', 'success', 0, null],
    ]);
    expect(report.stage_executions.find((r: any) => r.command === 'delivery.git.add' && r.status === 'success').note).toBe(
      'run again before the commit runs again, so that what changed since is staged',
    );
    expect(s.git('show', '--name-only', '--format=', 'HEAD').split('\n').sort()).toEqual(['fix.txt', 'lint.ok']);
    expect(s.git('status', '--porcelain')).toBe('');
  });

  it('gh exiting 1: the gh record failed with its exit code, the run failed, exit 1', async ({ expect }) => {
    const s = deliveryScene();
    const result = await runCli([s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-commit-message', 'Fix', '--delivery-pr-enabled'], { env: { ...s.env, FAKE_GH_EXIT: '1' } });
    expect(result.exitCode).toBe(1);
    expect(records(reportOf(s.out))).toEqual([
      ['stage:Closure:delivery:1', 'delivery.git.add', 'success', 0, null],
      ['stage:Closure:delivery:2', 'delivery.git.commit', 'success', 0, null],
      ['stage:Closure:delivery:3', 'delivery.gh.pr.create', 'failed', 1, 'Delivery command failed'],
    ]);
    expect(s.ghCalls().map((call) => call.args)).toEqual([['pr', 'create']]);
  });

  it('no gh on PATH: spawn_failed with the spawn error, the run failed, exit 1', async ({ expect }) => {
    const s = deliveryScene();
    // A PATH with git only.
    const bin = join(tempDir('ao-delivery-bin-'), 'bin');
    mkdirSync(bin);
    symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'));
    const result = await runCli([s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-pr-enabled'], { env: { ...s.env, PATH: bin } });
    expect(result.exitCode).toBe(1);
    const report = reportOf(s.out);
    expect(records(report)).toEqual([
      ['stage:Closure:delivery:1', 'delivery.git.add', 'success', 0, null],
      ['stage:Closure:delivery:2', 'delivery.gh.pr.create', 'spawn_failed', null, 'Delivery command spawn failed: spawn gh ENOENT'],
    ]);
    expect([report.terminal_state, report.failure.status]).toEqual(['failed', 'spawn_failed']);
  });

  it('killed (SIGKILL) between git commit and gh pr create: --resume runs gh only, the commands before it are skipped', async ({ expect }) => {
    const s = deliveryScene();
    const paused = join(s.out, '..', 'paused');
    const flags = ['--repo-root', s.repo, '--delivery-enabled', '--delivery-branch', 'feat/y', '--delivery-commit-message', 'Fix it', '--delivery-pr-enabled'];
    // The 4th program of the run is gh (no stage has a program): the orchestrator stops just before starting it.
    const first = startCli([s.out, ...flags], { env: { ...s.env, ORCHESTRATOR_TEST_PAUSE_AT: 'step-start@4', ORCHESTRATOR_TEST_PAUSE_FILE: paused } });
    await waitFor(() => existsSync(paused), 20_000, 'the orchestrator to pause before gh');
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    expect(s.git('log', '--format=%s', 'trunk..feat/y').split('\n')).toEqual(['Fix it']);
    expect(s.ghCalls()).toEqual([]);

    const resumed = await runCli([s.out, '--resume', ...flags], { env: s.env });
    expect(resumed.exitCode).toBe(0);
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('done');
    expect(records(report)).toEqual([
      ['stage:Closure:delivery:1', 'delivery.git.switch_branch', 'skipped', null, 'Skipped due to checkpoint resume'],
      ['stage:Closure:delivery:2', 'delivery.git.add', 'skipped', null, 'Skipped due to checkpoint resume'],
      ['stage:Closure:delivery:3', 'delivery.git.commit', 'skipped', null, 'Skipped due to checkpoint resume'],
      ['stage:Closure:delivery:4', 'delivery.gh.pr.create', 'success', 0, null],
    ]);
    // The killed invocation's records are kept as earlier ones.
    expect(report.earlier_stage_executions.map((e: any) => [e.command, e.status])).toEqual([
      ['delivery.git.switch_branch', 'success'],
      ['delivery.git.add', 'success'],
      ['delivery.git.commit', 'success'],
    ]);
    // One commit, one PR: nothing ran twice. The killed invocation had counted gh's attempt, so the
    // resume's (its second) first asks gh whether the branch has its PR: it has none.
    expect(s.git('log', '--format=%s', 'trunk..feat/y').split('\n')).toEqual(['Fix it']);
    expect(s.ghCalls().map((call) => call.args)).toEqual([
      ['pr', 'view', 'feat/y'],
      ['pr', 'create', '--head', 'feat/y'],
    ]);
    expect(report.stage_executions.at(-1).attempt).toBe(2);
  });

  it('a failed command runs again on --resume, after the ones that succeeded (skipped)', async ({ expect }) => {
    const s = deliveryScene();
    const flags = ['--repo-root', s.repo, '--delivery-enabled', '--delivery-branch', 'feat/z', '--delivery-commit-message', 'Fix', '--delivery-pr-enabled', '--delivery-pr-number', '3'];
    expect((await runCli([s.out, ...flags], { env: { ...s.env, FAKE_GH_EXIT: '1' } })).exitCode).toBe(1);
    const resumed = await runCli([s.out, '--resume', ...flags], { env: s.env });
    expect(resumed.exitCode).toBe(0);
    expect(records(reportOf(s.out)).map((r: any[]) => [r[1], r[2]])).toEqual([
      ['delivery.git.switch_branch', 'skipped'],
      ['delivery.git.add', 'skipped'],
      ['delivery.git.commit', 'skipped'],
      ['delivery.gh.pr.update', 'success'],
    ]);
    // git switch -c would fail on the existing branch had it run again; the commit is there once.
    expect(s.git('log', '--format=%s', 'trunk..feat/z').split('\n')).toEqual(['Fix']);
    expect(s.ghCalls().map((call) => call.args)).toEqual([
      ['pr', 'edit', '3'],
      ['pr', 'edit', '3'],
    ]);
  });
});

describe.concurrent('a delivery command that hangs', () => {
  it('Ctrl-C (SIGINT) ends gh\'s process group, exit 130; --resume runs gh again, and only gh', async ({ expect }) => {
    const s = deliveryScene();
    const flags = ['--repo-root', s.repo, '--delivery-enabled', '--delivery-commit-message', 'Fix', '--delivery-pr-enabled', '--kill-grace-ms', '300'];
    const first = startCli([s.out, ...flags], { env: { ...s.env, FAKE_GH_SLEEP: '300' } });
    await waitFor(() => existsSync(`${s.ghLog}.pid`), 20_000, 'gh to start');
    const ghPid = Number(readFileSync(`${s.ghLog}.pid`, 'utf8'));
    first.child.kill('SIGINT');
    expect((await first.done).exitCode).toBe(130);
    expect(processAlive(ghPid)).toBe(false);
    const interrupted = reportOf(s.out);
    expect(interrupted.terminal_state).toBeNull();
    expect(records(interrupted).at(-1)).toEqual(['stage:Closure:delivery:3', 'delivery.gh.pr.create', 'failed', null, 'Interrupted by SIGINT; --resume runs this step again']);

    const resumed = await runCli([s.out, '--resume', ...flags], { env: s.env });
    expect(resumed.exitCode).toBe(0);
    expect(records(reportOf(s.out)).map((r: any[]) => [r[1], r[2]])).toEqual([
      ['delivery.git.add', 'skipped'],
      ['delivery.git.commit', 'skipped'],
      ['delivery.gh.pr.create', 'success'],
    ]);
    expect(s.git('log', '--format=%s').split('\n')).toEqual(['Fix', 'initial']);
    expect(s.ghCalls()).toHaveLength(2);
  });

  it('past --timeout-ms: the record timeout, the run timeout, exit 124', async ({ expect }) => {
    const s = deliveryScene();
    const result = await runCli([s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-pr-enabled', '--timeout-ms', '1000', '--kill-grace-ms', '300'], { env: { ...s.env, FAKE_GH_SLEEP: '300' } });
    expect(result.exitCode).toBe(124);
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('timeout');
    expect(records(report).at(-1)).toEqual(['stage:Closure:delivery:2', 'delivery.gh.pr.create', 'timeout', null, 'Command timed out after 1000 ms']);
    expect(processAlive(Number(readFileSync(`${s.ghLog}.pid`, 'utf8')))).toBe(false);
  });
});

describe.concurrent('delivery dry run (--delivery-enabled --delivery-dry-run)', () => {
  it('records every step upstream would run, in order, after closure; runs none', async ({ expect }) => {
    const s = deliveryScene();
    const argv = [s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-dry-run', '--delivery-branch', 'feat/x', '--delivery-commit-message', 'Fix it', '--delivery-pr-enabled', '--delivery-pr-base', 'main', '--delivery-pr-title', 'Fix'];
    const result = await runCli(argv, { env: s.env });
    expect(result.exitCode).toBe(0);
    const report = reportOf(s.out);
    expect(deliveries(report)).toEqual([
      ['closure', 'stage:Closure:delivery:1', 'delivery.git.switch_branch.dry_run', ['switch', '-c', 'feat/x'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:2', 'delivery.git.add.dry_run', ['add', '-A'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:3', 'delivery.git.commit.dry_run', ['commit', '-m', 'Fix it'], 0, 'success'],
      ['closure', 'stage:Closure:delivery:4', 'delivery.gh.pr.create.dry_run', ['pr', 'create', '--base', 'main', '--title', 'Fix', '--head', 'feat/x'], 0, 'success'],
    ]);
    expect(report.terminal_state).toBe('done');
    expect(report.transitions.at(-1).to_stage).toBe('closure');
    // Nothing ran: same branch, same commit, the change not added, gh never called.
    expect(s.git('branch', '--show-current')).toBe('trunk');
    expect(s.git('log', '--format=%s').split('\n')).toEqual(['initial']);
    expect(s.git('status', '--porcelain')).toBe('?? fix.txt');
    expect(s.ghCalls()).toEqual([]);
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
    const blocked = deliveryScene();
    expect((await runCli([blocked.out, '--repo-root', blocked.repo, '--delivery-enabled', '--delivery-pr-enabled', '--policy-status', 'deny'], { env: blocked.env })).exitCode).toBe(3);
    expect(deliveries(reportOf(blocked.out))).toEqual([]);
    expect(blocked.git('status', '--porcelain')).toBe('?? fix.txt');
    expect(blocked.ghCalls()).toEqual([]);
    const off = out();
    expect((await runCli([off, '--delivery-dry-run', '--delivery-pr-enabled'])).exitCode).toBe(0);
    expect(deliveries(reportOf(off))).toEqual([]);
  });
});

describe.concurrent('--resume of a real delivery: the flags given at resume decide', () => {
  const base = (s: ReturnType<typeof deliveryScene>) => ['--repo-root', s.repo, '--delivery-enabled', '--delivery-branch', 'feat/r', '--delivery-commit-message', 'Fix', '--delivery-pr-enabled'];

  it('gh failed with --delivery-pr-title "Wrong title": --resume with "Right title" runs gh with "Right title"', async ({ expect }) => {
    const s = deliveryScene();
    expect((await runCli([s.out, ...base(s), '--delivery-pr-title', 'Wrong title'], { env: { ...s.env, FAKE_GH_EXIT: '1' } })).exitCode).toBe(1);
    const resumed = await runCli([s.out, '--resume', ...base(s), '--delivery-pr-title', 'Right title'], { env: s.env });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    // The second attempt first asks whether feat/r has its PR (the failed create opened none).
    expect(s.ghCalls().map((call) => call.args)).toEqual([
      ['pr', 'create', '--title', 'Wrong title', '--head', 'feat/r'],
      ['pr', 'view', 'feat/r'],
      ['pr', 'create', '--title', 'Right title', '--head', 'feat/r'],
    ]);
    expect(reportOf(s.out).stage_executions.at(-1)).toMatchObject({ command: 'delivery.gh.pr.create', args: ['pr', 'create', '--title', 'Right title', '--head', 'feat/r'], status: 'success', exit_code: 0 });
  });

  it('refuses, in one line naming the flag, a resume that drops the delivery, makes it a dry run, or drops a command that ran: nothing run, the checkpoint untouched', async ({ expect }) => {
    const s = deliveryScene();
    expect((await runCli([s.out, ...base(s)], { env: { ...s.env, FAKE_GH_EXIT: '1' } })).exitCode).toBe(1);
    const checkpoint = readFileSync(join(s.out, 'orchestrator_checkpoint.json'), 'utf8');
    const report = readFileSync(join(s.out, 'orchestrator_run_report.json'), 'utf8');
    const refusals: [string[], string][] = [
      [['--repo-root', s.repo], '--delivery-enabled'],
      [[...base(s), '--delivery-dry-run'], '--delivery-dry-run'],
      [['--repo-root', s.repo, '--delivery-enabled', '--delivery-commit-message', 'Fix', '--delivery-pr-enabled'], '--delivery-branch'],
      [['--repo-root', s.repo, '--delivery-enabled', '--delivery-branch', 'feat/r', '--delivery-commit-message', 'Fix'], '--delivery-pr-enabled'],
    ];
    for (const [flags, named] of refusals) {
      const result = await runCli([s.out, '--resume', ...flags], { env: s.env });
      expect(result.exitCode, result.stderr).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`cannot resume the run in ${join(s.out, 'orchestrator_checkpoint.json')}: ${named}:`);
      expect(readFileSync(join(s.out, 'orchestrator_checkpoint.json'), 'utf8')).toBe(checkpoint);
      expect(readFileSync(join(s.out, 'orchestrator_run_report.json'), 'utf8')).toBe(report);
    }
    // gh ran once (the first invocation), never as a dry run's stand-in.
    expect(s.ghCalls()).toHaveLength(1);
    expect(s.git('log', '--format=%s', 'trunk..feat/r')).toBe('Fix');
    // The flags it started with still finish it.
    expect((await runCli([s.out, '--resume', ...base(s)], { env: s.env })).exitCode).toBe(0);
  });
  it('killed before closure: --resume without any delivery flag delivers nothing (and the run ends done)', async ({ expect }) => {
    const s = deliveryScene();
    const paused = join(s.out, '..', 'paused');
    const executor = ['--executor-bin', STAGE, '--executor-arg', 'ok'];
    const first = startCli([s.out, ...executor, ...base(s)], { env: { ...s.env, ORCHESTRATOR_TEST_PAUSE_AT: 'step-start@1', ORCHESTRATOR_TEST_PAUSE_FILE: paused } });
    await waitFor(() => existsSync(paused), 20_000, 'the orchestrator to pause before the executor');
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    const resumed = await runCli([s.out, '--resume', ...executor], { env: s.env });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('done');
    expect(records(report)).toEqual([]);
    expect(s.git('branch', '--show-current')).toBe('trunk');
    expect(s.git('status', '--porcelain')).toBe('?? fix.txt');
    expect(s.ghCalls()).toEqual([]);
  });
});

describe.concurrent('a delivery command killed (SIGKILL) after it took effect, before it was counted done', () => {
  // With no stage program, the n-th program of the run is the n-th delivery command.
  it.for([
    { command: 'git switch -c', nth: 1, note: 'not run: HEAD is already on branch feat/k', gh: [['pr', 'create', '--head', 'feat/k']] },
    { command: 'git commit', nth: 3, note: "not run: nothing to commit, and HEAD's message is the commit message", gh: [['pr', 'create', '--head', 'feat/k']] },
    { command: 'gh pr create', nth: 4, note: 'not run: gh pr view feat/k finds its pull request', gh: [['pr', 'create', '--head', 'feat/k'], ['pr', 'view', 'feat/k']] },
  ])('$command: --resume finds its effect, records it a success without running it, and goes on', async ({ nth, note, gh }, { expect }) => {
    const s = deliveryScene();
    const paused = join(s.out, '..', 'paused');
    const flags = ['--repo-root', s.repo, '--delivery-enabled', '--delivery-branch', 'feat/k', '--delivery-commit-message', 'Fix it', '--delivery-pr-enabled'];
    const first = startCli([s.out, ...flags], { env: { ...s.env, ORCHESTRATOR_TEST_PAUSE_AT: `step-end@${nth}`, ORCHESTRATOR_TEST_PAUSE_FILE: paused } });
    await waitFor(() => existsSync(paused), 20_000, 'the orchestrator to pause after the command');
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');

    const resumed = await runCli([s.out, '--resume', ...flags], { env: s.env });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('done');
    const delivery = report.stage_executions.filter((e: any) => e.command.startsWith('delivery.'));
    expect(delivery.map((e: any) => e.status)).toEqual([...Array(nth - 1).fill('skipped'), ...Array(5 - nth).fill('success')]);
    expect(delivery[nth - 1]).toMatchObject({ idempotency_key: `stage:Closure:delivery:${nth}`, status: 'success', error: null, exit_code: null, attempt: 2, note, stdout_log: null });
    for (const record of delivery.filter((e: any) => e.status === 'success' && e !== delivery[nth - 1])) expect(record.note).toBeUndefined();
    // Each effect once: the branch, its one commit holding the change, one PR created.
    expect(s.git('branch', '--show-current')).toBe('feat/k');
    expect(s.git('log', '--format=%s', 'trunk..feat/k').split('\n')).toEqual(['Fix it']);
    expect(s.git('show', '--name-only', '--format=', 'HEAD')).toBe('fix.txt');
    expect(s.git('status', '--porcelain')).toBe('');
    expect(s.ghCalls().map((call) => call.args)).toEqual(gh);
  });
});

describe.concurrent('the output directory inside --repo-root with a real delivery', () => {
  it('not ignored: refused in one line (exit 2), nothing delivered; ignored: delivered without it; a dry run: unaffected', async ({ expect }) => {
    const s = deliveryScene();
    const inside = join(s.repo, 'out');
    const flags = ['--repo-root', s.repo, '--delivery-enabled', '--delivery-branch', 'feat/o', '--delivery-commit-message', 'Fix', '--delivery-pr-enabled'];
    const refused = await runCli([inside, ...flags], { env: s.env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`--repo-root ${s.repo}: the output directory ${inside} is inside its git work tree and not ignored`);
    expect(refused.stderr).toContain('add it to .gitignore or put it outside the repository');
    expect(existsSync(join(inside, 'orchestrator_run_report.json'))).toBe(false);
    expect(s.git('branch', '--show-current')).toBe('trunk');
    expect(s.git('log', '--format=%s')).toBe('initial');
    expect(s.ghCalls()).toEqual([]);

    const dry = await runCli([join(s.repo, 'dry'), ...flags, '--delivery-dry-run'], { env: s.env });
    expect(dry.exitCode, dry.stderr).toBe(0);

    writeFileSync(join(s.repo, '.gitignore'), 'out/\ndry/\n');
    const delivered = await runCli([inside, ...flags], { env: s.env });
    expect(delivered.exitCode, delivered.stderr).toBe(0);
    expect(s.git('show', '--name-only', '--format=', 'HEAD').split('\n')).toEqual(['.gitignore', 'fix.txt']);
  });

  it('a --checkpoint-path inside it, not ignored: refused likewise', async ({ expect }) => {
    const s = deliveryScene();
    const checkpoint = join(s.repo, 'state', 'run.json');
    const result = await runCli([s.out, '--checkpoint-path', checkpoint, '--repo-root', s.repo, '--delivery-enabled'], { env: s.env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toContain(`the --checkpoint-path ${checkpoint} is inside its git work tree and not ignored`);
    expect(s.git('log', '--format=%s')).toBe('initial');
    expect(s.git('diff', '--cached', '--name-only')).toBe('');
  });
});

describe('a traced run with a real delivery', () => {
  it('hands each delivery command its span as TRACEPARENT, as to a step', async ({ expect }) => {
    const receiver = await startReceiver();
    try {
      const s = deliveryScene();
      const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
      const result = await runCli([s.out, '--repo-root', s.repo, '--delivery-enabled', '--delivery-pr-enabled'], { env: { ...s.env, ...otel } });
      expect(result.exitCode, result.stderr).toBe(0);
      const spans = receiver.spans.filter((span) => span.name === 'closure/delivery.gh.pr.create');
      expect(spans).toHaveLength(1);
      expect(readFileSync(`${s.ghLog}.traceparent`, 'utf8')).toBe(`00-${spans[0]!.traceId}-${spans[0]!.spanId}-01\n`);
    } finally {
      await receiver.close();
    }
  });
});
